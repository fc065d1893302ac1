import Foundation
import Synchronization

/// The threads `parallelFor` runs its chunks on: the calling thread takes chunk 0 and one worker
/// each of the others. Workers spin a short while for the next loop before they sleep, because
/// the loops come back to back (a layer's im2col, GEMM and epilogue, then the next layer's) and
/// waking a sleeping thread costs microseconds each time, many more when the machine is loaded.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(threads: kernelThreadCount - 1)

    private let workerCount: Int
    /// The current loop's ticket, `number << 16 | chunks`: workers run a loop whose ticket they
    /// have not seen, and learn its chunk count from the same read, so that a worker a loop did
    /// not need cannot take the next loop's count for its own.
    private let generation = Atomic<Int>(0)
    /// The number of the last loop started (the calling thread's alone).
    private nonisolated(unsafe) var loops = 0
    /// Chunks of the current loop still running on workers.
    private let pending = Atomic<Int>(0)
    /// Held by the thread whose loop the pool runs: a loop started meanwhile (from a chunk, or
    /// another thread) runs on its caller alone.
    private let busy = Atomic<Bool>(false)
    private let workers: [Worker]
    /// The current loop: chunk index to work. Written before `generation` moves, read after.
    private nonisolated(unsafe) var job: ((Int) -> Void)?

    /// How long a worker waiting for the next loop spins before it sleeps. A sleeping worker took
    /// 36 µs on average to start its chunk (an idle vCPU woken through the host): with 20,000
    /// spins (meant as 50 µs), ResNet-18's batch-1 inference woke it in 22-30% of its loops, the
    /// calling thread waiting 8 µs a loop; spinning 250 µs by the clock, in 0.2-0.6% of them.
    private static let spinNanoseconds: UInt64 = 250_000

    init(threads: Int) {
        workerCount = max(0, threads)
        workers = (0..<workerCount).map { _ in Worker() }
        for w in 0..<workerCount {
            let thread = Thread { [unowned self] in self.work(as: w) }
            thread.name = "netc kernels \(w + 1)"
            thread.start()
        }
    }

    /// Runs `body(chunk)` for chunks `0..<count` (at most `workerCount + 1`), chunk 0 on the
    /// calling thread; returns when all are done. False if the pool is running another loop, and
    /// nothing ran.
    func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        guard count <= workerCount + 1, count < 1 << 16, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(count - 1, ordering: .relaxed)
            loops += 1
            generation.store(loops << 16 | count, ordering: .releasing)
            for w in 0..<count - 1 where workers[w].asleep.exchange(false, ordering: .sequentiallyConsistent) {
                workers[w].wakeUp.signal()
            }
            body(0)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Runs one chunk of the current loop. A function of its own, so that the worker's reference
    /// to the loop's closure is gone before the loop counts the chunk done (the closure must not
    /// outlive `run`).
    @inline(never)
    private func runChunk(_ c: Int) { job?(c) }

    /// A worker's sleep: whether it is (or is about to be) waiting, and what wakes it.
    private final class Worker: Sendable {
        let asleep = Atomic<Bool>(false)
        let wakeUp = DispatchSemaphore(value: 0)
    }

    private func work(as w: Int) {
        var seen = 0
        while true {
            var spins = 0, spinStart: UInt64 = 0
            while generation.load(ordering: .acquiring) == seen {
                // The clock read only every 1,024 spins: a read costs tens of spins.
                spins += 1
                if spins & 1023 != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if spinStart == 0 { spinStart = now }
                if now - spinStart < Self.spinNanoseconds { continue }
                // Sleep until a loop wakes this worker; re-check after saying so, so that a loop
                // started in between is not missed.
                let me = workers[w]
                me.asleep.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) != seen {
                    // A loop started meanwhile; if it already saw this worker asleep, take its signal.
                    if !me.asleep.exchange(false, ordering: .sequentiallyConsistent) { me.wakeUp.wait() }
                    break
                }
                me.wakeUp.wait()
                spinStart = 0
            }
            seen = generation.load(ordering: .acquiring)
            if w + 1 < seen & 0xFFFF {
                runChunk(w + 1)
                pending.subtract(1, ordering: .releasing)
            }
        }
    }
}
