#!/usr/bin/python3
"""Writes the reference files the preprocessing tests compare against, computed by Pillow.

Run with Debian's /usr/bin/python3 (python3-pil, python3-numpy). The build runs it once
(tests/preprocess.cmake) into <build>/preprocess-ref; the Catch2 tests (native, and wasm under
node with the same paths mounted) only read files, so no test needs Python at run time.

Resize parity is checked on losslessly stored input: every input image is written as an 8-bit PNG
(which stb_image decodes bit-exactly) next to the bytes Pillow's
Image.resize((w, h), Image.BILINEAR) gives for the same pixels. Dataset JPEGs are decoded by
Pillow only to obtain real photo content; the test never compares JPEG decoders for exactness.

manifest.tsv, one case per line, tab separated:
  kind  name  input  expected  out_w  out_h  extra
paths are relative to the output folder. Kinds:
  resize_data / resize_synth  input PNG (RGB); expected = resize output, (out_h, out_w, 3) u8
  resize_raw    input = raw (h, w, c) u8 with extra "w,h,c"; expected = core resize of it
                (Pillow's C ImagingResample, without Image.resize's RGBA premultiplication)
  convert       input PNG of another mode; expected = Image.open().convert("RGB") pixels,
                extra "w,h"
  orient_map    input JPEG with a spliced EXIF orientation; expected = int32 LE source index
                per output pixel from ImageOps.exif_transpose; extra "orientation,w,h,base"
  orient_pillow input JPEG saved by Pillow with exif=; expected = Pillow's decode +
                exif_transpose (libjpeg: compare with a tolerance); extra "orientation,w,h"
  lossy         input JPEG; expected = Pillow's decode .convert("RGB"); extra "w,h,what"
  file          a file the status tests use; extra = what it is
A line "data_dir<TAB>PATH<TAB>count" says which $FOLIA_DATA the data cases came from (PATH empty
when it was not set).
"""

import argparse
import io
import os
import struct
import sys
import tempfile

import numpy as np
import PIL
from PIL import Image, ImageFile, ImageOps

# Progressive JPEGs of noisy images outgrow the default encoder buffer ("Suspension not allowed").
ImageFile.MAXBLOCK = 1 << 24

PER_CLASS = 9
OUT = 128


