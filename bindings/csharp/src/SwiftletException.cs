// SwiftletException.cs — a failing status becomes an exception carrying the
// status and the library's own message (swiftlet_last_error, read on the
// thread that made the call, right after it).
using System;
using Swiftlet.Interop;

namespace Swiftlet
{
    public class SwiftletException : Exception
    {
        /// <summary>The SWIFTLET_* status (see Swiftlet.Interop.Status).</summary>
        public int Status { get; private set; }

        public SwiftletException(int status, string message) : base(message) { Status = status; }

        /// <summary>Throws for any status but OK, with the calling thread's last error.</summary>
        internal static void Check(int status)
        {
            if (status == Interop.Status.OK) return;
            throw new SwiftletException(status, Utf8.Read(Native.swiftlet_status_string(status)) + ": "
                                                + Utf8.Read(Native.swiftlet_last_error()));
        }
    }
}
