// augment.cpp: training-time augmentation, bit-identical on every platform for a given seed.
//
// Determinism across native and wasm: randomness comes from splitmix64 (integers only), never from
// <random> distributions (their algorithms differ between standard libraries); floating point is
// restricted to +, -, *, / and comparisons, which IEEE-754 rounds identically everywhere (this file
// is compiled with -ffp-contract=off so no fused multiply-add creeps in); sin, cos and log are the
// polynomials below instead of libm's, whose last bits differ between glibc and musl/emscripten
// (sqrt is the exception: IEEE-754 requires it correctly rounded and both targets have an
// instruction for it).
//
// Order: the field transforms when enabled (random resized crop, hue/saturation in YIQ, 3x3 blur,
// cut-out: a second random stream, drawn after the first, so the lab recipe's numbers are the
// same with or without them), then horizontal flip, rotation (bilinear, edges clamped: a border
// pixel is repeated outwards, which keeps leaf colours at the edges instead of black corners a
// deployed photo never has), brightness and contrast, Gaussian noise. Every random number is
// drawn in a fixed order whether or not its transform applies, so turning one transform off
// never changes the others.
#include "folia/augment.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "folia/splitmix64.h"

namespace folia {

namespace {

constexpr float k_pi = 3.14159265358979f;

// sin and cos for |x| <= pi/2 by their Taylor series (to x^15 / x^14, error < 1e-8), Horner
// form: only + and *, so sin(0) = 0 and cos(0) = 1 exactly.
float poly_sin(float x) {
    const float x2 = x * x;
    float t = 1.0f;
    for (int k = 15; k >= 3; k -= 2) t = 1.0f - x2 / float(k * (k - 1)) * t;
    return x * t;
}
float poly_cos(float x) {
    const float x2 = x * x;
    float t = 1.0f;
    for (int k = 14; k >= 2; k -= 2) t = 1.0f - x2 / float(k * (k - 1)) * t;
    return t;
}

// Reduces to [-pi, pi], then folds into [-pi/2, pi/2] with sin(pi - x) = sin(x) and
// cos(pi - x) = -cos(x).
float reduce_pi(float x) {
    const float two_pi = 2.0f * k_pi;
    while (x > k_pi) x -= two_pi;
    while (x < -k_pi) x += two_pi;
    return x;
}
float det_sin(float x) {
    x = reduce_pi(x);
    if (x > 0.5f * k_pi) x = k_pi - x;
    if (x < -0.5f * k_pi) x = -k_pi - x;
    return poly_sin(x);
}
float det_cos(float x) {
    x = reduce_pi(x);
    if (x < 0.0f) x = -x;
    return x > 0.5f * k_pi ? -poly_cos(k_pi - x) : poly_cos(x);
}

// Natural log for x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), then
// log(m) = 2 atanh((m - 1) / (m + 1)) by its series.
float det_log(float x) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    int e = int((bits >> 23) & 0xFF) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;  // mantissa in [1, 2)
    float m;
    std::memcpy(&m, &bits, 4);
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    const float s = (m - 1.0f) / (m + 1.0f);  // |s| <= 0.172
    const float s2 = s * s;
    float t = 1.0f / 13.0f;
    for (int k = 11; k >= 1; k -= 2) t = 1.0f / float(k) + s2 * t;
    return 2.0f * s * t + float(e) * 0.693147180559945f;
}

inline uint8_t to_u8(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return uint8_t(int(v + 0.5f));
}

void flip_horizontal(image_u8 &img) {
    const int w = img.width, c = img.channels;
    for (int y = 0; y < img.height; ++y) {
        uint8_t *row = img.data.data() + size_t(y) * w * c;
        for (int a = 0, b = w - 1; a < b; ++a, --b) {
            for (int k = 0; k < c; ++k) {
                const uint8_t t = row[a * c + k];
                row[a * c + k] = row[b * c + k];
                row[b * c + k] = t;
            }
        }
    }
}

// Rotates counter-clockwise by `degrees` about the image centre (as PIL's Image.rotate and
// torchvision do), bilinear, source coordinates clamped to the image.
image_u8 rotate_bilinear(const image_u8 &img, float degrees) {
    const int w = img.width, h = img.height, c = img.channels;
    image_u8 out = img;
    const float a = degrees * (k_pi / 180.0f);
    const float cs = det_cos(a), sn = det_sin(a);
    const float cx = 0.5f * float(w - 1), cy = 0.5f * float(h - 1);
    const float max_x = float(w - 1), max_y = float(h - 1);
    const uint8_t *src = img.data.data();
    uint8_t *dst = out.data.data();
    for (int y = 0; y < h; ++y) {
        const float dy = float(y) - cy;
        for (int x = 0; x < w; ++x) {
            const float dx = float(x) - cx;
            // Inverse map of a counter-clockwise rotation (y axis points down).
            float sx = cs * dx - sn * dy + cx;
            float sy = sn * dx + cs * dy + cy;
            sx = sx < 0.0f ? 0.0f : sx > max_x ? max_x : sx;
            sy = sy < 0.0f ? 0.0f : sy > max_y ? max_y : sy;
            const int x0 = int(sx), y0 = int(sy);  // non-negative: truncation is floor
            const int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            const float fx = sx - float(x0), fy = sy - float(y0);
            const uint8_t *p00 = src + (size_t(y0) * w + x0) * c;
            const uint8_t *p01 = src + (size_t(y0) * w + x1) * c;
            const uint8_t *p10 = src + (size_t(y1) * w + x0) * c;
            const uint8_t *p11 = src + (size_t(y1) * w + x1) * c;
            uint8_t *o = dst + (size_t(y) * w + x) * c;
            for (int k = 0; k < c; ++k) {
                const float top = float(p00[k]) + (float(p01[k]) - float(p00[k])) * fx;
                const float bot = float(p10[k]) + (float(p11[k]) - float(p10[k])) * fx;
                o[k] = to_u8(top + (bot - top) * fy);
            }
        }
    }
    return out;
}

// Bilinear sample of channel k at (sx, sy), coordinates clamped to the image.
inline float sample_bilinear(const image_u8 &img, float sx, float sy, int k) {
    const int w = img.width, h = img.height, c = img.channels;
    const float max_x = float(w - 1), max_y = float(h - 1);
    sx = sx < 0.0f ? 0.0f : sx > max_x ? max_x : sx;
    sy = sy < 0.0f ? 0.0f : sy > max_y ? max_y : sy;
    const int x0 = int(sx), y0 = int(sy);
    const int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    const float fx = sx - float(x0), fy = sy - float(y0);
    const uint8_t *d = img.data.data();
    const float p00 = d[(size_t(y0) * w + x0) * c + k], p01 = d[(size_t(y0) * w + x1) * c + k];
    const float p10 = d[(size_t(y1) * w + x0) * c + k], p11 = d[(size_t(y1) * w + x1) * c + k];
    const float top = p00 + (p01 - p00) * fx, bot = p10 + (p11 - p10) * fx;
    return top + (bot - top) * fy;
}

// Random resized crop (torchvision's RandomResizedCrop without its retry loop): a window of
// `area` times the image's area and aspect `ratio`, shrunk to fit, at (ox, oy) in [0,1) of the
// free space, resampled back to the full size. ratio is w / h.
image_u8 resized_crop(const image_u8 &img, float area, float ratio, float ox, float oy) {
    const float w = float(img.width), h = float(img.height);
    // cw * ch = area * w * h and cw / ch = ratio, hence cw = sqrt(area * w * h * ratio).
    float cw = std::sqrt(area * w * h * ratio), ch = std::sqrt(area * w * h / ratio);
    if (cw > w) cw = w;
    if (ch > h) ch = h;
    const float x0 = (w - cw) * ox, y0 = (h - ch) * oy;
    const float sx = cw / w, sy = ch / h;
    image_u8 out = img;
    uint8_t *dst = out.data.data();
    const int c = img.channels;
    for (int y = 0; y < img.height; ++y) {
        // Pixel centres map to pixel centres (as Pillow's and torchvision's resizes do).
        const float src_y = y0 + (float(y) + 0.5f) * sy - 0.5f;
        for (int x = 0; x < img.width; ++x) {
            const float src_x = x0 + (float(x) + 0.5f) * sx - 0.5f;
            for (int k = 0; k < c; ++k)
                dst[(size_t(y) * img.width + x) * c + k] =
                    to_u8(sample_bilinear(img, src_x, src_y, k));
        }
    }
    return out;
}

// Hue rotation and saturation scaling in YIQ: luma stays, the chroma vector (I, Q) is rotated
// by `degrees` and scaled by `sat`. A linear map, so it is one 3x3 matrix per image.
void hue_saturation(image_u8 &img, float degrees, float sat) {
    if (img.channels < 3) return;
    const float a = degrees * (k_pi / 180.0f);
    const float cs = det_cos(a) * sat, sn = det_sin(a) * sat;
    // RGB -> YIQ (FCC 1953 coefficients) and back.
    const float m[3][3] = {
        {0.299f, 0.587f, 0.114f}, {0.596f, -0.274f, -0.322f}, {0.211f, -0.523f, 0.312f}};
    const float inv[3][3] = {
        {1.0f, 0.956f, 0.621f}, {1.0f, -0.272f, -0.647f}, {1.0f, -1.106f, 1.703f}};
    const float rot[3][3] = {{1.0f, 0.0f, 0.0f}, {0.0f, cs, -sn}, {0.0f, sn, cs}};
    float t[3][3], full[3][3];
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            t[i][j] = rot[i][0] * m[0][j] + rot[i][1] * m[1][j] + rot[i][2] * m[2][j];
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            full[i][j] = inv[i][0] * t[0][j] + inv[i][1] * t[1][j] + inv[i][2] * t[2][j];
    const int c = img.channels;
    const size_t n = size_t(img.width) * img.height;
    uint8_t *d = img.data.data();
    for (size_t i = 0; i < n; ++i) {
        const float r = d[i * c], g = d[i * c + 1], b = d[i * c + 2];
        for (int k = 0; k < 3; ++k)
            d[i * c + k] = to_u8(full[k][0] * r + full[k][1] * g + full[k][2] * b);
    }
}

// 3x3 binomial blur ([1 2 1] / 4 in each direction), edges clamped; integer arithmetic.
void blur3(image_u8 &img) {
    const int w = img.width, h = img.height, c = img.channels;
    const image_u8 src = img;
    const uint8_t *s = src.data.data();
    uint8_t *d = img.data.data();
    auto at = [&](int x, int y, int k) {
        x = x < 0 ? 0 : x >= w ? w - 1 : x;
        y = y < 0 ? 0 : y >= h ? h - 1 : y;
        return int(s[(size_t(y) * w + x) * c + k]);
    };
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) {
                const int v = at(x - 1, y - 1, k) + 2 * at(x, y - 1, k) + at(x + 1, y - 1, k) +
                              2 * at(x - 1, y, k) + 4 * at(x, y, k) + 2 * at(x + 1, y, k) +
                              at(x - 1, y + 1, k) + 2 * at(x, y + 1, k) + at(x + 1, y + 1, k);
                d[(size_t(y) * w + x) * c + k] = uint8_t((v + 8) / 16);
            }
}

