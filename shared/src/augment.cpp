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
// Order: horizontal flip, rotation (bilinear, edges clamped: a border pixel is repeated outwards,
// which keeps leaf colours at the edges instead of black corners a deployed photo never has),
// brightness and contrast, Gaussian noise. Every random number is drawn in a fixed order whether
// or not its transform applies, so turning one transform off never changes the others.
#include "folia/augment.h"

#include <cmath>
#include <cstring>

namespace folia {

namespace {

struct splitmix64 {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 24 bits, exact in f32.
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
    // Uniform in (0, 1]: safe for log.
    float uniform_open0() { return float((next() >> 40) + 1) * (1.0f / 16777216.0f); }
};

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

}  // namespace

image_u8 augment_image(const image_u8 &img, const augment_params &p, uint64_t seed) {
    image_u8 out = img;
    if (img.width <= 0 || img.height <= 0 || img.channels < 1 ||
        img.data.size() < size_t(img.width) * img.height * img.channels) {
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

}  // namespace folia
