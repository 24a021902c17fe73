// SafeHandles.cs — the library's handles as SafeHandles, so a handle is freed
// exactly once, by Dispose or else by the finalizer, and never while a call
// that uses it is still running (the marshaller holds a reference for the
// call). Finalizers run in any order; the library makes that safe: a context
// keeps its model alive, so the model's handle may be released first.
using System;
using System.Runtime.InteropServices;

namespace Swiftlet.Interop
{
    public sealed class SafeModelHandle : SafeHandle
    {
        public SafeModelHandle() : base(IntPtr.Zero, true) { }
        internal SafeModelHandle(IntPtr handle) : base(IntPtr.Zero, true) { SetHandle(handle); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.swiftlet_model_free(handle); return true; }
    }

    public sealed class SafeContextHandle : SafeHandle
    {
        public SafeContextHandle() : base(IntPtr.Zero, true) { }
        internal SafeContextHandle(IntPtr handle) : base(IntPtr.Zero, true) { SetHandle(handle); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.swiftlet_context_free(handle); return true; }

        // The observer delegate the library calls, kept alive as long as the
        // handle (the marshaller holds the handle during every call, even when
        // nothing references the SwiftletContext any more).
        internal swiftlet_observer_callback Observer;
    }

    public sealed class SafeAdapterHandle : SafeHandle
    {
        public SafeAdapterHandle() : base(IntPtr.Zero, true) { }
        internal SafeAdapterHandle(IntPtr handle) : base(IntPtr.Zero, true) { SetHandle(handle); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.swiftlet_adapter_free(handle); return true; }
    }

    public sealed class SafeSamplerHandle : SafeHandle
    {
        public SafeSamplerHandle() : base(IntPtr.Zero, true) { }
        internal SafeSamplerHandle(IntPtr handle) : base(IntPtr.Zero, true) { SetHandle(handle); }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle() { Native.swiftlet_sampler_free(handle); return true; }
    }
}