// The field transforms, in order: resized crop, hue/saturation, blur, cut-out. `rng` is the
// second stream; all its numbers are drawn before any transform runs.
image_u8 field_transforms(image_u8 out, const augment_params &p, splitmix64 &rng) {
    const bool do_crop = rng.uniform() < p.crop_p;
    const float area = p.crop_min_area + (1.0f - p.crop_min_area) * rng.uniform();
    // Log-uniform aspect ratio: ratio = r^(2u-1); exp(log(r)(2u-1)) via det_log and a series.
    const float lr =
        det_log(p.crop_max_ratio > 1.0f ? p.crop_max_ratio : 1.0f) * (2.0f * rng.uniform() - 1.0f);
    const float ratio = 1.0f + lr * (1.0f + lr * (0.5f + lr * (1.0f / 6.0f + lr * (1.0f / 24.0f))));
    const float ox = rng.uniform(), oy = rng.uniform();
    const bool do_hue = rng.uniform() < p.hue_p;
    const float hue = (2.0f * rng.uniform() - 1.0f) * p.hue_degrees;
    const float sat = 1.0f + (2.0f * rng.uniform() - 1.0f) * p.saturation;
    const bool do_blur = rng.uniform() < p.blur_p;
    const bool do_cut = rng.uniform() < p.cutout_p;
    const float cut_w = (0.1f + (p.cutout_max_side - 0.1f) * rng.uniform()) * float(out.width);
    const float cut_h = (0.1f + (p.cutout_max_side - 0.1f) * rng.uniform()) * float(out.height);
    const float cut_x = rng.uniform() * float(out.width), cut_y = rng.uniform() * float(out.height);
    const uint64_t colour = rng.next();

    if (do_crop) out = resized_crop(out, area, ratio, ox, oy);
    if (do_hue) hue_saturation(out, hue, sat);
    if (do_blur) blur3(out);
    if (do_cut) {
        const int x0 = int(cut_x - 0.5f * cut_w), y0 = int(cut_y - 0.5f * cut_h);
        const int c = out.channels;
        for (int y = y0 < 0 ? 0 : y0; y < y0 + int(cut_h) && y < out.height; ++y)
            for (int x = x0 < 0 ? 0 : x0; x < x0 + int(cut_w) && x < out.width; ++x)
                for (int k = 0; k < c; ++k)
                    out.data[(size_t(y) * out.width + x) * c + k] =
                        uint8_t(colour >> (8 * (k % 8)));
    }
    return out;
}

}  // namespace

