#if canImport(Glibc)
import Glibc
#endif

// The plans' arenas and the parameters are hundreds of MB read in strides (im2col, a GEMM's
// columns); in 4 KiB pages that is more pages than the TLB covers, and every stride may walk the
// page table. Linux backs memory with 2 MiB pages only where asked (`transparent_hugepage` is
// `madvise` on Debian), so buffers of 2 MiB or more are aligned to 2 MiB and asked for them.

private let hugePage = 2 << 20

/// `count` floats for a buffer that lives long (a plan's arena, the parameters), in huge pages where
/// the kernel gives them. Free it with `deallocateLargeBuffer`.
public func allocateLargeBuffer(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
    let bytes = max(count, 1) * MemoryLayout<Float>.stride
    guard bytes >= hugePage else { return .allocate(capacity: max(count, 1)) }
    let rounded = (bytes + hugePage - 1) / hugePage * hugePage
    var raw: UnsafeMutableRawPointer?
    guard posix_memalign(&raw, hugePage, rounded) == 0, let raw else {
        fatalError("netc: out of memory allocating \(bytes) bytes")
    }
    #if canImport(Glibc)
    _ = madvise(raw, rounded, MADV_HUGEPAGE)   // advice: without huge pages the buffer works as well
    #endif
    return UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: max(count, 1)), count: max(count, 1))
}

/// Frees a buffer from `allocateLargeBuffer`.
public func deallocateLargeBuffer(_ buffer: UnsafeMutableBufferPointer<Float>) {
    free(buffer.baseAddress)
}
