/// Packs tensors with known lifetimes into as few arena slots as possible: largest first, each
/// into the first slot big enough whose tensors' lifetimes do not overlap its own (first fit).
/// Sizes are per sample; a slot is as large as the largest tensor it holds.
struct SlotPacking {
    /// A tensor to place: floats per sample, and the first and last steps that touch it.
    struct Tensor {
        var size: Int
        var first: Int
        var last: Int
    }

    /// The slot of each tensor, in the order given.
    let slotOf: [Int]
    /// Floats per sample of each slot.
    let slotSizes: [Int]

    init(_ tensors: [Tensor]) {
        let order = tensors.indices.sorted { (tensors[$0].size, $1) > (tensors[$1].size, $0) }
        var slots: [(size: Int, intervals: [(Int, Int)])] = []
        var slotOf = [Int](repeating: 0, count: tensors.count)
        for t in order {
            let (a, b, need) = (tensors[t].first, tensors[t].last, tensors[t].size)
            if let k = slots.indices.first(where: { k in slots[k].size >= need
                && slots[k].intervals.allSatisfy { $0.1 < a || b < $0.0 } }) {
                slots[k].intervals.append((a, b))
                slotOf[t] = k
            } else {
                slotOf[t] = slots.count
                slots.append((need, [(a, b)]))
            }
        }
        self.slotOf = slotOf
        self.slotSizes = slots.map(\.size)
    }
}
