import CSwiftletSupport
import Glibc
import Synchronization

/// A fixed set of threads that run one data-parallel job at a time. The
/// calling thread is worker 0, so `threadCount` 1 creates no thread at all.
/// Workers spin briefly after a job (the next one usually follows within
/// microseconds during a forward pass), then sleep on a condition variable.
public final class WorkerPool: @unchecked Sendable {
    public let threadCount: Int

    private var threads: [pthread_t] = []
    private let generation = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private var job: ((Int) -> Void)?
    private var stopping = false
    // Heap-allocated so their addresses never move (pthread objects must not be copied).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Spin iterations before a worker sleeps: about 50 µs, long enough to
    /// bridge the gap between the jobs of one token, short enough not to burn
    /// a core between tokens.
    private static let spinLimit = 20_000

    public init(threadCount: Int) throws {
        self.threadCount = max(1, threadCount)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
        for worker in 1..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, worker: worker))
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { argument in
                let start = Unmanaged<WorkerStart>.fromOpaque(argument!).takeRetainedValue()
                start.pool.workerLoop(start.worker)
                return nil
            }, box.toOpaque())
            if created != 0 {
                box.release()
                shutDown()
                throw SwiftletError(.outOfMemory, "could not start worker thread \(worker)")
            }
            threads.append(thread)
        }
    }

    deinit {
        shutDown()
        pthread_cond_destroy(wakeUp)
        pthread_mutex_destroy(mutex)
        wakeUp.deallocate()
        mutex.deallocate()
    }

    /// Runs `body(worker)` for every worker index in 0..<threadCount in
    /// parallel and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            job = body
            unfinished.store(threadCount - 1, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            generation.wrappingAdd(1, ordering: .releasing)
            pthread_cond_broadcast(wakeUp)
            pthread_mutex_unlock(mutex)
            body(0)
            while unfinished.load(ordering: .acquiring) != 0 { spinPause() }
            job = nil
        }
    }

    /// Splits 0..<count into one contiguous range per worker and runs them in parallel.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(threadCount, max(count, 1))
        if workers == 1 { body(0..<count); return }
        run { worker in
            guard worker < workers else { return }
            let lower = count * worker / workers
            let upper = count * (worker + 1) / workers
            if lower < upper { body(lower..<upper) }
        }
    }

    private func workerLoop(_ worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinLimit {
                spinPause()
                spins += 1
            }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen && !stopping {
                    pthread_cond_wait(wakeUp, mutex)
                }
                let stop = stopping
                pthread_mutex_unlock(mutex)
                if stop { return }
            }
            seen = generation.load(ordering: .acquiring)
            if let job { job(worker) }
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    private func shutDown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }
}

private final class WorkerStart {
    let pool: WorkerPool
    let worker: Int
    init(pool: WorkerPool, worker: Int) { self.pool = pool; self.worker = worker }
}

@inline(__always) private func spinPause() { slc_spin_pause() }
