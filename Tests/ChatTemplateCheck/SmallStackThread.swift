// Runs work on a thread with a small stack, as a host's worker thread may be
// (game engines give 256 KiB), and measures how much of it the work used.
// The stack is mapped here, filled with a pattern and given a guard page
// below it, so an overflow is a SIGSEGV (the test's failure) and the used
// depth is the lowest byte no longer holding the pattern. glibc keeps the
// thread's descriptor and static TLS at the top of a given stack, as it does
// for `pthread_attr_setstacksize`, so the space left for the work is the same
// (OpenBLAS alone has 60 KiB of static TLS: a 256 KiB thread has ~180 KiB).
#if canImport(Glibc)
import Glibc
#endif

private final class ThreadJob {
    let work: () -> Void
    /// Where the thread's stack pointer was when the job started.
    var entry: UInt = 0
    init(_ work: @escaping () -> Void) { self.work = work }
}

private let stackPattern: UInt8 = 0xA5

/// Runs `work` on a new thread with a `stackBytes` stack and waits for it.
/// Returns the bytes of stack the thread touched in all (TLS and descriptor
/// included) and below the job's first frame (what the work itself used), or
/// nil if the thread could not start.
func runOnSmallStack(stackBytes: Int, _ work: @escaping () -> Void) -> (total: Int, work: Int)? {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let size = (stackBytes + page - 1) / page * page
    guard let base = mmap(nil, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0),
          base != MAP_FAILED else { return nil }
    defer { munmap(base, size + page) }
    mprotect(base, page, PROT_NONE)   // the guard page: overflowing the stack faults here
    let stack = base + page
    memset(stack, Int32(stackPattern), size)

    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    guard pthread_attr_setstack(&attributes, stack, size) == 0 else { return nil }
    let job = ThreadJob(work)
    let start = Unmanaged.passRetained(job)
    var thread = pthread_t()
    let created = pthread_create(&thread, &attributes, { argument in
        let job = Unmanaged<ThreadJob>.fromOpaque(argument!).takeRetainedValue()
        var marker = 0
        job.entry = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        job.work()
        return nil
    }, start.toOpaque())
    guard created == 0 else {
        start.release()
        return nil
    }
    pthread_join(thread, nil)
    let bytes = stack.assumingMemoryBound(to: UInt8.self)
    var untouched = 0
    while untouched < size && bytes[untouched] == stackPattern { untouched += 1 }
    let lowest = UInt(bitPattern: stack) + UInt(untouched)
    return (size - untouched, job.entry > lowest ? Int(job.entry - lowest) : 0)
}
