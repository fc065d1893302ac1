/// The shape of one sample's activation, batch excluded: `[C, H, W]` for feature maps, `[F]` for vectors.
/// The batch size is a property of a run, not of the network, so the IR never carries it.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }

    public static func map(_ channels: Int, _ height: Int, _ width: Int) -> Shape { Shape([channels, height, width]) }
    public static func vector(_ features: Int) -> Shape { Shape([features]) }

    public var elementCount: Int { dims.reduce(1, *) }
    public var isMap: Bool { dims.count == 3 }
    public var channels: Int { dims[0] }
    public var height: Int { dims.count == 3 ? dims[1] : 1 }
    public var width: Int { dims.count == 3 ? dims[2] : 1 }

    /// `64x24x24`, the way d2l and torchinfo print shapes.
    public var description: String { dims.map(String.init).joined(separator: "x") }
}
