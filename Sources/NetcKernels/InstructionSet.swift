import CKernels

/// The instruction sets the C kernels are compiled for, one copy each, chosen at run time by the
/// widest the processor runs; tests ask for each one the machine has.
public enum KernelInstructionSet: Int32, CaseIterable, Sendable {
    case baseline = 0, avx2 = 1, avx512 = 2

    /// The widest this processor runs: what the kernels use unless told otherwise.
    public static let widest = KernelInstructionSet(rawValue: netc_widest_instruction_set()) ?? .baseline

    /// Every one this processor runs.
    public static var available: [KernelInstructionSet] { allCases.filter { $0.rawValue <= widest.rawValue } }
}
