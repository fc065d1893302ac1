import CImageCodecs

/// A PNG or JPEG file decoded to 8-bit pixels (libpng, libjpeg-turbo).
public struct ImageFile: Sendable, Equatable {
    /// `[C][H][W]`, channel planes as the network takes them.
    public let pixels: [UInt8]
    public let channels: Int, height: Int, width: Int
    /// Whether the file holds colour (a colour image decoded to one channel loses it).
    public let isColour: Bool

    /// Decodes the file at `path` to `channels` (1: gray, 3: RGB) channels.
    public init(path: String, channels: Int) throws {
        try self.init(bytes: BinaryFile.read(path), channels: channels, source: path)
    }

    /// Decodes a file's bytes; `source` names it in errors.
    public init(bytes: [UInt8], channels: Int, source: String) throws {
        precondition(channels == 1 || channels == 3, "images decode to 1 or 3 channels")
        var raw: UnsafeMutablePointer<UInt8>?
        var (w, h, colour): (Int32, Int32, Int32) = (0, 0, 0)
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer {
            netc_decode_image($0.baseAddress, $0.count, Int32(channels), &raw, &w, &h, &colour, &message, message.count)
        }
        guard status == 0, let raw else {
            throw DataFileError(source: source, message: "cannot decode the image: " + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { netc_free_image(raw) }
        (self.channels, height, width, isColour) = (channels, Int(h), Int(w), colour != 0)
        // Interleaved (RGBRGB...) to planes.
        let plane = height * width
        var planes = [UInt8](repeating: 0, count: channels * plane)
        for k in 0..<plane { for c in 0..<channels { planes[c * plane + k] = raw[k * channels + c] } }
        pixels = planes
    }
}
