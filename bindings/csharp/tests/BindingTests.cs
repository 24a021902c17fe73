// BindingTests.cs — the C# binding against the real library, under Mono.
//
//   mono SwiftletTests.exe MODEL.gguf LAYOUT.txt GENERATE_EXAMPLE ADAPTER.gguf RANK ALPHA TENSORS
//
// LAYOUT.txt is Tests/abi/layout.txt (the C compiler's layout, published);
// GENERATE_EXAMPLE is build/bin/generate, the C example whose greedy text the
// binding must reproduce; ADAPTER.gguf is a LoRA adapter for MODEL with that
// rank, alpha and number of adapted tensors, as bindings/csharp/tests/make_adapter.py
// writes it (and prints those four arguments). Prints one line per test and
// "N passed, N failed".
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using Swiftlet;
using Swiftlet.Interop;

static class BindingTests
{
    static string modelPath, layoutPath, generateExample, adapterPath;
    static int adapterRank, adapterTensors;
    static float adapterAlpha;

    static int Main(string[] args)
    {
        if (args.Length != 7)
        {
            Console.Error.WriteLine("usage: SwiftletTests.exe MODEL.gguf LAYOUT.txt GENERATE_EXAMPLE ADAPTER.gguf RANK ALPHA TENSORS");
            return 2;
        }
        modelPath = args[0];
        layoutPath = args[1];
        generateExample = args[2];
        adapterPath = args[3];
        adapterRank = int.Parse(args[4], CultureInfo.InvariantCulture);
        adapterAlpha = float.Parse(args[5], CultureInfo.InvariantCulture);
        adapterTensors = int.Parse(args[6], CultureInfo.InvariantCulture);
        var tests = new List<KeyValuePair<string, Action>>
        {
            Test("struct sizes and offsets equal the C compiler's (Tests/abi/layout.txt)", LayoutMatchesC),
            Test("raw greedy generation equals the C example's text", RawGreedyEqualsC),
            Test("chat greedy generation equals the C example's text", ChatGreedyEqualsC),
            Test("a streamed generation cancelled from another thread stops; the context still works", CancelFromAnotherThread),
            Test("a missing file raises the library's message", MissingFileRaises),
            Test("an invalid token raises the library's message", InvalidTokenRaises),
            Test("a nested call from the piece callback raises Busy", NestedCallIsBusy),
            Test("an exception in the piece callback reaches the caller; the context still works", CallbackExceptionPropagates),
            Test("model disposed before its context: the context still generates", ModelDisposedFirst),
            Test("finalizers free model and context in any order", FinalizersFreeEverything),
            Test("1,000 context create/dispose cycles keep memory flat", CyclesKeepMemoryFlat),
            Test("load progress reaches 1, and false cancels the load", LoadProgress),
            Test("tokenize, detokenize and a caller's chat template", TokensAndTemplates),
            Test("embeddings: one unit vector per text, each its own", Embeddings),
            Test("sequences: two decoded in one batch pick each one's greedy tokens alone; seq ops", Sequences),
            Test("context options: defaults from the library, the whole grown struct", ContextOptionsDefaults),
            Test("observer: every view in the documented order and shape; attention rows sum to 1, later positions 0", ObserverViews),
            Test("observer: false cancels eval (position kept) and generate, a throw reaches the caller, null removes it", ObserverStopsAndRemoves),
            Test("adapters: info as written; scale 1 changes the logits, scale 0 and detach give the base bit for bit", Adapters),
            Test("adapters: the model file itself is no adapter (InvalidArgument with the library's message)", WrongAdapterRaises),
        };
        int passed = 0, failed = 0;
        foreach (var test in tests)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                test.Value();
                Console.WriteLine("ok   {0} ({1:F1} s)", test.Key, clock.Elapsed.TotalSeconds);
                passed++;
            }
            catch (Exception e)
            {
                Console.WriteLine("FAIL " + test.Key + ": " + e);
                failed++;
            }
        }
        Console.WriteLine("{0} passed, {1} failed", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    static KeyValuePair<string, Action> Test(string name, Action body) { return new KeyValuePair<string, Action>(name, body); }

    static void Assert(bool condition, string message) { if (!condition) throw new Exception(message); }

    // ------------------------------------------------------------------ ABI

    static void LayoutMatchesC()
    {
        var sizes = new Dictionary<string, int>();
        var fields = new Dictionary<string, Tuple<int, int>>();
        foreach (var line in File.ReadAllLines(layoutPath))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2) sizes[parts[0]] = int.Parse(parts[1]);
            else fields[parts[0]] = Tuple.Create(int.Parse(parts[1]), int.Parse(parts[2]));
        }
        var structs = typeof(Native).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.Namespace == "Swiftlet.Interop" && t.Name.StartsWith("swiftlet_")).ToList();
        Assert(new HashSet<string>(structs.Select(t => t.Name)).SetEquals(sizes.Keys),
               "C# structs " + string.Join(",", structs.Select(t => t.Name)) + " vs layout " + string.Join(",", sizes.Keys));
        var seenFields = 0;
        foreach (var type in structs)
        {
            Assert(Marshal.SizeOf(type) == sizes[type.Name], type.Name + ": size " + Marshal.SizeOf(type) + ", C says " + sizes[type.Name]);
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                var key = type.Name + "." + field.Name;
                Assert(fields.ContainsKey(key), key + " is not in the C layout");
                var offset = Marshal.OffsetOf(type, field.Name).ToInt32();
                var size = field.FieldType == typeof(IntPtr) || field.FieldType == typeof(UIntPtr) ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
                Assert(offset == fields[key].Item1 && size == fields[key].Item2,
                       key + ": offset " + offset + " size " + size + ", C says " + fields[key].Item1 + " " + fields[key].Item2);
                seenFields++;
            }
        }
        Assert(seenFields == fields.Count, seenFields + " fields in C#, " + fields.Count + " in the C layout");
    }

    // ------------------------------------------------------------------ generation

    static string RunC(string prompt, int maxTokens, bool raw)
    {
        var start = new ProcessStartInfo(generateExample, "\"" + modelPath + "\" \"" + prompt + "\" " + maxTokens)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        start.EnvironmentVariables["SWIFTLET_RAW"] = raw ? "1" : "0";
        using (var process = Process.Start(start))
        {
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert(process.ExitCode == 0, "the C example failed: " + process.StandardError.ReadToEnd());
            return output;
        }
    }

    static void RawGreedyEqualsC()
    {
        const string prompt = "The capital of France is";
        var text = prompt;
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            var result = context.Generate(prompt, GenerateOptions.Greedy(24), piece => text += piece);
            Assert(result.GeneratedTokens > 0, "nothing generated");
        }
        var expected = RunC(prompt, 24, true);
        Assert(text + "\n" == expected, "C# gave [" + text + "], C gave [" + expected + "]");
    }

    static void ChatGreedyEqualsC()
    {
        const string prompt = "Name three colours.";
        var text = "";
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            context.Chat(new[] { new ChatMessage("user", prompt) }, GenerateOptions.Greedy(24), piece => text += piece);
        }
        var expected = RunC(prompt, 24, false);
        Assert(text + "\n" == expected, "C# gave [" + text + "], C gave [" + expected + "]");
    }

    static void CancelFromAnotherThread()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            var firstPiece = new ManualResetEvent(false);
            var cancelled = new ManualResetEvent(false);
            var canceller = new Thread(() =>
            {
                firstPiece.WaitOne();
                context.Cancel();
                cancelled.Set();
            });
            canceller.Start();
            var pieces = 0;
            // The first piece's handler waits until the other thread has
            // cancelled, so the cancel lands while the call runs, every time.
            var result = context.Generate("Once upon a time", GenerateOptions.Greedy(64), piece =>
            {
                if (pieces++ == 0)
                {
                    firstPiece.Set();
                    cancelled.WaitOne();
                }
            });
            canceller.Join();
            Assert(result.Cancelled && result.StopReason == StopReason.Cancelled, "stop reason " + result.StopReason);
            Assert(pieces == 1, pieces + " pieces after the cancel");
            var again = context.Generate(" And then", GenerateOptions.Greedy(4), null);
            Assert(again.StopReason == StopReason.MaxTokens && again.GeneratedTokens == 4, "the context did not go on");
        }
    }

    // ------------------------------------------------------------------ errors

    static SwiftletException Catch(Action body)
    {
        try { body(); }
        catch (SwiftletException e) { return e; }
        throw new Exception("no SwiftletException");
    }

    static void MissingFileRaises()
    {
        var e = Catch(() => new SwiftletModel("/nonexistent/model.gguf"));
        Assert(e.Status == Status.IO, "status " + e.Status);
        Assert(e.Message.Contains("/nonexistent/model.gguf"), "message: " + e.Message);
    }

    static void InvalidTokenRaises()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            var e = Catch(() => context.Eval(new[] { 1, model.VocabularySize + 5 }));
            Assert(e.Status == Status.InvalidArgument, "status " + e.Status);
            Assert(e.Message.Contains("outside the vocabulary"), "message: " + e.Message);
            Assert(context.Position == 0, "a failed eval moved the position");
        }
    }

    static void NestedCallIsBusy()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            SwiftletException nested = null;
            context.Generate("Hello", GenerateOptions.Greedy(2), piece =>
            {
                if (nested == null) nested = Catch(() => context.Eval(new[] { 1 }));
            });
            Assert(nested.Status == Status.Busy, "status " + nested.Status);
        }
    }

    static void CallbackExceptionPropagates()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            try
            {
                context.Generate("Hello", GenerateOptions.Greedy(8), piece => { throw new InvalidOperationException("from the handler"); });
                throw new Exception("no exception");
            }
            catch (InvalidOperationException e) { Assert(e.Message == "from the handler", e.Message); }
            var again = context.Generate(" there", GenerateOptions.Greedy(2), null);
            Assert(again.GeneratedTokens == 2, "the context did not go on");
        }
    }

    // ------------------------------------------------------------------ lifetimes

    static swiftlet_memory_info Memory() { return SwiftletModel.MemoryInfo; }

    static void ModelDisposedFirst()
    {
        var model = new SwiftletModel(modelPath);
        var context = model.CreateContext();
        model.Dispose();
        var result = context.Generate("The sky is", GenerateOptions.Greedy(4), null);
        Assert(result.GeneratedTokens == 4, "generated " + result.GeneratedTokens);
        Assert(Memory().bytes_mapped > 0, "the model is gone while its context lives");
        context.Dispose();
        Assert(Memory().bytes_mapped == 0, "the model outlived its last context");
    }

    static void MakeGarbage()
    {
        var model = new SwiftletModel(modelPath);
        var context = model.CreateContext();
        context.Eval(new[] { 1, 2, 3 });
        GC.KeepAlive(context);
    }

    static void FinalizersFreeEverything()
    {
        // On a thread that then ends: Mono scans stacks and registers
        // conservatively, and a stale copy of a reference left in this thread's
        // registers by the last call would keep that garbage alive.
        var maker = new Thread(() => { for (var i = 0; i < 3; i++) MakeGarbage(); });
        maker.Start();
        maker.Join();
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var memory = Memory();
        Assert(memory.bytes_mapped == 0 && memory.bytes_allocated == 0,
               memory.bytes_mapped + " bytes mapped, " + memory.bytes_allocated + " allocated after the finalizers ran");
    }

    static long ResidentBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1]) * 4096;
    }

    static void CyclesKeepMemoryFlat()
    {
        using (var model = new SwiftletModel(modelPath))
        {
            var options = new ContextOptions { ContextSize = 64, Threads = 1 };
            Action cycle = () =>
            {
                using (var context = model.CreateContext(options)) context.Eval(new[] { 1 });
            };
            for (var i = 0; i < 50; i++) cycle();   // warm up: allocator caches, JIT
            var library = Memory().bytes_allocated;
            var resident = ResidentBytes();
            for (var i = 0; i < 1000; i++) cycle();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var grown = ResidentBytes() - resident;
            Assert(Memory().bytes_allocated == library, "the library holds " + (Memory().bytes_allocated - library) + " more bytes");
            // A leaked context would be its KV cache and scratch, megabytes each:
            // 1,000 of them could not hide in 16 MiB.
            Assert(grown < 16L << 20, "resident memory grew by " + (grown >> 20) + " MiB over 1,000 cycles");
        }
    }

    static void LoadProgress()
    {
        var seen = new List<float>();
        using (new SwiftletModel(modelPath, 0, fraction => { seen.Add(fraction); return true; })) { }
        Assert(seen.Count >= 3 && seen[0] == 0 && seen[seen.Count - 1] == 1, "progress " + string.Join(" ", seen));
        for (var i = 1; i < seen.Count; i++) Assert(seen[i] >= seen[i - 1], "progress went back");
        var e = Catch(() => new SwiftletModel(modelPath, 0, fraction => fraction < 0.5f));
        Assert(e.Status == Status.Cancelled, "status " + e.Status);
        Assert(Memory().bytes_mapped == 0, "a cancelled load kept its file mapped");
    }

    static void TokensAndTemplates()
    {
        using (var model = new SwiftletModel(modelPath))
        {
            const string text = "Héllo, wörld — 你好 👋";
            var tokens = model.Tokenize(text, 0);
            Assert(tokens.Length > 0, "no tokens");
            Assert(model.Detokenize(tokens) == text, "round trip gave " + model.Detokenize(tokens));
            var messages = new[] { new ChatMessage("user", "hi") };
            var own = model.FormatChat(messages, true, "{% for m in messages %}[{{ m.role }}: {{ m.content }}]{% endfor %}");
            Assert(own == "[user: hi]", "custom template gave " + own);
            Assert(model.FormatChat(messages).Contains("<|im_start|>user"), "the model's template was not used");
            var e = Catch(() => model.FormatChat(messages, true, "{% for %}"));
            Assert(e.Status == Status.Template, "status " + e.Status);
        }
    }

    static void Embeddings()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext())
        {
            var texts = new[] { "The cat sat on the mat.", "Quarterly revenue grew by 4%.", "The cat sat on the mat." };
            var vectors = context.Embed(texts);
            Assert(vectors.Length == 3 && vectors[0].Length == model.Info.n_embd, "shape " + vectors.Length);
            foreach (var v in vectors)
            {
                double norm = Math.Sqrt(v.Sum(x => (double)x * x));
                Assert(Math.Abs(norm - 1) < 1e-4, "norm " + norm);
            }
            Assert(vectors[0].SequenceEqual(vectors[2]), "the same text gave two vectors");
            Assert(!vectors[0].SequenceEqual(vectors[1]), "different texts gave one vector");
            var raw = context.Embed(new[] { texts[0] }, false, Pooling.Mean)[0];
            Assert(Math.Abs(Math.Sqrt(raw.Sum(x => (double)x * x)) - 1) > 1e-3, "normalize=false still normalized");
            var e = Catch(() => context.Embed(texts, true, 9));
            Assert(e.Status == Status.InvalidArgument, "status " + e.Status);
        }
    }

    // ------------------------------------------------------------------ sequences

    static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    static void Sequences()
    {
        // Passes under 8 tokens both ways: the same row kernels on every kernel
        // set, so the same logits bit for bit, and the same greedy choices.
        // (From 8 tokens on, AVX-512 VNNI machines take the packed kernel,
        // whose sums round in another order: near ties may then differ.)
        const int steps = 6;
        using (var model = new SwiftletModel(modelPath))
        {
            var prompts = new[] { model.Tokenize("The capital of France"), model.Tokenize("Once upon a") };
            var alone = new[] { new List<int>(), new List<int>() };
            for (var s = 0; s < 2; s++)
                using (var context = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1 }))
                {
                    context.Eval(prompts[s]);
                    for (var i = 0; i < steps; i++)
                    {
                        alone[s].Add(ArgMax(context.Logits()));
                        context.Eval(new[] { alone[s][i] });
                    }
                }
            var options = new ContextOptions { ContextSize = 64, Threads = 1, Sequences = 2 };
            using (var context = model.CreateContext(options))
            {
                Assert(context.SequenceCount == 2, "SequenceCount " + context.SequenceCount);
                var tokens = prompts[0].Concat(prompts[1]).ToArray();
                var seqIds = Enumerable.Repeat(0, prompts[0].Length).Concat(Enumerable.Repeat(1, prompts[1].Length)).ToArray();
                context.Decode(tokens, seqIds);
                var last = new[] { prompts[0].Length - 1, tokens.Length - 1 };
                var batched = new[] { new List<int>(), new List<int>() };
                for (var i = 0; i < steps; i++)
                {
                    var next = new[] { ArgMax(context.LogitsFor(last[0])), ArgMax(context.LogitsFor(last[1])) };
                    batched[0].Add(next[0]);
                    batched[1].Add(next[1]);
                    context.Decode(next, new[] { 0, 1 }, new[] { context.SeqLength(0), context.SeqLength(1) }, new[] { true, true });
                    last = new[] { 0, 1 };
                }
                for (var s = 0; s < 2; s++)
                    Assert(alone[s].SequenceEqual(batched[s]), "sequence " + s + ": batched " + string.Join(",", batched[s])
                                                                + ", alone " + string.Join(",", alone[s]));
                Assert(context.SeqLength(1) == prompts[1].Length + steps, "SeqLength(1) " + context.SeqLength(1));
                Assert(context.LogitsFor(2) == null && context.SeqLength(2) == -1, "entry 2 / sequence 2 exist");
                context.SeqCopy(0, 1);
                Assert(context.SeqLength(1) == context.SeqLength(0), "SeqCopy");
                context.SeqRemove(1, 2);
                Assert(context.SeqLength(1) == 2, "SeqRemove left " + context.SeqLength(1));
                context.SeqKeep(1);
                Assert(context.SeqLength(0) == 0 && context.SeqLength(1) == 2, "SeqKeep");
                var e = Catch(() => context.Decode(new[] { 1 }, new[] { 2 }));
                Assert(e.Status == Status.InvalidArgument, "status " + e.Status);
                e = Catch(() => context.Decode(new[] { 1 }, new[] { 1 }, new[] { 5 }));
                Assert(e.Status == Status.InvalidArgument, "status " + e.Status);
            }
        }
    }

    static void ContextOptionsDefaults()
    {
        var options = new ContextOptions();
        Assert(options.Sequences == 1 && options.Overflow == Overflow.Error && options.Keep == 4 && options.Discard == 0,
               "defaults " + options.Sequences + " " + options.Overflow + " " + options.Keep + " " + options.Discard);
        // What the unsized init still does: the 0.3 struct's 16 bytes, nothing after them.
        var p = new swiftlet_context_params { n_seq_max = -7, overflow = -7, n_keep = -7, n_discard = -7 };
        Native.swiftlet_context_params_init(ref p);
        Assert(p.struct_size == 16 && p.n_seq_max == -7 && p.n_discard == -7, "the unsized init wrote " + p.struct_size + " bytes");
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext(new ContextOptions { ContextSize = 32, Overflow = Overflow.Shift }))
        {
            var result = context.Generate("Count: 1, 2, 3,", GenerateOptions.Greedy(48), null);
            Assert(result.StopReason != StopReason.ContextFull && result.PromptTokens + result.GeneratedTokens > 32,
                   "a shifting context stopped at " + result.GeneratedTokens + " tokens, reason " + result.StopReason);
            Assert(context.Position <= 32, "position " + context.Position);
        }
    }

    // ------------------------------------------------------------------ observers

    sealed class View
    {
        public uint Kind;
        public int Layer, SeqId, FirstToken, Tokens, FirstPosition, Heads, Columns;
        public float[] Values;
    }

    static View Record(Observation o)
    {
        return new View
        {
            Kind = o.Kind, Layer = o.Layer, SeqId = o.SeqId, FirstToken = o.FirstToken, Tokens = o.Tokens,
            FirstPosition = o.FirstPosition, Heads = o.Heads, Columns = o.Columns, Values = o.ToArray(),
        };
    }

    /// <summary>Checks one pass's views (the eval of `tokens` tokens after `start`) against the header's promises.</summary>
    static void CheckPass(List<View> views, swiftlet_model_info info, int start, int tokens)
    {
        Assert(views.Count == 3 * info.n_layer + 1, views.Count + " views for " + info.n_layer + " layers");
        var order = new[] { Observe.Attention, Observe.AfterAttention, Observe.Hidden };
        for (var i = 0; i < views.Count; i++)
        {
            var v = views[i];
            var final = i == views.Count - 1;
            var kind = final ? Observe.Final : order[i % 3];
            var what = "view " + i + " (kind " + v.Kind + ", layer " + v.Layer + ")";
            Assert(v.Kind == kind && v.Layer == (final ? info.n_layer : i / 3), what + ": expected kind " + kind + " layer " + (final ? info.n_layer : i / 3));
            Assert(v.SeqId == 0 && v.FirstToken == 0 && v.Tokens == tokens && v.FirstPosition == start,
                   what + ": seq " + v.SeqId + " first token " + v.FirstToken + " tokens " + v.Tokens + " first position " + v.FirstPosition);
            var heads = kind == Observe.Attention ? info.n_head : 1;
            var columns = kind == Observe.Attention ? start + tokens : info.n_embd;
            Assert(v.Heads == heads && v.Columns == columns && v.Values.Length == heads * tokens * columns,
                   what + ": shape " + v.Heads + " x " + v.Tokens + " x " + v.Columns);
            if (kind != Observe.Attention) continue;
            for (var h = 0; h < heads; h++)
                for (var t = 0; t < tokens; t++)
                {
                    var row = (h * tokens + t) * columns;
                    double sum = 0;
                    for (var c = 0; c < columns; c++) sum += v.Values[row + c];
                    Assert(Math.Abs(sum - 1) < 1e-4, what + ": head " + h + " token " + t + " sums to " + sum);
                    // Token t sits at position start + t: it weighs no later position.
                    for (var c = start + t + 1; c < columns; c++)
                        Assert(v.Values[row + c] == 0, what + ": head " + h + " token " + t + " weighs later position " + c);
                }
        }
    }

    static void ObserverViews()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var observed = model.CreateContext(new ContextOptions { ContextSize = 64 }))
        using (var plain = model.CreateContext(new ContextOptions { ContextSize = 64 }))
        {
            var info = model.Info;
            var prompt = model.Tokenize("The capital of France is");
            var next = new[] { 12, 34 };
            var views = new List<View>();
            observed.SetObserver(Observe.All, o => { views.Add(Record(o)); return true; });
            observed.Eval(prompt);
            CheckPass(views, info, 0, prompt.Length);
            views.Clear();
            observed.Eval(next);
            CheckPass(views, info, prompt.Length, next.Length);
            // Watching changes nothing: the same logits as a context nobody observes.
            plain.Eval(prompt);
            plain.Eval(next);
            Assert(observed.Logits().SequenceEqual(plain.Logits()), "an observed context gave other logits");
            // Only the kinds asked for; the values may not be read after the callback.
            views.Clear();
            Observation kept = null;
            observed.SetObserver(Observe.Final, o => { kept = o; views.Add(Record(o)); return true; });
            observed.Eval(new[] { 56 });
            Assert(views.Count == 1 && views[0].Kind == Observe.Final && views[0].FirstPosition == prompt.Length + next.Length,
                   views.Count + " views for Final alone");
            try
            {
                kept.ToArray();
                throw new Exception("values read after the callback");
            }
            catch (InvalidOperationException) { }
        }
    }

    static void ObserverStopsAndRemoves()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext(new ContextOptions { ContextSize = 64 }))
        {
            context.Eval(new[] { 1, 2, 3 });
            var calls = 0;
            context.SetObserver(Observe.All, o => ++calls < 5);
            var e = Catch(() => context.Eval(new[] { 4, 5 }));
            Assert(e.Status == Status.Cancelled, "status " + e.Status);
            Assert(calls == 5, calls + " calls after returning false");
            Assert(context.Position == 3, "a cancelled eval moved the position to " + context.Position);

            context.SetObserver(Observe.Hidden, o => { throw new InvalidOperationException("from the observer"); });
            try
            {
                context.Eval(new[] { 4, 5 });
                throw new Exception("no exception");
            }
            catch (InvalidOperationException x) { Assert(x.Message == "from the observer", x.Message); }
            Assert(context.Position == 3, "a stopped eval moved the position to " + context.Position);

            calls = 0;
            context.SetObserver(Observe.All, o => { calls++; return true; });
            context.SetObserver(Observe.All, null);
            context.Eval(new[] { 4, 5 });
            Assert(calls == 0 && context.Position == 5, calls + " calls after removing the observer, position " + context.Position);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            // The wrapper's delegate is referenced only through the context: collections must not take it.
            context.SetObserver(Observe.Final, o => { calls++; return true; });
            GC.Collect();
            GC.WaitForPendingFinalizers();
            context.Eval(new[] { 6 });
            Assert(calls == 1, calls + " calls to an observer set before a collection");
            e = Catch(() => context.SetObserver(16, o => true));
            Assert(e.Status == Status.InvalidArgument, "unknown kind bits: status " + e.Status);

            // In a generation, false stops it as Cancel does: the prompt's pass, then two tokens' passes.
            var passes = 0;
            context.SetObserver(Observe.Final, o => ++passes < 3);
            var result = context.Generate(" and", GenerateOptions.Greedy(16), null);
            Assert(result.StopReason == StopReason.Cancelled && passes == 3,
                   "stop reason " + result.StopReason + " after " + passes + " passes");
        }
    }

    // ------------------------------------------------------------------ adapters

    static float[] PromptLogits(SwiftletContext context, int[] prompt)
    {
        Assert(context.Position == 0, "the context holds " + context.Position + " tokens");
        context.Eval(prompt);
        return context.Logits();
    }

    static void Adapters()
    {
        using (var model = new SwiftletModel(modelPath))
        using (var context = model.CreateContext(new ContextOptions { ContextSize = 64 }))
        {
            var prompt = model.Tokenize("The capital of France is");
            var baseLogits = PromptLogits(context, prompt);
            var adapter = model.LoadAdapter(adapterPath);
            Assert(adapter.Rank == adapterRank && adapter.Alpha == adapterAlpha && adapter.TensorCount == adapterTensors,
                   "info: rank " + adapter.Rank + " alpha " + adapter.Alpha + " tensors " + adapter.TensorCount);

            context.SetAdapter(adapter, 1);
            // The cache was computed with the old weights: attaching empties the context.
            var adapted = PromptLogits(context, prompt);
            var changed = Enumerable.Range(0, adapted.Length).Max(i => Math.Abs(adapted[i] - baseLogits[i]));
            Assert(changed > 1e-2, "scale 1 changed the logits by at most " + changed);
            // The context keeps its own reference: disposing ours changes nothing.
            adapter.Dispose();
            context.Reset();
            Assert(PromptLogits(context, prompt).SequenceEqual(adapted), "the attached adapter went away with our handle");

            using (var again = model.LoadAdapter(adapterPath))
            {
                context.SetAdapters(new[] { again }, new[] { 0f });
                Assert(PromptLogits(context, prompt).SequenceEqual(baseLogits), "scale 0 changed the logits");
                // Errors leave the set as it was (and the tokens: nothing changed).
                var e = Catch(() => context.SetAdapters(new[] { again, again }, new[] { 1f, 1f }));
                Assert(e.Status == Status.InvalidArgument, "the same adapter twice: status " + e.Status);
                e = Catch(() => context.SetAdapters(Enumerable.Repeat(again, Limits.MaxAdapters + 1).ToArray(),
                                                    new float[Limits.MaxAdapters + 1]));
                Assert(e.Status == Status.InvalidArgument, Limits.MaxAdapters + 1 + " adapters: status " + e.Status);
                Assert(context.Position == prompt.Length, "a failed SetAdapters emptied the context");
                context.SetAdapter(again, 1);
                Assert(PromptLogits(context, prompt).SequenceEqual(adapted), "a second load of the file gave other logits");
            }
            context.ClearAdapters();
            Assert(PromptLogits(context, prompt).SequenceEqual(baseLogits), "after detaching, the logits are not the base ones");
        }
    }

    static void WrongAdapterRaises()
    {
        using (var model = new SwiftletModel(modelPath))
        {
            var e = Catch(() => model.LoadAdapter(modelPath));
            Assert(e.Status == Status.InvalidArgument, "status " + e.Status);
            Assert(e.Message.Contains(modelPath) && e.Message.Contains("not an adapter"), "message: " + e.Message);
        }
    }
}
