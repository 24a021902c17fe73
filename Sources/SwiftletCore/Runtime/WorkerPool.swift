import CSwiftletSupport
import Glibc
import Synchronization

/// A fixed set of threads that run one data-parallel job at a time. The
/// calling thread is worker 0, so `threadCount` 1 creates no thread at all.
/// Workers spin briefly after a job (the next one usually follows within
/// microseconds during a forward pass), then sleep on a condition variable.
/// Handing a job to spinning workers is one atomic increment: the mutex and
/// the broadcast are paid only when some worker has gone to sleep.
/// Freeing the pool stops and joins its threads.
public final class WorkerPool: @unchecked Sendable {
    public let threadCount: Int
    /// What the workers share. They retain it, not the pool, so the pool's
    /// deinit runs when its owner lets go and can stop them.
    private let shared: SharedState
    private var threads: [pthread_t] = []

    public init(threadCount: Int) throws {
        self.threadCount = max(1, threadCount)
        shared = SharedState()
        for worker in 1..<self.threadCount {
            let start = Unmanaged.passRetained(WorkerStart(shared: shared, worker: worker))
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { argument in
                let start = Unmanaged<WorkerStart>.fromOpaque(argument!).takeRetainedValue()
                start.shared.workerLoop(start.worker)
                return nil
            }, start.toOpaque())
            if created != 0 {
                start.release()
                stopWorkers()
                throw SwiftletError(.outOfMemory, "could not start worker thread \(worker)")
            }
            threads.append(thread)
        }
    }

    deinit { stopWorkers() }

    /// Runs `body(worker)` for every worker index in 0..<threadCount in
    /// parallel and returns when all are done.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            shared.start(body, workers: threadCount - 1)
            body(0)
            shared.waitForWorkers()
        }
    }

    /// Splits 0..<count into one contiguous range per worker and runs them in parallel.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        parallelFor(count) { range, _ in body(range) }
    }

    /// As parallelFor, also passing the worker index (for per-worker scratch).
    public func parallelFor(_ count: Int, _ body: (Range<Int>, Int) -> Void) {
        let workers = min(threadCount, max(count, 1))
        if workers == 1 { body(0..<count, 0); return }
        run { worker in
            guard worker < workers else { return }
            let lower = count * worker / workers
            let upper = count * (worker + 1) / workers
            if lower < upper { body(lower..<upper, worker) }
        }
    }

    private func stopWorkers() {
        shared.stop()
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }
}

/// The job hand-off between the calling thread and the workers.
private final class SharedState: @unchecked Sendable {
    private let generation = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    /// Workers that hold, or wait on, the mutex to sleep. Sequentially
    /// consistent with `generation`: a worker counts itself before it looks
    /// at the generation, the caller bumps the generation before it looks at
    /// the count, so at least one of them sees the other (no lost wake-up).
    private let sleepers = Atomic<Int>(0)
    private var job: ((Int) -> Void)?
    private var stopping = false
    // Heap-allocated so their addresses never move (pthread objects must not be copied).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// Spin iterations before a worker sleeps: tens of microseconds, long
    /// enough to bridge the gap between the jobs of one token, short enough
    /// not to burn a core between tokens.
    private static let spinLimit = 20_000

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
    }

    deinit {
        pthread_cond_destroy(wakeUp)
        pthread_mutex_destroy(mutex)
        wakeUp.deallocate()
        mutex.deallocate()
    }

    func start(_ body: @escaping (Int) -> Void, workers: Int) {
        job = body
        unfinished.store(workers, ordering: .relaxed)
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wakeUp)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Spins briefly, then yields the core: if a worker was preempted (another
    /// process wants this core), spinning would only delay it by a whole
    /// time slice per job; yielding lets it run.
    func waitForWorkers() {
        var spins = 0
        while unfinished.load(ordering: .acquiring) != 0 {
            if spins < Self.spinLimit {
                slc_spin_pause()
                spins += 1
            } else {
                sched_yield()
            }
        }
        job = nil
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(mutex)
    }

    func workerLoop(_ worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinLimit {
                slc_spin_pause()
                spins += 1
            }
            if generation.load(ordering: .acquiring) == seen {  // no job came while spinning: sleep
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping {
                    pthread_cond_wait(wakeUp, mutex)
                }
                sleepers.subtract(1, ordering: .relaxed)
                let stop = stopping
                pthread_mutex_unlock(mutex)
                if stop { return }
            }
            seen = generation.load(ordering: .acquiring)
            job?(worker)
            unfinished.subtract(1, ordering: .releasing)
        }
    }
}

/// What a new worker thread needs to know.
private final class WorkerStart {
    let shared: SharedState
    let worker: Int
    init(shared: SharedState, worker: Int) { self.shared = shared; self.worker = worker }
}
