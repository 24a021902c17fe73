// Observation.cs — one view an observer is handed (SwiftletContext.SetObserver):
// the fields of swiftlet_observation, and its values read while the callback
// runs. The values are the library's and valid only then, so this object
// refuses to read them once the callback has returned.
using System;
using System.Runtime.InteropServices;
using Swiftlet.Interop;

namespace Swiftlet
{
    public sealed class Observation
    {
        /// <summary>One Observe bit: Attention, AfterAttention, Hidden or Final.</summary>
        public readonly uint Kind;
        /// <summary>0 .. n_layer - 1; n_layer for Final.</summary>
        public readonly int Layer;
        /// <summary>The sequence these tokens continue (in an encoder's embedding pass, the text's index).</summary>
        public readonly int SeqId;
        /// <summary>The index of the first of these tokens in the pass.</summary>
        public readonly int FirstToken;
        /// <summary>Consecutive tokens of the pass, at positions FirstPosition...</summary>
        public readonly int Tokens;
        public readonly int FirstPosition;
        /// <summary>1; n_head for Attention.</summary>
        public readonly int Heads;
        /// <summary>n_embd; for Attention the positions 0 .. FirstPosition + Tokens - 1 of the sequence.</summary>
        public readonly int Columns;

        IntPtr values;

        internal Observation(IntPtr observation)
        {
            var o = (swiftlet_observation)Marshal.PtrToStructure(observation, typeof(swiftlet_observation));
            Kind = o.kind;
            Layer = o.layer;
            SeqId = o.seq_id;
            FirstToken = o.first_token;
            Tokens = o.n_tokens;
            FirstPosition = o.first_position;
            Heads = o.n_heads;
            Columns = o.n_columns;
            values = o.values;
        }

        /// <summary>Heads x Tokens x Columns: the number of floats.</summary>
        public int Count { get { return Heads * Tokens * Columns; } }

        /// <summary>A copy of all values, row-major: [(head * Tokens + token) * Columns + column].</summary>
        public float[] ToArray()
        {
            var copy = new float[Count];
            CopyTo(copy, 0, 0, copy.Length);
            return copy;
        }

        /// <summary>A copy of one row: token `token`'s values (for Attention, its weight on each position) in head `head`.</summary>
        public float[] Row(int head, int token)
        {
            if (head < 0 || head >= Heads) throw new ArgumentOutOfRangeException("head");
            if (token < 0 || token >= Tokens) throw new ArgumentOutOfRangeException("token");
            var row = new float[Columns];
            CopyTo(row, 0, (head * Tokens + token) * Columns, Columns);
            return row;
        }

        void CopyTo(float[] destination, int index, int start, int count)
        {
            if (values == IntPtr.Zero)
                throw new InvalidOperationException("an observation's values are valid only during the observer callback");
            Marshal.Copy(new IntPtr(values.ToInt64() + (long)start * sizeof(float)), destination, index, count);
        }

        /// <summary>The callback has returned: the library's buffer may be reused.</summary>
        internal void Expire() { values = IntPtr.Zero; }
    }
}
