// normalize.cpp: (x / 255 - mean) / std in f32, the order torchvision's ToTensor + Normalize
// use, so training (LibTorch) and inference get identical floats.
#include "folia/preprocess.h"

namespace folia {

namespace {

// lut[c][v] for the 256 possible bytes of each channel: same expression, fewer divisions.
struct channel_lut {
    float v[3][256];
    channel_lut(const float mean[3], const float std[3]) {
        for (int c = 0; c < 3; ++c) {
            for (int i = 0; i < 256; ++i) v[c][i] = (float(i) / 255.0f - mean[c]) / std[c];
        }
    }
};

}  // namespace

void normalize_nhwc(const image_u8 &img, const float mean[3], const float std[3], float *out) {
    if (img.channels != 3 || !out) return;
    const channel_lut lut(mean, std);
    const size_t n = size_t(img.width) * img.height;
    const uint8_t *p = img.data.data();
    for (size_t i = 0; i < n; ++i) {
        out[3 * i + 0] = lut.v[0][p[3 * i + 0]];
        out[3 * i + 1] = lut.v[1][p[3 * i + 1]];
        out[3 * i + 2] = lut.v[2][p[3 * i + 2]];
    }
}

void normalize_nchw(const image_u8 &img, const float mean[3], const float std[3], float *out) {
    if (img.channels != 3 || !out) return;
    const channel_lut lut(mean, std);
    const size_t n = size_t(img.width) * img.height;
    const uint8_t *p = img.data.data();
    for (int c = 0; c < 3; ++c) {
        float *o = out + size_t(c) * n;
        for (size_t i = 0; i < n; ++i) o[i] = lut.v[c][p[3 * i + c]];
    }
}

}  // namespace folia
