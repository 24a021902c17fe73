// Generate.cs — model path + prompt → streamed text, from C# (Mono or .NET),
// as a Unity script would do it. Ctrl-C cancels through swiftlet_context_cancel:
// the generation stops within a layer of work and the program exits cleanly.
//
//   mono Generate.exe MODEL.gguf "prompt" [-n MAX_TOKENS] [--raw] [--temp T] [--seed S]
//
// Without --raw the prompt goes through the model's chat template as one user
// message; with --raw the text is continued as it is (greedy unless --temp).
using System;
using Swiftlet;

static class GenerateExample
{
    static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Generate.exe MODEL.gguf PROMPT [-n MAX_TOKENS] [--raw] [--temp T] [--seed S]");
            return 2;
        }
        var options = GenerateOptions.Greedy(200);
        var raw = false;
        for (var i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--raw": raw = true; break;
                case "-n": options.MaxTokens = int.Parse(args[++i]); break;
                case "--temp": options.Temperature = float.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = ulong.Parse(args[++i]); break;
                default: Console.Error.WriteLine("unknown option " + args[i]); return 2;
            }
        }
        try
        {
            using (var model = new SwiftletModel(args[0]))
            using (var context = model.CreateContext())
            {
                Console.CancelKeyPress += (sender, e) =>
                {
                    e.Cancel = true;      // keep the process; the library stops the call
                    context.Cancel();
                };
                var stdout = Console.OpenStandardOutput();
                Action<string> write = piece =>
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(piece);
                    stdout.Write(bytes, 0, bytes.Length);
                    stdout.Flush();
                };
                GenerateResult result;
                if (raw)
                {
                    write(args[1]);
                    result = context.Generate(args[1], options, write);
                }
                else
                {
                    result = context.Chat(new[] { new ChatMessage("user", args[1]) }, options, write);
                }
                write("\n");
                Console.Error.WriteLine("[{0} prompt tokens, {1} generated{2}]", result.PromptTokens,
                                        result.GeneratedTokens, result.Cancelled ? ", cancelled" : "");
                return 0;
            }
        }
        catch (SwiftletException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }
}
