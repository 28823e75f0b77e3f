// Normalisation: (x / 255 - mean) / std per channel, NHWC and NCHW holding the same numbers.
#include <catch2/catch.hpp>
#include <cmath>

#include "folia/preprocess.h"

TEST_CASE("normalize_nhwc and normalize_nchw compute (x / 255 - mean) / std in both layouts",
          "[preprocess][normalize]") {
    folia::image_u8 img;
    img.width = 5, img.height = 4, img.channels = 3;
    for (int i = 0; i < 5 * 4 * 3; ++i) img.data.push_back(uint8_t((i * 37 + 11) % 256));
    img.data[0] = 0, img.data[1] = 255;  // the extremes
    std::vector<float> nhwc(60), nchw(60);
    folia::normalize_nhwc(img, folia::k_imagenet_mean, folia::k_imagenet_std, nhwc.data());
    folia::normalize_nchw(img, folia::k_imagenet_mean, folia::k_imagenet_std, nchw.data());
    const double mean[3] = {0.485, 0.456, 0.406}, std_[3] = {0.229, 0.224, 0.225};
    for (int p = 0; p < 20; ++p) {
        for (int c = 0; c < 3; ++c) {
            const double expect = (img.data[p * 3 + c] / 255.0 - mean[c]) / std_[c];
            // f32 arithmetic against a double reference: a few ulp of values up to ~2.6.
            CHECK(std::fabs(nhwc[p * 3 + c] - expect) < 1e-6);
            CHECK(nchw[c * 20 + p] == nhwc[p * 3 + c]);  // same bits in both layouts
        }
    }
    CHECK(std::fabs(nhwc[0] - (0.0 - 0.485) / 0.229) < 1e-6);
    CHECK(std::fabs(nhwc[1] - (1.0 - 0.456) / 0.224) < 1e-6);
}
