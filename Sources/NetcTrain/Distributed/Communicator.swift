import CMPI
import Foundation

/// The processes training one network together (data parallel): one, or the ranks mpirun
/// started. Every rank calls the same collectives in the same order; a plain run is a world of
/// one, in which they do nothing and MPI is never initialised.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let usesMPI: Bool
    /// Rank 0's report of a rank that dies; does nothing in a world of one.
    let watch: RankWatch

    /// The world this process belongs to: mpirun's (Open MPI sets OMPI_COMM_WORLD_SIZE in each
    /// rank's environment), else a world of one.
    public static let world: Communicator = {
        let env = ProcessInfo.processInfo.environment
        guard let size = env["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }), size > 1 else { return Communicator() }
        guard netc_mpi_init() == MPI_SUCCESS else {
            FileHandle.standardError.write(Data("error: cannot initialise MPI for \(size) ranks\n".utf8))
            exit(1)
        }
        var rank: Int32 = 0, count: Int32 = 0
        netc_mpi_rank(&rank)
        netc_mpi_size(&count)
        return Communicator(rank: Int(rank), size: Int(count), watch: RankWatch.start(rank: Int(rank), size: Int(count)))
    }()

    /// A world of one.
    public init() { rank = 0; size = 1; usesMPI = false; watch = RankWatch() }

    private init(rank: Int, size: Int, watch: RankWatch) { self.rank = rank; self.size = size; usesMPI = true; self.watch = watch }

    /// Whether this rank writes the run directory and prints progress: rank 0 alone.
    public var isLeader: Bool { rank == 0 }

    /// This rank's share of `items` (see `share(of:rank:size:)`).
    public func share<C: RandomAccessCollection>(of items: C) -> C.SubSequence where C.Index == Int {
        Self.share(of: items, rank: rank, size: size)
    }

    /// Rank `rank`'s share of `items` among `size` ranks: contiguous, disjoint, together all of
    /// them in order; the first `count % size` ranks take one more.
    public static func share<C: RandomAccessCollection>(of items: C, rank: Int, size: Int) -> C.SubSequence where C.Index == Int {
        let base = items.count / size, extra = items.count % size
        let lo = items.startIndex + rank * base + min(rank, extra)
        return items[lo..<lo + base + (rank < extra ? 1 : 0)]
    }

    /// Sums `values` over every rank, in place (statistics: a few per channel).
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard usesMPI, !values.isEmpty else { return }
        check(netc_mpi_sum_doubles(values.baseAddress!, Int32(values.count)), "sum statistics")
    }

    /// `values` summed over every rank.
    public func sum(_ values: [Double]) -> [Double] {
        var out = values
        out.withUnsafeMutableBufferPointer { sum($0) }
        return out
    }

    /// Rank 0's `values` on every rank.
    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>) {
        guard usesMPI, !values.isEmpty else { return }
        check(netc_mpi_broadcast_floats(values.baseAddress!, Int32(values.count), 0), "broadcast")
    }

    /// Ends MPI when this process is done with it (mpirun counts a rank that exits without it as failed).
    public func finish() {
        leave()
        if usesMPI { netc_mpi_finalize() }
    }

    /// This rank ends on purpose (done, stopped, or an error it reports), so rank 0 must not report
    /// it as dead: every way out of a run under mpirun calls it.
    public func leave() { watch.leave() }

    /// MPI's default handler aborts the job on an error, so a failure here is a broken installation.
    func check(_ code: Int32, _ what: String) {
        guard code != MPI_SUCCESS else { return }
        FileHandle.standardError.write(Data("error: rank \(rank): MPI failed to \(what) (code \(code))\n".utf8))
        leave()   // the others end with this abort: not deaths to report
        netc_mpi_abort(1)
    }
}
