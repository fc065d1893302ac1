/// A sliding window: size, stride and zero padding, each per axis (height, width).
public struct Window: Hashable, Sendable {
    public var sizeH, sizeW, strideH, strideW, padH, padW: Int

    public init(size: Int, stride: Int = 1, pad: Int = 0) {
        self.init(sizeH: size, sizeW: size, strideH: stride, strideW: stride, padH: pad, padW: pad)
    }

    public init(sizeH: Int, sizeW: Int, strideH: Int, strideW: Int, padH: Int, padW: Int) {
        self.sizeH = sizeH; self.sizeW = sizeW
        self.strideH = strideH; self.strideW = strideW
        self.padH = padH; self.padW = padW
    }

    /// Height and width of the window, its stride and its padding.
    public var sizes: [Int] { [sizeH, sizeW] }
    public var strides: [Int] { [strideH, strideW] }
    public var pads: [Int] { [padH, padW] }

    /// Output extent along one axis, as PyTorch computes it (floor mode).
    public static func extent(_ input: Int, size: Int, stride: Int, pad: Int) -> Int {
        let span = input + 2 * pad - size
        // A window larger than the padded input fits nowhere (Swift's `/` would round -2/3 up to 0).
        return span < 0 ? 0 : span / stride + 1
    }

    public func outputSize(height: Int, width: Int) -> (h: Int, w: Int) {
        (Self.extent(height, size: sizeH, stride: strideH, pad: padH),
         Self.extent(width, size: sizeW, stride: strideW, pad: padW))
    }

    /// `3x3/2` or `7x7/2 pad 3`, for messages and summaries.
    public var description: String {
        let size = sizeH == sizeW ? "\(sizeH)x\(sizeH)" : "\(sizeH)x\(sizeW)"
        let stride = strideH == strideW ? (strideH == 1 ? "" : "/\(strideH)") : "/(\(strideH),\(strideW))"
        return size + stride
    }
}
