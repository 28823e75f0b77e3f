#!/usr/bin/python3
"""Seed images for the fuzz targets, made at run time (synthetic pixels only): small JPEG/PNG
files of every kind the decoder meets or refuses.

    /usr/bin/python3 fuzz/make-seeds.py OUT_DIR     # writes OUT_DIR/*.jpg, *.png
"""
import io
import struct
import sys
import zlib
from pathlib import Path

from PIL import Image


def pattern(mode, w, h):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 13) % 256, (y * 7 + x) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    return img if mode == "RGB" else img.convert(mode)


def png_raw(w, h, bit_depth, color_type, channels, interlace=0):
    """A PNG written by hand: 16-bit RGB/RGBA (which Pillow cannot write) and odd headers."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bpp = channels * bit_depth // 8
    rows = b"".join(b"\0" + bytes((x * 31 + y * 17 + i) % 256 for x in range(w) for i in range(bpp))
                    for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    seeds = {}
    rgb = pattern("RGB", 40, 24)
    seeds["baseline.jpg"] = save(rgb, "JPEG", quality=85)
    seeds["progressive.jpg"] = save(rgb, "JPEG", quality=85, progressive=True)
    seeds["444.jpg"] = save(rgb, "JPEG", quality=90, subsampling=0)
    seeds["422.jpg"] = save(rgb, "JPEG", quality=90, subsampling=1)
    seeds["odd-size.jpg"] = save(pattern("RGB", 17, 9), "JPEG", quality=75)
    seeds["gray.jpg"] = save(pattern("L", 33, 20), "JPEG", quality=80)
    seeds["cmyk.jpg"] = save(pattern("CMYK", 24, 16), "JPEG", quality=80)  # Adobe APP14
    seeds["optimized.jpg"] = save(rgb, "JPEG", quality=60, optimize=True)
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        seeds[f"exif-{o}.jpg"] = save(pattern("RGB", 20, 12), "JPEG", quality=70, exif=exif.tobytes())
    exif = Image.Exif()
    exif[0x0112] = 6
    seeds["exif-6.png"] = save(pattern("RGB", 12, 8), "PNG", exif=exif.tobytes())
    seeds["rgb.png"] = save(rgb, "PNG")
    seeds["rgba.png"] = save(pattern("RGBA", 21, 13), "PNG")
    seeds["gray.png"] = save(pattern("L", 19, 11), "PNG")
    seeds["la.png"] = save(pattern("LA", 15, 9), "PNG")
    seeds["palette.png"] = save(pattern("P", 23, 14), "PNG")
    seeds["bilevel.png"] = save(pattern("1", 29, 7), "PNG")
    g16 = Image.new("I;16", (16, 10))
    g16.putdata([x * 3000 + y for y in range(10) for x in range(16)])
    seeds["gray16.png"] = save(g16, "PNG")  # refused: Pillow clips I;16, stb takes the high byte
    seeds["rgb16.png"] = png_raw(14, 9, 16, 2, 3)
    seeds["rgba16.png"] = png_raw(10, 6, 16, 6, 4)
    seeds["interlaced.png"] = png_raw(9, 9, 8, 2, 3, interlace=1)  # IDAT not Adam7: corrupt
    # Truncated and damaged copies: the refusals are paths too.
    for name in ("baseline.jpg", "progressive.jpg", "rgb.png"):
        b = seeds[name]
        seeds["truncated-" + name] = b[: len(b) * 2 // 3]
    bad_crc = bytearray(seeds["gray.png"])
    bad_crc[40] ^= 0x55
    seeds["bad-crc.png"] = bytes(bad_crc)
    for name, data in seeds.items():
        (out / name).write_bytes(data)
    print(f"make-seeds: {len(seeds)} images in {out}")


if __name__ == "__main__":
    main()
