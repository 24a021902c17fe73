// Native.cs — the P/Invoke layer: one [DllImport] per function of
// include/swiftlet.h and one struct per C struct, field for field.
//
// The rules the header promises for other languages, applied here:
//  - only fixed-width types: int (int32_t), uint (uint32_t), ulong (uint64_t),
//    float, UIntPtr (size_t), IntPtr (pointers); no bool, no enum;
//  - structs are LayoutKind.Sequential with the C field names, so the layout
//    test compares Marshal.OffsetOf with Tests/abi/layout.txt name by name;
//  - strings the library owns arrive as IntPtr and are copied (Utf8.Read),
//    never freed by the marshaller; strings we pass are NUL-terminated UTF-8
//    byte arrays we own for the call (Utf8.Bytes);
//  - every function and callback is Cdecl.
// Unity: put libswiftlet.so in Assets/Plugins/x86_64/ (and the .dll/.dylib of
// other platforms beside it); DllImport("swiftlet") finds it by that name.
using System;
using System.Runtime.InteropServices;

namespace Swiftlet.Interop
{
    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_memory_info
    {
        public uint struct_size;
        public uint reserved;
        public IntPtr allocator;
        public ulong bytes_allocated;
        public ulong bytes_mapped;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_model_params
    {
        public uint struct_size;
        public int n_threads;
        public IntPtr progress;            // a swiftlet_progress_callback, or zero
        public IntPtr progress_user_data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_model_info
    {
        public uint struct_size;
        public int n_vocab;
        public IntPtr architecture;
        public IntPtr name;
        public int n_ctx_train;
        public int n_embd;
        public int n_layer;
        public int n_head;
        public int n_head_kv;
        public int n_ff;
        public ulong n_params;
        public int bos_token;
        public int eos_token;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_context_params
    {
        public uint struct_size;
        public int n_ctx;
        public int n_threads;
        public int n_batch;
        // Since 0.4.0 (fill with swiftlet_context_params_init_sized, Marshal.SizeOf this struct):
        public int n_seq_max;
        public int overflow;               // Overflow.Error or Overflow.Shift
        public int n_keep;
        public int n_discard;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_batch
    {
        public uint struct_size;
        public int n_tokens;
        public IntPtr tokens;              // const int32_t *
        public IntPtr seq_ids;             // const int32_t *, or zero: all in sequence 0
        public IntPtr positions;           // const int32_t *, or zero
        public IntPtr logits;              // const int8_t *, or zero: each sequence's last entry
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_sampler_params
    {
        public uint struct_size;
        public float temperature;
        public int top_k;
        public float top_p;
        public float min_p;
        public float repeat_penalty;
        public int repeat_last_n;
        public uint reserved;
        public ulong seed;
        // Since 0.5.0 (fill with swiftlet_sampler_params_init_sized, Marshal.SizeOf this struct):
        public IntPtr grammar;             // const swiftlet_grammar *, or zero for none
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_generate_params
    {
        public uint struct_size;
        public int max_tokens;
        public uint tokenize_flags;
        public uint reserved;
        public IntPtr sampling;            // const swiftlet_sampler_params *, or zero for defaults
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_generate_result
    {
        public uint struct_size;
        public int n_prompt_tokens;
        public int n_generated_tokens;
        public int stop_reason;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_chat_message
    {
        public uint struct_size;
        public uint reserved;
        public IntPtr role;
        public IntPtr content;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_chat_params
    {
        public uint struct_size;
        public int add_generation_prompt;
        public IntPtr chat_template;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_embed_params
    {
        public uint struct_size;
        public int pooling;
        public int normalize;
        public uint reserved;
    }

    /// <summary>
    /// One view an observer is handed: n_heads x n_tokens x n_columns floats at
    /// `values`, row-major, owned by the library and valid only during the
    /// callback (copy what you keep). Since 0.6.0.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct swiftlet_observation
    {
        public uint struct_size;           // as the library wrote it; fields may be appended
        public uint kind;                  // one Observe bit
        public int layer;                  // 0 .. n_layer - 1; n_layer for Observe.Final
        public int seq_id;
        public int first_token;            // index of the first of these tokens in the pass
        public int n_tokens;
        public int first_position;
        public int n_heads;                // 1; n_head for Observe.Attention
        public int n_columns;              // n_embd; for Observe.Attention the positions 0 .. first_position + n_tokens - 1
        public int reserved;
        public IntPtr values;              // const float *, the library's
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int swiftlet_token_callback(IntPtr piece, UIntPtr piece_len, int token, IntPtr user_data);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int swiftlet_batch_token_callback(int seq_id, IntPtr piece, UIntPtr piece_len, int token, IntPtr user_data);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void swiftlet_log_callback(int level, IntPtr message, IntPtr user_data);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int swiftlet_progress_callback(float progress, IntPtr user_data);

    // `observation` is a const swiftlet_observation * (Marshal.PtrToStructure it).
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int swiftlet_observer_callback(IntPtr observation, IntPtr user_data);

    /// <summary>The C API, function for function. Status codes are the SWIFTLET_* constants in <see cref="Status"/>.</summary>
    public static class Native
    {
        public const string Library = "swiftlet";
        const CallingConvention Cdecl = CallingConvention.Cdecl;

        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_version();
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_version_number();
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_status_string(int status);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_last_error();
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_set_log_callback(swiftlet_log_callback callback, IntPtr user_data);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_memory_get_info(ref swiftlet_memory_info info);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_system_info();

        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_model_params_init(out swiftlet_model_params parameters);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_model_load(byte[] path, ref swiftlet_model_params parameters, out IntPtr model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_model_free(IntPtr model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_model_get_info(SafeModelHandle model, ref swiftlet_model_info info);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_model_meta_count(SafeModelHandle model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_model_meta_key(SafeModelHandle model, int index, byte[] buf, UIntPtr buf_size, out UIntPtr out_len);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_model_meta_value(SafeModelHandle model, byte[] key, byte[] buf, UIntPtr buf_size, out UIntPtr out_len);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_tokenize(SafeModelHandle model, byte[] text, UIntPtr text_len, uint flags, int[] tokens, UIntPtr capacity, out UIntPtr out_count);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_token_to_bytes(SafeModelHandle model, int token, byte[] buf, UIntPtr buf_size, out UIntPtr out_len);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_detokenize(SafeModelHandle model, int[] tokens, UIntPtr n_tokens, byte[] buf, UIntPtr buf_size, out UIntPtr out_len);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_vocab_size(SafeModelHandle model);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_token_is_end_of_generation(SafeModelHandle model, int token);

        // Writes only the 16 bytes of the 0.3 struct (for callers built before it grew): use the sized form.
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_context_params_init(ref swiftlet_context_params parameters);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_context_params_init_sized(ref swiftlet_context_params parameters, UIntPtr struct_size);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_create(SafeModelHandle model, ref swiftlet_context_params parameters, out IntPtr context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_context_free(IntPtr context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_eval(SafeContextHandle context, int[] tokens, UIntPtr n_tokens);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_eval_all_logits(SafeContextHandle context, int[] tokens, UIntPtr n_tokens, float[] logits, UIntPtr logits_capacity);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_context_logits(SafeContextHandle context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_position(SafeContextHandle context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_size(SafeContextHandle context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_rewind(SafeContextHandle context, int position);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_reset(SafeContextHandle context);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_context_cancel(SafeContextHandle context);

        // The callback must stay alive while it is set: keep a reference to the delegate until it is replaced or removed.
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_set_observer(SafeContextHandle context, uint kinds, swiftlet_observer_callback callback, IntPtr user_data);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_decode(SafeContextHandle context, ref swiftlet_batch batch);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr swiftlet_context_logits_for(SafeContextHandle context, int index);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_seq_length(SafeContextHandle context, int seq_id);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_seq_remove(SafeContextHandle context, int seq_id, int p0, int p1);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_seq_copy(SafeContextHandle context, int src, int dst, int n_tokens);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_seq_keep(SafeContextHandle context, int seq_id);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_adapter_load(SafeModelHandle model, byte[] path, out IntPtr adapter);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_adapter_free(IntPtr adapter);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_adapter_info(SafeAdapterHandle adapter, out int rank, out float alpha, out int n_tensors);
        // `adapters` holds swiftlet_adapter pointers (SafeAdapterHandle.DangerousGetHandle, AddRef'd for the call);
        // n_adapters 0 with null arrays detaches all.
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_context_set_adapters(SafeContextHandle context, IntPtr[] adapters, float[] scales, int n_adapters);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_sampler_params_init_sized(out swiftlet_sampler_params parameters, UIntPtr struct_size);

        /// <summary>swiftlet_sampler_params_init_sized's defaults for this struct's size.</summary>
        public static swiftlet_sampler_params DefaultSamplerParams()
        {
            swiftlet_sampler_params p;
            swiftlet_sampler_params_init_sized(out p, new UIntPtr((uint)Marshal.SizeOf(typeof(swiftlet_sampler_params))));
            return p;
        }
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_sampler_create(ref swiftlet_sampler_params parameters, out IntPtr sampler);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_sampler_free(IntPtr sampler);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_sampler_sample(SafeSamplerHandle sampler, SafeContextHandle context, out int token);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_sampler_sample_seq(SafeSamplerHandle sampler, SafeContextHandle context, int seq_id, out int token);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_generate_params_init(out swiftlet_generate_params parameters);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_generate(SafeContextHandle context, byte[] prompt, ref swiftlet_generate_params parameters, swiftlet_token_callback callback, IntPtr user_data, ref swiftlet_generate_result result);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_generate_batch(SafeContextHandle context, IntPtr[] prompts, UIntPtr n_prompts, ref swiftlet_generate_params parameters, swiftlet_batch_token_callback callback, IntPtr user_data, [In, Out] swiftlet_generate_result[] results);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_chat_params_init(out swiftlet_chat_params parameters);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_chat_format(SafeModelHandle model, swiftlet_chat_message[] messages, UIntPtr n_messages, ref swiftlet_chat_params parameters, byte[] buf, UIntPtr buf_size, out UIntPtr out_len);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void swiftlet_embed_params_init(out swiftlet_embed_params parameters);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_embed(SafeContextHandle context, IntPtr[] texts, UIntPtr n_texts, ref swiftlet_embed_params parameters, float[] output, UIntPtr out_capacity, out UIntPtr out_count);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int swiftlet_chat(SafeContextHandle context, swiftlet_chat_message[] messages, UIntPtr n_messages, ref swiftlet_chat_params chat_params, ref swiftlet_generate_params parameters, swiftlet_token_callback callback, IntPtr user_data, ref swiftlet_generate_result result);
    }

    /// <summary>The header's SWIFTLET_* status, stop-reason and flag constants.</summary>
    public static class Status
    {
        public const int OK = 0, InvalidArgument = 1, IO = 2, InvalidFile = 3, Unsupported = 4, NotFound = 5,
            BufferTooSmall = 6, ContextFull = 7, Cancelled = 8, OutOfMemory = 9, Template = 10, Internal = 11, Busy = 12;
    }

    public static class StopReason
    {
        public const int EndOfGeneration = 0, MaxTokens = 1, Callback = 2, Cancelled = 3, ContextFull = 4;
    }

    public static class TokenizeFlags
    {
        public const uint AddBos = 1, Special = 2, ModelBos = 4;
    }

    public static class Overflow
    {
        public const int Error = 0, Shift = 1;
    }

    public static class Pooling
    {
        public const int Model = 0, Mean = 1, Cls = 2, Last = 3;
    }

    /// <summary>SWIFTLET_OBSERVE_*: the views an observer asks for (bits of `kinds`).</summary>
    public static class Observe
    {
        public const uint Hidden = 1, AfterAttention = 2, Attention = 4, Final = 8, All = 15;
    }

    public static class Limits
    {
        /// <summary>SWIFTLET_MAX_ADAPTERS: at most this many adapters are attached to one context.</summary>
        public const int MaxAdapters = 64;
    }
}
