"""Writes an IDX dataset (Fashion-MNIST by default) as an image folder: OUT/train/<label>/<index>.png
and OUT/test/<label>/<index>.png, 8-bit grayscale PNGs, with nothing but the standard library.

netc reads the folder as torchvision's ImageFolder does (classes are the sorted folder names), so
training on it and on the IDX files should reach the same accuracy.
Usage: python3 scripts/export_image_folder.py OUT [IDX_DIR]   (IDX_DIR: /usr/share/datasets/fashion-mnist)
"""
import gzip
import os
import struct
import sys
import zlib


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{directory} has no {name}[.gz]")


def png(width, height, pixels):
    """An 8-bit grayscale PNG: signature, IHDR, one IDAT (each row after filter byte 0), IEND."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def main():
    out = sys.argv[1]
    source = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    for split, prefix in (("train", "train"), ("test", "t10k")):
        (count, height, width), pixels = read_idx(find(source, f"{prefix}-images-idx3-ubyte"))
        _, labels = read_idx(find(source, f"{prefix}-labels-idx1-ubyte"))
        size = height * width
        for i in range(count):
            folder = os.path.join(out, split, str(labels[i]))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{i:05d}.png"), "wb") as f:
                f.write(png(width, height, pixels[i * size:(i + 1) * size]))
        print(f"{split}: {count} images of {height}x{width} in {os.path.join(out, split)}")


if __name__ == "__main__":
    main()
