// preprocess.h: decode + orientation + Pillow-exact resize + normalisation.
// Training (LibTorch), the native CLI and the wasm engine all link this one library, so every
// target sees byte-identical 128x128 inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "folia.h"

namespace folia {

// Interleaved 8-bit image: data is (height, width, channels) u8, rows packed.
struct image_u8 {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<uint8_t> data;
};

// ImageNet constants (torchvision Normalize), as the model was trained with.
inline constexpr float k_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
inline constexpr float k_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

// Decodes JPEG (baseline + progressive) or PNG bytes with stb_image into RGB (gray and alpha are
// converted as Pillow's convert("RGB") does) and applies the EXIF orientation. Reads the header
// first and refuses images over max_pixels before allocating.
folia_status decode_image(const uint8_t *bytes, size_t size, size_t max_pixels, image_u8 *out);

// EXIF orientation tag (1..8) of a JPEG, 1 when absent or unreadable.
int exif_orientation(const uint8_t *bytes, size_t size);
// Rotates/flips so the result is upright, as PIL.ImageOps.exif_transpose does.
image_u8 apply_orientation(const image_u8 &img, int orientation);

// Byte-exact port of Pillow's Image.resize((out_w, out_h), Image.BILINEAR): antialiased
// (support scaled by the reduction factor), horizontal then vertical pass, 8-bit intermediate,
// Pillow's fixed-point coefficients and rounding. Any channel count.
image_u8 resize_bilinear_pillow(const image_u8 &src, int out_w, int out_h);

// out is (H, W, 3) f32: (x / 255 - mean) / std.
void normalize_nhwc(const image_u8 &img, const float mean[3], const float std[3], float *out);
// out is (3, H, W) f32, the layout LibTorch trains on.
void normalize_nchw(const image_u8 &img, const float mean[3], const float std[3], float *out);

// decode_image + resize to size x size: the uint8 tensor `folia preprocess` writes.
folia_status preprocess_image(const uint8_t *bytes, size_t size, size_t max_pixels, int out_size,
                              image_u8 *out);

}  // namespace folia
