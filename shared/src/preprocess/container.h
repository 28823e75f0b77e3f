// container.h: structural checks of JPEG and PNG files, shared by decode.cpp and exif.cpp.
// stb_image is lenient: it fills a truncated JPEG with grey and never checks PNG CRCs, so the
// container is walked here first; that walk also yields the EXIF orientation and CMYK markers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "folia/preprocess.h"

namespace folia::detail {

enum class image_kind { unknown, jpeg, png };

image_kind sniff_kind(const uint8_t *bytes, size_t size);

struct container_info {
    bool complete = false;     // every segment/chunk fits and the end marker (EOI / IEND) is there
    bool checksums_ok = true;  // PNG chunk CRCs
    bool bad_tables = false;   // JPEG: a malformed Huffman table (DHT)
    int width = 0;
    int height = 0;
    int components = 0;        // JPEG: frame components; PNG: 0
    int jpeg_sof = -1;         // JPEG: SOFn marker byte (0xC0 baseline, 0xC2 progressive, ...)
    int jpeg_precision = 0;    // JPEG: sample precision in bits
    int adobe_transform = -1;  // JPEG: Adobe APP14 colour transform, -1 without the marker
    int png_bit_depth = 0;
    int png_color_type = -1;
    int orientation = 1;  // EXIF orientation of the first Exif block, 1 when absent/invalid
};

// Walks the whole file with bounds checks; never reads outside [bytes, bytes + size).
container_info scan_jpeg(const uint8_t *bytes, size_t size);
container_info scan_png(const uint8_t *bytes, size_t size);

// Orientation tag (0x0112) of a TIFF-structured EXIF block (starting at "II*\0" or "MM\0*"),
// 1 when absent or unreadable.
int tiff_orientation(const uint8_t *tiff, size_t size);

// Writes the (h, w, c) u8 pixels at src, transposed for EXIF orientation 1..8 as
// PIL.ImageOps.exif_transpose does, into *out (which must not alias src).
void orient_into(const uint8_t *src, int w, int h, int c, int orientation, image_u8 *out);

// resize_bilinear_pillow on (h, w, c) u8 pixels not held in an image_u8 (stb's buffer).
image_u8 resize_pixels(const uint8_t *src, int w, int h, int c, int out_w, int out_h);

// Largest single allocation stb_image asked for on this thread since the last reset: lets a test
// prove that an oversized header is refused before any pixel buffer exists.
size_t stb_largest_request();
void stb_reset_stats();

}  // namespace folia::detail