def atomic_write(path, data):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def png_bytes(im):
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def synthetic(w, h, seed):
    """Gradients, hard-edged blocks and noise: every filter tap sees varied values."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3), np.float64)
    img[..., 0] = 255.0 * x / max(w - 1, 1)
    img[..., 1] = 255.0 * y / max(h - 1, 1)
    img[..., 2] = 127.5 + 127.5 * np.sin(x / 7.0 + y / 13.0)
    blocks = ((x // 37 + y // 23) % 2) * 60.0 - 30.0
    img += blocks[..., None]
    img += rng.randint(-40, 41, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def select_dataset(data_dir):
    """PER_CLASS files per class folder, evenly spaced in sorted order (deterministic)."""
    picked = []
    for cls in sorted(os.listdir(data_dir)):
        folder = os.path.join(data_dir, cls)
        if not os.path.isdir(folder):
            continue
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".jpeg", ".png")))
        n = len(files)
        idx = sorted({i * n // PER_CLASS for i in range(PER_CLASS)} if n >= PER_CLASS else range(n))
        picked += [os.path.join(cls, files[i]) for i in idx]
    return picked


def exif_app1_payload(orientation, little_endian):
    """'Exif\\0\\0' + a TIFF block whose IFD0 holds the orientation tag (and one more tag before
    it, so the parser has to walk the entries)."""
    e = "<" if little_endian else ">"
    head = (b"II" if little_endian else b"MM") + struct.pack(e + "HI", 42, 8)
    entries = [
        struct.pack(e + "HHI", 0x010F, 2, 4) + b"Fol\0",  # Make, ASCII, inline
        struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0",
    ]
    ifd = struct.pack(e + "H", len(entries)) + b"".join(entries) + struct.pack(e + "I", 0)
    return b"Exif\0\0" + head + ifd


def splice_app1(jpeg, payload):
    """Inserts an APP1 segment after SOI and the JFIF APP0, leaving the scan bytes untouched."""
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack(">H", jpeg[4:6])[0]
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:pos] + seg + jpeg[pos:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (under the build tree)")
    ap.add_argument("--data", default=os.environ.get("FOLIA_DATA", ""),
                    help="PlantVillage folder (default $FOLIA_DATA); empty: synthetic cases only")
    args = ap.parse_args()

    out = os.path.abspath(args.out)
    for sub in ("data", "synth", "decode"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    lines = []

    def case(kind, name, inp, exp, w, h, extra=""):
        lines.append("\t".join([kind, name, inp, exp, str(w), str(h), extra]))

    # --- dataset images -----------------------------------------------------------------
    data_dir = os.path.abspath(args.data) if args.data else ""
    picked = select_dataset(data_dir) if data_dir and os.path.isdir(data_dir) else []
    for i, rel in enumerate(picked):
        rgb = Image.open(os.path.join(data_dir, rel)).convert("RGB")
        stem = f"data/{i:04d}"
        atomic_write(os.path.join(out, stem + ".png"), png_bytes(rgb))
        ref = rgb.resize((OUT, OUT), Image.BILINEAR)
        atomic_write(os.path.join(out, stem + ".expected.rgb"), ref.tobytes())
        case("resize_data", rel, stem + ".png", stem + ".expected.rgb", OUT, OUT)

    # --- synthetic resize cases ----------------------------------------------------------
    synth = [
        ("12mp-landscape", 4032, 3024, OUT, OUT),
        ("12mp-portrait", 3000, 4000, OUT, OUT),
        ("300x200", 300, 200, OUT, OUT),
        ("127x129", 127, 129, OUT, OUT),
        ("1x1", 1, 1, OUT, OUT),
        ("upscale-64", 64, 64, OUT, OUT),
        ("upscale-100x50", 100, 50, OUT, OUT),
        ("non-square-out", 257, 255, 64, 48),
        ("width-only", 300, 128, OUT, OUT),
        ("height-only", 128, 300, OUT, OUT),
        ("same-size", 128, 128, OUT, OUT),
    ]
    for seed, (name, w, h, ow, oh) in enumerate(synth):
        im = Image.fromarray(synthetic(w, h, seed + 1), "RGB")
        stem = f"synth/{name}"
        atomic_write(os.path.join(out, stem + ".png"), png_bytes(im))
        atomic_write(os.path.join(out, stem + ".expected.rgb"),
                     im.resize((ow, oh), Image.BILINEAR).tobytes())
        case("resize_synth", name, stem + ".png", stem + ".expected.rgb", ow, oh)

    # 1- and 4-channel paths of the core resampler (Pillow's image8 and 4-band loops).
    for name, mode, c, w, h in [("gray-500x333", "L", 1, 500, 333), ("rgba-333x500", "RGBA", 4, 333, 500)]:
        arr = synthetic(w, h, 99 + c)
        if c == 1:
            arr = arr[..., 0].copy()
        else:
            arr = np.concatenate([arr, arr[..., :1][:, ::-1]], axis=2).copy()
        im = Image.fromarray(arr, mode)
        ref = im._new(im.im.resize((OUT, OUT), Image.BILINEAR, (0, 0, w, h)))
        stem = f"synth/{name}"
        atomic_write(os.path.join(out, stem + ".raw"), arr.tobytes())
        atomic_write(os.path.join(out, stem + ".expected.raw"), ref.tobytes())
        case("resize_raw", name, stem + ".raw", stem + ".expected.raw", OUT, OUT, f"{w},{h},{c}")

    # --- PNG modes -> RGB, as convert("RGB") does ---------------------------------------
    base = synthetic(61, 47, 7)
    rgba = np.concatenate([base, base[..., 1:2]], axis=2)
    gray = base[..., 0]
    variants = {
        "gray": Image.fromarray(gray, "L"),
        "gray-alpha": Image.fromarray(np.stack([gray, base[..., 2]], axis=2), "LA"),
        "rgba": Image.fromarray(rgba, "RGBA"),
        "palette": Image.fromarray(base, "RGB").quantize(64),
        "bilevel": Image.fromarray(gray, "L").convert("1"),
    }
    pal_t = Image.fromarray(base, "RGB").quantize(32)
    pal_t.info["transparency"] = 3
    variants["palette-transparency"] = pal_t
    for name, im in variants.items():
        stem = f"decode/{name}"
        kw = {"transparency": 3} if name == "palette-transparency" else {}
        buf = io.BytesIO()
        im.save(buf, "PNG", **kw)
        atomic_write(os.path.join(out, stem + ".png"), buf.getvalue())
        ref = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        atomic_write(os.path.join(out, stem + ".expected.rgb"), ref.tobytes())
        case("convert", name, stem + ".png", stem + ".expected.rgb", *ref.size, f"{ref.size[0]},{ref.size[1]}")
    # 16-bit RGB PNG: Pillow reads it as "RGB" keeping the high byte of each sample.
    arr16 = (synthetic(33, 21, 8).astype(np.uint16) * 257 + np.random.RandomState(3).randint(0, 256, (21, 33, 3))).astype(">u2")
    raw16 = _png_raw(33, 21, 16, 2, arr16.tobytes())
    atomic_write(os.path.join(out, "decode/rgb16.png"), raw16)
    ref = Image.open(io.BytesIO(raw16)).convert("RGB")
    atomic_write(os.path.join(out, "decode/rgb16.expected.rgb"), ref.tobytes())
    case("convert", "rgb16", "decode/rgb16.png", "decode/rgb16.expected.rgb", 33, 21, "33,21")
    # 16-bit grey (Pillow's I;16): refused, see decode.cpp.
    g16 = (np.arange(21 * 33, dtype=np.uint32).reshape(21, 33) * 97 % 65536).astype(">u2")
    atomic_write(os.path.join(out, "decode/gray16.png"), _png_raw(33, 21, 16, 0, g16.tobytes()))
    case("file", "gray16", "decode/gray16.png", "", 33, 21, "16-bit grayscale PNG")

    # --- EXIF orientation ---------------------------------------------------------------
    # One JPEG without EXIF; each oriented file is that file plus a spliced APP1, so stb decodes
    # identical pixels and the only difference is geometry.
    ow_, oh_ = 40, 24  # not square: transpose and transverse differ from rotations
    photo = Image.fromarray(synthetic(ow_, oh_, 11), "RGB")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)
    base_jpeg = buf.getvalue()
    atomic_write(os.path.join(out, "decode/orient-base.jpg"), base_jpeg)
    idx = Image.fromarray(np.arange(ow_ * oh_, dtype=np.int32).reshape(oh_, ow_), "I")
    for orientation in range(1, 9):
        for le in (True, False):
            payload = exif_app1_payload(orientation, le)
            name = f"orient-{orientation}-{'le' if le else 'be'}"
            jpeg = splice_app1(base_jpeg, payload)
            atomic_write(os.path.join(out, f"decode/{name}.jpg"), jpeg)
            m = idx.copy()
            m.info["exif"] = payload
            mt = ImageOps.exif_transpose(m)
            atomic_write(os.path.join(out, f"decode/{name}.map"),
                         np.asarray(mt, dtype="<i4").tobytes())
            case("orient_map", name, f"decode/{name}.jpg", f"decode/{name}.map", mt.size[0],
                 mt.size[1], f"{orientation},{ow_},{oh_},decode/orient-base.jpg")
            # Pillow's own reading of the same file: proves Pillow sees the tag we wrote.
            pt = ImageOps.exif_transpose(Image.open(io.BytesIO(jpeg))).convert("RGB")
            atomic_write(os.path.join(out, f"decode/{name}.pillow.rgb"), pt.tobytes())
            case("orient_pillow", name, f"decode/{name}.jpg", f"decode/{name}.pillow.rgb",
                 pt.size[0], pt.size[1], f"{orientation},{ow_},{oh_}")
    # Pillow writing the EXIF itself (exif=), as a camera app would, on a larger photo.
    big = Image.fromarray(synthetic(320, 200, 12), "RGB")
    for orientation in (3, 6, 8):
        ex = Image.Exif()
        ex[0x0112] = orientation
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=90, exif=ex.tobytes())
        name = f"pillow-exif-{orientation}"
        atomic_write(os.path.join(out, f"decode/{name}.jpg"), buf.getvalue())
        pt = ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGB")
        atomic_write(os.path.join(out, f"decode/{name}.pillow.rgb"), pt.tobytes())
        case("orient_pillow", name, f"decode/{name}.jpg", f"decode/{name}.pillow.rgb",
             pt.size[0], pt.size[1], f"{orientation},320,200")

    # --- lossy decodes compared with libjpeg with a tolerance ---------------------------
    lossy_src = Image.fromarray(synthetic(330, 250, 13), "RGB")
    lossy = {
        "jpeg-baseline-444": dict(quality=92, subsampling=0),
        "jpeg-baseline-420": dict(quality=92, subsampling=2),
        "jpeg-progressive-420": dict(quality=92, subsampling=2, progressive=True),
        "jpeg-progressive-444": dict(quality=92, subsampling=0, progressive=True),
    }
    for name, kw in lossy.items():
        buf = io.BytesIO()
        lossy_src.save(buf, "JPEG", **kw)
        _lossy_case(out, case, name, buf.getvalue())
    buf = io.BytesIO()
    lossy_src.convert("L").save(buf, "JPEG", quality=92)
    _lossy_case(out, case, "jpeg-gray", buf.getvalue())
    buf = io.BytesIO()
    lossy_src.convert("CMYK").save(buf, "JPEG", quality=92)
    _lossy_case(out, case, "jpeg-cmyk-adobe", buf.getvalue())
    if data_dir and picked:
        # A real photo re-saved as progressive (the dataset is all baseline).
        buf = io.BytesIO()
        Image.open(os.path.join(data_dir, picked[0])).save(buf, "JPEG", quality=90, progressive=True)
        _lossy_case(out, case, "jpeg-plantvillage-progressive", buf.getvalue())

    atomic_write(os.path.join(out, "manifest.tsv"), (
        "\n".join([f"data_dir\t{data_dir}\t{len(picked)}", f"pillow\t{PIL.__version__}"] + lines)
        + "\n").encode())
    print(f"pillow-resize-ref: {len(picked)} dataset images, {len(lines)} cases in {out}")


def _lossy_case(out, case, name, jpeg):
    stem = f"decode/{name}"
    atomic_write(os.path.join(out, stem + ".jpg"), jpeg)
    ref = Image.open(io.BytesIO(jpeg)).convert("RGB")
    atomic_write(os.path.join(out, stem + ".expected.rgb"), ref.tobytes())
    case("lossy", name, stem + ".jpg", stem + ".expected.rgb", ref.size[0], ref.size[1],
         f"{ref.size[0]},{ref.size[1]},{name}")


def _png_raw(w, h, depth, color_type, raw):
    """A minimal PNG writer for the modes Pillow does not save (16-bit RGB, 16-bit grey)."""
    import zlib
    samples = {0: 1, 2: 3, 6: 4}[color_type]
    row = w * samples * depth // 8
    filtered = b"".join(b"\0" + raw[y * row:(y + 1) * row] for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(filtered)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    sys.exit(main())