augment_params field_augment_params() {
    augment_params p;
    p.crop_p = 0.8f;
    p.hue_p = 0.5f;
    p.blur_p = 0.2f;
    p.cutout_p = 0.3f;
    p.color_p = 0.8f;
    p.brightness = 0.3f;
    p.contrast = 0.3f;
    return p;
}

namespace {

// augment_image on its working copy `out` (the input image, owned).
image_u8 augment_owned(image_u8 out, const augment_params &p, uint64_t seed) {
    if (out.width <= 0 || out.height <= 0 || out.channels < 1 ||
        out.data.size() < size_t(out.width) * out.height * out.channels) {
        return out;
    }
    splitmix64 rng{seed};
    // Fixed draw order (see the file comment).
    const bool do_flip = rng.uniform() < p.flip_p;
    const bool do_rotate = rng.uniform() < p.rotate_p;
    const float degrees = (2.0f * rng.uniform() - 1.0f) * p.max_degrees;
    const bool do_color = rng.uniform() < p.color_p;
    const float brightness = 1.0f + (2.0f * rng.uniform() - 1.0f) * p.brightness;
    const float contrast = 1.0f + (2.0f * rng.uniform() - 1.0f) * p.contrast;
    const bool do_noise = rng.uniform() < p.noise_p;
    splitmix64 noise_rng{rng.next()};
    splitmix64 field_rng{rng.next()};
    const bool field = p.crop_p > 0.0f || p.hue_p > 0.0f || p.blur_p > 0.0f || p.cutout_p > 0.0f;

    if (field) out = field_transforms(std::move(out), p, field_rng);
    if (do_flip) flip_horizontal(out);
    if (do_rotate) out = rotate_bilinear(out, degrees);
    if (!do_color && !do_noise) return out;

    const int c = out.channels;
    const size_t n = size_t(out.width) * out.height;
    float gain = 1.0f, offset = 0.0f;  // v' = v * gain + offset
    if (do_color) {
        // torchvision's order: brightness scales, then contrast blends with the mean grey level
        // of the brightened image (ITU-R 601 luma, as adjust_contrast uses). The sum is integer.
        uint64_t luma_sum = 0;
        const uint8_t *d = out.data.data();
        for (size_t i = 0; i < n; ++i) {
            luma_sum += c >= 3 ? uint64_t(299) * d[i * c] + uint64_t(587) * d[i * c + 1] +
                                     uint64_t(114) * d[i * c + 2]
                               : uint64_t(1000) * d[i * c];
        }
        const float mean = float(double(luma_sum) / (1000.0 * double(n))) * brightness;
        gain = brightness * contrast;
        offset = (1.0f - contrast) * mean;
    }
    uint8_t *d = out.data.data();
    const size_t total = n * c;
    if (!do_noise) {
        for (size_t i = 0; i < total; ++i) d[i] = to_u8(float(d[i]) * gain + offset);
        return out;
    }
    // Box-Muller: two independent normals per pair of uniforms.
    for (size_t i = 0; i < total; i += 2) {
        const float r = std::sqrt(-2.0f * det_log(noise_rng.uniform_open0())) * p.noise_std;
        const float t = 2.0f * k_pi * noise_rng.uniform();
        d[i] = to_u8(float(d[i]) * gain + offset + r * det_cos(t));
        if (i + 1 < total) d[i + 1] = to_u8(float(d[i + 1]) * gain + offset + r * det_sin(t));
    }
    return out;
}

}  // namespace

image_u8 augment_image(const image_u8 &img, const augment_params &p, uint64_t seed) {
    return augment_owned(img, p, seed);
}

image_u8 augment_image(const uint8_t *pixels, int width, int height, int channels,
                       const augment_params &p, uint64_t seed) {
    image_u8 img;
    img.width = width;
    img.height = height;
    img.channels = channels;
    if (pixels && width > 0 && height > 0 && channels > 0)
        img.data.assign(pixels, pixels + size_t(width) * height * channels);
    return augment_owned(std::move(img), p, seed);
}

}  // namespace folia
