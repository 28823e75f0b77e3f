// resize-pillow.cpp: Image.resize(size, Image.BILINEAR) exactly as Pillow 9.4 computes it
// (src/libImaging/Resample.c: precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleInner),
// written for packed (H, W, C) u8 images. Every step that decides a byte is kept as Pillow does
// it: double-precision coefficients from float box edges, 22-bit fixed point rounded half away
// from zero, accumulators starting at 1/2, a horizontal pass into an 8-bit intermediate over only
// the rows the vertical pass reads, then the vertical pass. Integer sums are exact in any order,
// so the loops are arranged for speed rather than in Pillow's order.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "container.h"
#include "folia/preprocess.h"

namespace folia {

namespace {

constexpr int k_precision_bits = 32 - 8 - 2;

double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}
constexpr double k_bilinear_support = 1.0;

// Per output index i: taps [bounds[2i], bounds[2i] + bounds[2i+1]) with fixed-point weights
// k[i * ksize ...].
struct coeffs {
    int ksize = 0;
    std::vector<int> bounds;
    std::vector<int32_t> k;
};

coeffs precompute_coeffs(int in_size, float in0, float in1, int out_size) {
    coeffs c;
    double scale = double(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = k_bilinear_support * filterscale;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    std::vector<double> kk(size_t(out_size) * c.ksize);
    c.bounds.resize(size_t(out_size) * 2);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        const double ss = 1.0 / filterscale;
        int xmin = int(center - support + 0.5);  // truncation toward zero, as in C
        if (xmin < 0) xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = &kk[size_t(xx) * c.ksize];
        int x = 0;
        for (; x < xmax; ++x) {
            const double w = bilinear_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; ++x) {
            if (ww != 0.0) k[x] /= ww;
        }
        for (; x < c.ksize; ++x) k[x] = 0;
        c.bounds[size_t(xx) * 2] = xmin;
        c.bounds[size_t(xx) * 2 + 1] = xmax;
    }
    // normalize_coeffs_8bpc
    c.k.resize(kk.size());
    for (size_t i = 0; i < kk.size(); ++i) {
        c.k[i] = kk[i] < 0 ? int(-0.5 + kk[i] * (1 << k_precision_bits))
                           : int(0.5 + kk[i] * (1 << k_precision_bits));
    }
    return c;
}

inline uint8_t clip8(int32_t ss) {
    // Pillow's lookup table covers ss >> 22 in [-640, 639]: negatives give 0, above 255 gives 255.
    const int32_t v = ss >> k_precision_bits;
    return uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
}

// out rows [0, out_rows) come from src rows [row0, row0 + out_rows); out is (out_rows, out_w, C).
template <int C>
void horizontal_pass(const uint8_t *src, int src_w, int row0, int out_rows, const coeffs &cf,
                     int out_w, uint8_t *out) {
    const int32_t half = 1 << (k_precision_bits - 1);
    for (int yy = 0; yy < out_rows; ++yy) {
        const uint8_t *row = src + size_t(row0 + yy) * src_w * C;
        uint8_t *dst = out + size_t(yy) * out_w * C;
        for (int xx = 0; xx < out_w; ++xx) {
            const int xmin = cf.bounds[size_t(xx) * 2];
            const int xmax = cf.bounds[size_t(xx) * 2 + 1];
            const int32_t *k = &cf.k[size_t(xx) * cf.ksize];
            const uint8_t *p = row + size_t(xmin) * C;
            int32_t ss[C];
            for (int c = 0; c < C; ++c) ss[c] = half;
            for (int x = 0; x < xmax; ++x) {
                for (int c = 0; c < C; ++c) ss[c] += int32_t(p[x * C + c]) * k[x];
            }
            for (int c = 0; c < C; ++c) dst[xx * C + c] = clip8(ss[c]);
        }
    }
}

// src is (rows, w, C); out row yy sums src rows bounds[2yy] + [0, bounds[2yy+1]).
void vertical_pass(const uint8_t *src, int row_len, const coeffs &cf, int out_h, uint8_t *out) {
    const int32_t half = 1 << (k_precision_bits - 1);
    std::vector<int32_t> acc(static_cast<size_t>(row_len));
    for (int yy = 0; yy < out_h; ++yy) {
        const int ymin = cf.bounds[size_t(yy) * 2];
        const int ymax = cf.bounds[size_t(yy) * 2 + 1];
        const int32_t *k = &cf.k[size_t(yy) * cf.ksize];
        std::fill(acc.begin(), acc.end(), half);
        for (int y = 0; y < ymax; ++y) {
            const uint8_t *row = src + size_t(ymin + y) * row_len;
            const int32_t ky = k[y];
            for (int i = 0; i < row_len; ++i) acc[i] += int32_t(row[i]) * ky;
        }
        uint8_t *dst = out + size_t(yy) * row_len;
        for (int i = 0; i < row_len; ++i) dst[i] = clip8(acc[i]);
    }
}

void horizontal_dispatch(const uint8_t *s, int w, int c, int row0, int rows, const coeffs &cf,
                         int out_w, uint8_t *out) {
    switch (c) {
        case 1:
            horizontal_pass<1>(s, w, row0, rows, cf, out_w, out);
            break;
        case 2:
            horizontal_pass<2>(s, w, row0, rows, cf, out_w, out);
            break;
        case 3:
            horizontal_pass<3>(s, w, row0, rows, cf, out_w, out);
            break;
        default:
            horizontal_pass<4>(s, w, row0, rows, cf, out_w, out);
            break;
    }
}

}  // namespace

