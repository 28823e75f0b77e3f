// exif.cpp: EXIF orientation (TIFF IFD0 tag 0x0112) and the eight transposes of
// PIL.ImageOps.exif_transpose.
#include <cstddef>
#include <cstring>

#include "container.h"
#include "folia/preprocess.h"

namespace folia {

namespace detail {

int tiff_orientation(const uint8_t *t, size_t n) {
    if (n < 8) return 1;
    bool le;
    if (t[0] == 'I' && t[1] == 'I' && t[2] == 42 && t[3] == 0) {
        le = true;
    } else if (t[0] == 'M' && t[1] == 'M' && t[2] == 0 && t[3] == 42) {
        le = false;
    } else {
        return 1;
    }
    auto u16 = [&](size_t o) -> uint32_t {
        return le ? uint32_t(t[o]) | uint32_t(t[o + 1]) << 8 : uint32_t(t[o]) << 8 | t[o + 1];
    };
    auto u32 = [&](size_t o) -> uint32_t {
        return le ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2);
    };
    const size_t ifd = u32(4);
    if (ifd < 8 || ifd > n - 2) return 1;
    const size_t count = u16(ifd);
    for (size_t i = 0; i < count; ++i) {
        const size_t e = ifd + 2 + 12 * i;
        if (e + 12 > n) return 1;
        if (u16(e) != 0x0112) continue;
        const uint32_t type = u16(e + 2), cnt = u32(e + 4);
        if (cnt < 1) return 1;
        uint32_t v;
        if (type == 3) {  // SHORT, stored in the first two bytes of the value field
            v = u16(e + 8);
        } else if (type == 4 || type == 9) {  // LONG / SLONG written by odd tools
            v = u32(e + 8);
        } else {
            return 1;
        }
        return (v >= 1 && v <= 8) ? int(v) : 1;
    }
    return 1;
}

}  // namespace detail

int exif_orientation(const uint8_t *bytes, size_t size) {
    if (!bytes) return 1;
    switch (detail::sniff_kind(bytes, size)) {
        case detail::image_kind::jpeg:
            return detail::scan_jpeg(bytes, size).orientation;
        case detail::image_kind::png:
            return detail::scan_png(bytes, size).orientation;
        default:
            return 1;
    }
}

image_u8 apply_orientation(const image_u8 &img, int orientation) {
    if (orientation < 2 || orientation > 8 || img.data.empty() ||
        img.data.size() < size_t(img.width) * img.height * img.channels) {
        return img;
    }
    image_u8 out;
    detail::orient_into(img.data.data(), img.width, img.height, img.channels, orientation, &out);
    return out;
}

namespace detail {

void orient_into(const uint8_t *base, int w, int h, int c, int orientation, image_u8 *out_img) {
    const bool swap = orientation >= 5;  // transpose, rotate 270, transverse, rotate 90
    image_u8 &out = *out_img;
    out.width = swap ? h : w;
    out.height = swap ? w : h;
    out.channels = c;
    out.data.resize(size_t(w) * h * c);
    // Source position of output (0, 0) and how it moves per output step in x and in y, as
    // PIL's Image.transpose maps them.
    int ox, oy, xdx, xdy, ydx, ydy;
    switch (orientation) {
        case 2:
            ox = w - 1, oy = 0, xdx = -1, xdy = 0, ydx = 0, ydy = 1;
            break;  // FLIP_LEFT_RIGHT
        case 3:
            ox = w - 1, oy = h - 1, xdx = -1, xdy = 0, ydx = 0, ydy = -1;
            break;  // ROTATE_180
        case 4:
            ox = 0, oy = h - 1, xdx = 1, xdy = 0, ydx = 0, ydy = -1;
            break;  // FLIP_TOP_BOTTOM
        case 5:
            ox = 0, oy = 0, xdx = 0, xdy = 1, ydx = 1, ydy = 0;
            break;  // TRANSPOSE
        case 6:
            ox = 0, oy = h - 1, xdx = 0, xdy = -1, ydx = 1, ydy = 0;
            break;  // ROTATE_270 (cw)
        case 7:
            ox = w - 1, oy = h - 1, xdx = 0, xdy = -1, ydx = -1, ydy = 0;
            break;  // TRANSVERSE
        default:
            ox = w - 1, oy = 0, xdx = 0, xdy = 1, ydx = -1, ydy = 0;
            break;  // 8: ROTATE_90 (ccw)
    }
    const ptrdiff_t step_x = (ptrdiff_t(xdx) + ptrdiff_t(xdy) * w) * c;
    const ptrdiff_t step_y = (ptrdiff_t(ydx) + ptrdiff_t(ydy) * w) * c;
    // Square tiles: a rotation reads the source down columns, which for a 12 MP photo misses
    // the cache on every pixel when done row by row. Offsets rather than pointers: stepping a
    // pointer past the buffer is undefined.
    const int tile_w = swap ? 64 : out.width, tile_h = swap ? 64 : out.height;
    const ptrdiff_t origin = (ptrdiff_t(oy) * w + ox) * c;
    for (int ty = 0; ty < out.height; ty += tile_h) {
        const int ty_end = ty + tile_h < out.height ? ty + tile_h : out.height;
        for (int tx = 0; tx < out.width; tx += tile_w) {
            const int tx_end = tx + tile_w < out.width ? tx + tile_w : out.width;
            for (int y = ty; y < ty_end; ++y) {
                ptrdiff_t off = origin + y * step_y + tx * step_x;
                uint8_t *dst = out.data.data() + (size_t(y) * out.width + tx) * c;
                if (c == 3) {
                    for (int x = tx; x < tx_end; ++x, off += step_x, dst += 3) {
                        dst[0] = base[off], dst[1] = base[off + 1], dst[2] = base[off + 2];
                    }
                } else {
                    for (int x = tx; x < tx_end; ++x, off += step_x, dst += c) {
                        std::memcpy(dst, base + off, c);
                    }
                }
            }
        }
    }
}

}  // namespace detail

}  // namespace folia
