import CKernels

/// The instruction sets netc's C kernels are compiled for. Those kernels run the widest this
/// processor has; the ones that take an `InstructionSet` run their copy for it instead, so that
/// tests check every copy the processor can run.
public enum InstructionSet: Int32, CaseIterable, Sendable {
    case baseline = 0, avx2 = 1, avx512 = 2

    /// The widest this processor runs.
    public static let widest = InstructionSet(rawValue: netc_widest_instruction_set()) ?? .baseline

    /// Every one this processor runs.
    public static var available: [InstructionSet] { allCases.filter { $0.rawValue <= widest.rawValue } }
}