namespace detail {

image_u8 resize_pixels(const uint8_t *src, int w, int h, int c, int out_w, int out_h) {
    image_u8 out;
    if (!src || out_w <= 0 || out_h <= 0 || w <= 0 || h <= 0 || c < 1 || c > 4) return out;
    // Image.resize returns a copy when the size does not change (the passes would too).
    if (out_w == w && out_h == h) {
        out.width = w, out.height = h, out.channels = c;
        out.data.assign(src, src + size_t(w) * h * c);
        return out;
    }

    // Image.resize's default box (0, 0, width, height), as the C floats Pillow passes on.
    const float box[4] = {0.0f, 0.0f, float(w), float(h)};
    const bool need_horizontal = out_w != w || box[0] != 0.0f || box[2] != float(out_w);
    const bool need_vertical = out_h != h || box[1] != 0.0f || box[3] != float(out_h);

    coeffs vert = precompute_coeffs(h, box[1], box[3], out_h);
    // Rows of the source the vertical pass reads.
    const int ybox_first = vert.bounds[0];
    const int ybox_last = vert.bounds[size_t(out_h) * 2 - 2] + vert.bounds[size_t(out_h) * 2 - 1];

    image_u8 tmp;
    const uint8_t *cur = src;
    int cur_w = w;
    if (need_horizontal) {
        const coeffs horiz = precompute_coeffs(w, box[0], box[2], out_w);
        for (int i = 0; i < out_h; ++i) vert.bounds[size_t(i) * 2] -= ybox_first;
        tmp.width = out_w;
        tmp.height = ybox_last - ybox_first;
        tmp.channels = c;
        tmp.data.resize(size_t(tmp.width) * tmp.height * c);
        horizontal_dispatch(src, w, c, ybox_first, tmp.height, horiz, out_w, tmp.data.data());
        cur = tmp.data.data();
        cur_w = out_w;
    }
    if (need_vertical) {
        out.width = cur_w;
        out.height = out_h;
        out.channels = c;
        out.data.resize(size_t(cur_w) * out_h * c);
        vertical_pass(cur, cur_w * c, vert, out_h, out.data.data());
        return out;
    }
    return tmp;  // only the horizontal pass was needed (heights equal)
}

}  // namespace detail

image_u8 resize_bilinear_pillow(const image_u8 &src, int out_w, int out_h) {
    if (src.data.size() < size_t(src.width > 0 ? src.width : 0) *
                              size_t(src.height > 0 ? src.height : 0) *
                              size_t(src.channels > 0 ? src.channels : 0) ||
        src.data.empty()) {
        return image_u8();
    }
    return detail::resize_pixels(src.data.data(), src.width, src.height, src.channels, out_w,
                                 out_h);
}

}  // namespace folia
