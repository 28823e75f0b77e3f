// container.cpp: bounds-checked walks over JPEG markers and PNG chunks (see container.h).
#include "container.h"

#include <cstring>

namespace folia::detail {

namespace {

uint32_t be32(const uint8_t *p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
int be16(const uint8_t *p) {
    return int(p[0]) << 8 | int(p[1]);
}

struct crc_table {
    uint32_t t[256];
    constexpr crc_table() : t() {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
    }
};
constexpr crc_table k_crc;

uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) c = k_crc.t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

bool is_sof(int m) {
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// A DHT segment: tables of (class/id byte, 16 code counts, values). stb_image 2.27 trusts the
// counts and writes past its 256-entry arrays when they add up to more (found by the fuzz test
// under UBSan), so such tables are refused here, as libjpeg does ("Bogus Huffman table").
bool huffman_tables_ok(const uint8_t *seg, size_t len) {
    size_t pos = 0;
    while (pos < len) {
        if (pos + 17 > len) return false;
        const int tc = seg[pos] >> 4, th = seg[pos] & 15;
        if (tc > 1 || th > 3) return false;
        size_t n = 0;
        for (int i = 0; i < 16; ++i) n += seg[pos + 1 + i];
        if (n > 256 || pos + 17 + n > len) return false;
        pos += 17 + n;
    }
    return true;
}

}  // namespace

image_kind sniff_kind(const uint8_t *bytes, size_t size) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
        return image_kind::jpeg;
    }
    if (size >= 8 && std::memcmp(bytes, png_sig, 8) == 0) return image_kind::png;
    return image_kind::unknown;
}

container_info scan_jpeg(const uint8_t *b, size_t n) {
    container_info info;
    bool seen_exif = false, seen_sos = false;
    size_t pos = 2;  // after SOI
    while (true) {
        // A marker is 0xFF (possibly padded with more 0xFF) and a code byte. Stray bytes before
        // a marker are skipped, as libjpeg ("extraneous bytes before marker") and stb do.
        if (pos < n && b[pos] != 0xFF) {
            const void *ff = std::memchr(b + pos, 0xFF, n - pos);
            if (!ff) return info;
            pos = size_t(static_cast<const uint8_t *>(ff) - b);
        }
        if (pos >= n) return info;
        while (pos < n && b[pos] == 0xFF) ++pos;
        if (pos >= n) return info;
        const int m = b[pos++];
        if (m == 0xD9) {  // EOI
            info.complete = seen_sos && info.width > 0;
            return info;
        }
        if (m == 0xD8 || m == 0x00) return info;  // second SOI, or stuffing outside a scan
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;  // RSTn / TEM carry no length
        if (pos + 2 > n) return info;
        const size_t len = size_t(be16(b + pos));
        if (len < 2 || pos + len > n) return info;
        const uint8_t *seg = b + pos + 2;
        const size_t seg_len = len - 2;
        if (is_sof(m) && info.jpeg_sof < 0) {
            if (seg_len < 6) return info;
            info.jpeg_sof = m;
            info.jpeg_precision = seg[0];
            info.height = be16(seg + 1);
            info.width = be16(seg + 3);
            info.components = seg[5];
        } else if (m == 0xE1 && !seen_exif && seg_len >= 6 &&
                   std::memcmp(seg, "Exif\0\0", 6) == 0) {
            // Pillow keeps the first Exif block, so do we.
            seen_exif = true;
            info.orientation = tiff_orientation(seg + 6, seg_len - 6);
        } else if (m == 0xC4 && !huffman_tables_ok(seg, seg_len)) {
            info.bad_tables = true;
            return info;
        } else if (m == 0xEE && seg_len >= 12 && std::memcmp(seg, "Adobe", 5) == 0) {
            info.adobe_transform = seg[11];
        }
        pos += len;
        if (m == 0xDA) {
            // Entropy-coded data: 0xFF is stuffed as FF 00 and RSTn may appear; anything else
            // after 0xFF is the next marker.
            seen_sos = true;
            while (true) {
                const void *ff = pos < n ? std::memchr(b + pos, 0xFF, n - pos) : nullptr;
                if (!ff) return info;  // ran off the end inside a scan: truncated
                pos = size_t(static_cast<const uint8_t *>(ff) - b);
                if (pos + 1 >= n) return info;
                const int next = b[pos + 1];
                if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
                    pos += (next == 0xFF) ? 1 : 2;
                    continue;
                }
                break;
            }
        }
    }
}

container_info scan_png(const uint8_t *b, size_t n) {
    container_info info;
    bool seen_exif = false;
    size_t pos = 8;
    bool first = true;
    while (true) {
        if (pos + 8 > n) return info;
        const uint32_t len = be32(b + pos);
        if (len > 0x7FFFFFFFu || size_t(len) + 12 > n - pos) return info;
        const uint8_t *type = b + pos + 4;
        const uint8_t *data = b + pos + 8;
        if (crc32(type, size_t(len) + 4) != be32(data + len)) info.checksums_ok = false;
        if (first) {
            if (std::memcmp(type, "IHDR", 4) != 0 || len != 13) return info;
            info.width = int(be32(data) > 0x7FFFFFFFu ? 0 : be32(data));
            info.height = int(be32(data + 4) > 0x7FFFFFFFu ? 0 : be32(data + 4));
            info.png_bit_depth = data[8];
            info.png_color_type = data[9];
            first = false;
        } else if (std::memcmp(type, "IEND", 4) == 0) {
            info.complete = true;
            return info;
        } else if (std::memcmp(type, "eXIf", 4) == 0 && !seen_exif) {
            seen_exif = true;
            info.orientation = tiff_orientation(data, len);
        }
        pos += size_t(len) + 12;
    }
}

}  // namespace folia::detail
