import Foundation
import Testing
@testable import NetcKernels

/// `parallelFor` on its worker pool: every index runs once, whether the workers are spinning
/// (loops back to back), asleep (a pause longer than their spin between loops), or the pool is
/// taken (a loop inside a chunk, loops from two threads at once), which then runs on its caller.
@Suite struct ParallelTests {
    /// Marks every index of `0..<count` in a fresh array, in parallel; true if each was marked once.
    static func marksEachIndexOnce(_ count: Int) -> Bool {
        let marks = UnsafeMutableBufferPointer<Int32>.allocate(capacity: count)
        defer { marks.deallocate() }
        marks.initialize(repeating: 0)
        parallelFor(count, workPerItem: parallelWorkThreshold) { range in
            for i in range { marks[i] += 1 }
        }
        return marks.allSatisfy { $0 == 1 }
    }

    @Test func backToBackLoops() {
        #expect((0..<20_000).allSatisfy { Self.marksEachIndexOnce(1 + $0 % 7) })
    }

    @Test func loopsAfterTheWorkersFellAsleep() {
        for round in 0..<100 {
            usleep(UInt32(200 + round % 3 * 300))   // past the workers' spin (about 50 µs)
            #expect(Self.marksEachIndexOnce(5))
        }
    }

    @Test func aLoopInsideALoopRunsOnItsCaller() {
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { sums.deallocate() }
        parallelFor(8, workPerItem: parallelWorkThreshold) { outer in
            for i in outer {
                var total = 0
                parallelFor(100, workPerItem: parallelWorkThreshold) { inner in
                    for j in inner { total += j }   // inline: no other thread touches total
                }
                sums[i] = total
            }
        }
        #expect(sums.allSatisfy { $0 == 4950 })
    }

    @Test func loopsFromTwoThreadsAtOnce() async {
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 { group.addTask { (0..<2_000).allSatisfy { Self.marksEachIndexOnce(2 + $0 % 5) } } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [true, true])
    }

    /// A pool of more workers than this machine's cores, as on a larger machine, running loops
    /// that need some of its workers and then all of them: every chunk runs once. (The ticket
    /// carries each loop's chunk count so that a worker one loop did not need cannot run the
    /// next loop with a stale count; that interleaving is too narrow for this test to provoke
    /// reliably: a separate count variable passed it too.)
    @Test func loopsOfDifferentWidthsOnAWidePool() {
        let pool = WorkerPool(threads: 3)
        let counts = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 4)
        defer { counts.deallocate() }
        var ok = true
        for round in 0..<20_000 {
            let width = [2, 4, 3, 1][round % 4]
            counts.initialize(repeating: 0)
            #expect(pool.run(width) { counts[$0] += 1 })
            ok = ok && (0..<4).allSatisfy { counts[$0] == ($0 < width ? 1 : 0) }
        }
        #expect(ok)
    }
}
