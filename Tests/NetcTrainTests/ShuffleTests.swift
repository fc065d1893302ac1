import Testing
@testable import NetcTrain

/// Each epoch's data order: a permutation, a stream of its own for every seed and epoch, and
/// uniform, so runs over several seeds are independent draws of the same experiment.
@Suite struct ShuffleTests {
    @Test func isAPermutation() {
        #expect(Trainer.shuffle(1000, seed: 3, epoch: 7).sorted() == Array(0..<1000))
        #expect(Trainer.shuffle(1, seed: 0, epoch: 0) == [0])
        #expect(Trainer.shuffle(0, seed: 0, epoch: 0) == [])
    }

    @Test func repeatsForTheSameSeedAndEpoch() {
        #expect(Trainer.shuffle(500, seed: 42, epoch: 3) == Trainer.shuffle(500, seed: 42, epoch: 3))
    }

    /// Seeding with `seed + epoch` made epoch 1 of seed 0 replay epoch 0 of seed 1, and streams
    /// started one draw apart are the same order shifted by one swap.
    @Test func noSeedOrEpochReplaysAnother() {
        let orders = (0..<4).flatMap { seed in (0..<4).map { Trainer.shuffle(500, seed: seed, epoch: $0) } }
        for i in orders.indices {
            for j in orders.indices where j > i {
                let agreeing = zip(orders[i], orders[j]).filter { $0 == $1 }.count
                #expect(agreeing < 10, "orders \(i) and \(j) agree in \(agreeing) of 500 places")
            }
        }
        #expect(Trainer.shuffle(500, seed: .max, epoch: 1) != Trainer.shuffle(500, seed: .min, epoch: 0))
    }

    /// Where each element lands, over 2,000 seeds: a chi-squared test of uniformity over the 10
    /// positions. With 9 degrees of freedom the statistic exceeds 27.9 with probability 0.001, and
    /// the seeds are fixed, so the test is deterministic.
    @Test func everyPositionIsEquallyLikely() {
        let n = 10, runs = 2000
        var counts = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        for seed in 0..<runs {
            for (position, element) in Trainer.shuffle(n, seed: seed, epoch: seed % 3).enumerated() { counts[element][position] += 1 }
        }
        let expected = Double(runs) / Double(n)
        for element in 0..<n {
            let chiSquared = counts[element].reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            #expect(chiSquared < 27.9, "element \(element) lands unevenly: \(counts[element])")
        }
    }
}
