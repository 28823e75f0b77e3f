// fuzz-decode.cpp: encoded image bytes -> container walk + stb_image decode + EXIF orientation +
// Pillow-exact resize + normalisation (shared/src/preprocess), the path every photo takes.
// Invariants beyond "no crash": a decoded image has the size its buffer says, never more pixels
// than the limit, preprocess_image gives the same bytes as decode + resize, and the pixel limit
// refuses the same image when set one pixel below it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "folia/preprocess.h"
#include "fuzz-check.h"

namespace {

// 2 MP: big enough for every seed, small enough that a hostile header cannot make one input
// take seconds (the limit itself is part of what is fuzzed).
constexpr size_t k_max_pixels = size_t(1) << 21;

bool image_status(folia_status st) {
    return st == FOLIA_OK || st == FOLIA_ERR_IMAGE_EMPTY || st == FOLIA_ERR_IMAGE_FORMAT ||
           st == FOLIA_ERR_IMAGE_CORRUPT || st == FOLIA_ERR_IMAGE_TOO_LARGE ||
           st == FOLIA_ERR_IMAGE_UNSUPPORTED || st == FOLIA_ERR_OUT_OF_MEMORY;
}

void check_image(const folia::image_u8 &img) {
    FOLIA_FUZZ_CHECK(img.width > 0 && img.height > 0 && img.channels == 3);
    FOLIA_FUZZ_CHECK(img.data.size() == size_t(img.width) * size_t(img.height) * 3);
}

// Resizes and normalises the decoded pixels the ways training and the engine do, plus odd sizes
// and channel counts picked from the input's last bytes.
void exercise_pixels(const folia::image_u8 &img, const uint8_t *data, size_t size) {
    const int ow = 1 + data[size - 1] % 70, oh = 1 + data[size / 2] % 70;
    const folia::image_u8 r = folia::resize_bilinear_pillow(img, ow, oh);
    FOLIA_FUZZ_CHECK(r.width == ow && r.height == oh && r.data.size() == size_t(ow) * oh * 3);
    std::vector<float> x(r.data.size());
    folia::normalize_nhwc(r, folia::k_imagenet_mean, folia::k_imagenet_std, x.data());
    folia::normalize_nchw(r, folia::k_imagenet_mean, folia::k_imagenet_std, x.data());
    // The same bytes seen as 1, 2 or 4 channels (Pillow's L, LA, RGBA resize paths).
    const int c = 1 + data[0] % 4;
    folia::image_u8 other;
    other.channels = c;
    other.width = int(img.data.size() / size_t(c) / size_t(img.height));
    other.height = img.height;
    if (other.width > 0) {
        other.data.assign(img.data.begin(),
                          img.data.begin() + long(size_t(other.width) * other.height * c));
        const folia::image_u8 r2 = folia::resize_bilinear_pillow(other, oh, ow);
        FOLIA_FUZZ_CHECK(r2.data.size() == size_t(oh) * ow * size_t(c));
    }
    const int orientation = 1 + data[size - 1] % 8;
    const folia::image_u8 o = folia::apply_orientation(img, orientation);
    const bool swapped = orientation >= 5;
    FOLIA_FUZZ_CHECK(o.width == (swapped ? img.height : img.width));
    FOLIA_FUZZ_CHECK(o.height == (swapped ? img.width : img.height));
    FOLIA_FUZZ_CHECK(o.data.size() == img.data.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int orientation = folia::exif_orientation(data, size);
    FOLIA_FUZZ_CHECK(orientation >= 1 && orientation <= 8);

    folia::image_u8 img;
    const folia_status st = folia::decode_image(data, size, k_max_pixels, &img);
    FOLIA_FUZZ_CHECK(image_status(st));
    if (st != FOLIA_OK) {
        folia::image_u8 small;
        FOLIA_FUZZ_CHECK(folia::preprocess_image(data, size, k_max_pixels, 16, &small) == st);
        return 0;
    }
    check_image(img);
    const size_t pixels = size_t(img.width) * size_t(img.height);
    FOLIA_FUZZ_CHECK(pixels <= k_max_pixels);

    // preprocess_image (resizes straight from stb's buffer when upright) == decode + resize.
    folia::image_u8 pre;
    FOLIA_FUZZ_CHECK(folia::preprocess_image(data, size, k_max_pixels, 32, &pre) == FOLIA_OK);
    const folia::image_u8 ref = folia::resize_bilinear_pillow(img, 32, 32);
    FOLIA_FUZZ_CHECK(pre.data == ref.data);

    // One pixel under the image's size: refused before decoding, whatever the file holds.
    folia::image_u8 refused;
    FOLIA_FUZZ_CHECK(folia::decode_image(data, size, pixels - 1, &refused) ==
                     FOLIA_ERR_IMAGE_TOO_LARGE);
    FOLIA_FUZZ_CHECK(refused.data.empty());

    exercise_pixels(img, data, size);
    return 0;
}
