// Winograd F(4x4, 3x3) block tests: the block op (conv 3x3 pad 1 + bias + ReLU, with and without
// the fused 2x2/2 max-pool) against a direct convolution accumulated in double, on shapes that
// exercise every edge: odd and tiny sizes (ragged tiles, pooling that floors), channel counts
// that are not multiples of the 16-channel transform step, batches, chunks of tiles, threads.
#include <catch2/catch.hpp>

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "winograd-conv.h"

namespace {

struct shape {
    int n, h, w, c_in, c_out;
};

// y = max-pool2x2(ReLU(conv3x3_pad1(x, w) + b)) (or without the pool), in double; x is
// (N, H, W, C_in), w (C_out, 3, 3, C_in). mag gets the same sums of |w x| (the scale the
// rounding errors of any summation order are relative to), before bias and ReLU.
void direct_reference(const shape &s, const std::vector<float> &x, const std::vector<float> &w,
                      const std::vector<float> &b, bool pool, std::vector<double> *y, double *mag) {
    std::vector<double> conv(size_t(s.n) * s.h * s.w * s.c_out);
    *mag = 0;
    for (int n = 0; n < s.n; ++n)
        for (int i = 0; i < s.h; ++i)
            for (int j = 0; j < s.w; ++j)
                for (int o = 0; o < s.c_out; ++o) {
                    double acc = 0, abs_acc = 0;
                    for (int ky = 0; ky < 3; ++ky)
                        for (int kx = 0; kx < 3; ++kx) {
                            const int yy = i + ky - 1, xx = j + kx - 1;
                            if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
                            const float *px = &x[((size_t(n) * s.h + yy) * s.w + xx) * s.c_in];
                            const float *pw = &w[((size_t(o) * 3 + ky) * 3 + kx) * s.c_in];
                            for (int c = 0; c < s.c_in; ++c) {
                                acc += double(px[c]) * double(pw[c]);
                                abs_acc += std::abs(double(px[c]) * double(pw[c]));
                            }
                        }
                    *mag = std::max(*mag, abs_acc);
                    conv[((size_t(n) * s.h + i) * s.w + j) * s.c_out + o] =
                        std::max(acc + double(b[size_t(o)]), 0.0);
                }
    if (!pool) {
        *y = std::move(conv);
        return;
    }
    const int ph = s.h / 2, pw = s.w / 2;
    y->assign(size_t(s.n) * ph * pw * s.c_out, 0.0);
    for (int n = 0; n < s.n; ++n)
        for (int i = 0; i < ph; ++i)
            for (int j = 0; j < pw; ++j)
                for (int o = 0; o < s.c_out; ++o) {
                    double m = -INFINITY;
                    for (int a = 0; a < 2; ++a)
                        for (int c = 0; c < 2; ++c)
                            m = std::max(
                                m,
                                conv[((size_t(n) * s.h + 2 * i + a) * s.w + 2 * j + c) * s.c_out +
                                     o]);
                    (*y)[((size_t(n) * ph + i) * pw + j) * s.c_out + o] = m;
                }
}

using pool_ptr = std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)>;

}  // namespace

TEST_CASE(
    "A Winograd conv block matches a double-precision direct convolution with bias, ReLU "
    "and the fused 2x2 max-pool",
    "[winograd]") {
    REQUIRE(xnn_initialize(nullptr) == xnn_status_success);
    // {N, H, W, C_in, C_out}: odd sizes, 1x1, 2x2, one tile, non-multiples of 4, channel counts
    // off the 16-channel step, a batch of 3 (36 tiles: a chunk of 32 and a partial one), and
    // 2 x 18 x 18 = 648 tiles (20 chunks and a partial one).
    const shape s =
        GENERATE(shape{1, 7, 9, 5, 13}, shape{3, 5, 5, 13, 5}, shape{1, 1, 1, 8, 8},
                 shape{2, 2, 2, 16, 17}, shape{1, 4, 4, 32, 64}, shape{1, 10, 6, 8, 24},
                 shape{3, 13, 11, 13, 16}, shape{2, 70, 69, 8, 8}, shape{1, 16, 16, 128, 256});
    const bool pool = GENERATE(true, false);
    const int threads = GENERATE(1, 2);
    CAPTURE(s.n, s.h, s.w, s.c_in, s.c_out, pool, threads);

    // He-normal weights and normalised-image-like inputs, as the network sees them.
    std::mt19937 rng(uint32_t(s.h * 1000 + s.w * 10 + s.c_in));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(size_t(s.n) * s.h * s.w * s.c_in), w(size_t(s.c_out) * 9 * s.c_in),
        b(size_t(s.c_out));
    for (float &v : x) v = normal(rng);
    for (float &v : w) v = normal(rng) * std::sqrt(2.0f / float(9 * s.c_in));
    for (float &v : b) v = 0.1f * normal(rng);
    std::vector<double> ref;
    double mag = 0;
    direct_reference(s, x, w, b, pool, &ref, &mag);

    pool_ptr tp(threads > 1 ? pthreadpool_create(size_t(threads)) : nullptr, pthreadpool_destroy);
    std::unique_ptr<folia::engine::winograd_conv> op;
    std::string error;
    REQUIRE(folia::engine::winograd_conv::create(w.data(), b.data(), s.c_in, s.c_out, pool,
                                                 tp.get(), &op, &error) == FOLIA_OK);
    const int oh = op->out_height(s.h), ow = op->out_width(s.w);
    CHECK(oh == (pool ? s.h / 2 : s.h));
    CHECK(ow == (pool ? s.w / 2 : s.w));
    // A sentinel past the end: the op must write exactly (N, oh, ow, C_out).
    const size_t n_out = size_t(s.n) * oh * ow * s.c_out;
    std::vector<float> y(n_out + 1, -7.0f);
    const folia::engine::winograd_geometry g{s.n, s.h, s.w};
    REQUIRE(op->run(x.data(), g, y.data(), &error) == FOLIA_OK);
    REQUIRE(ref.size() == n_out);
    CHECK(y[n_out] == -7.0f);

    // Winograd F(4x4, 3x3) rounds in its transforms, whose entries reach 8 (A^T) and 5 (B^T):
    // errors grow to ~100-1000 float epsilons of the sum of |w x|, about 10x direct
    // convolution's. 1e-5 of that scale bounds it with room and still catches any wrong
    // coefficient, tile offset or channel (those are O(1) of the scale).
    double worst = 0;
    for (size_t i = 0; i < n_out; ++i) worst = std::max(worst, std::abs(double(y[i]) - ref[i]));
    CAPTURE(worst, mag, worst / mag);
    CHECK(worst <= 1e-5 * mag);

    // The same op runs again with the same numbers (its buffers are reused, not accumulated).
    std::vector<float> again(n_out + 1, -7.0f);
    REQUIRE(op->run(x.data(), g, again.data(), &error) == FOLIA_OK);
    CHECK(again == y);
}

TEST_CASE(
    "The Winograd filter transform of a centre tap is the outer product of G's middle "
    "column",
    "[winograd]") {
    // g = e_11 (only the centre weight, 1): U = G e_1 (G e_1)^T, G's column 1 is
    // (0, -1/6, 1/6, 1/12, -1/12, 0).
    const double col[6] = {0, -1.0 / 6, 1.0 / 6, 1.0 / 12, -1.0 / 12, 0};
    std::vector<float> w(9, 0.0f);
    w[4] = 1.0f;
    const std::vector<float> u = folia::engine::winograd_filter_transform(w.data(), 1, 1);
    REQUIRE(u.size() == 36);
    for (int r = 0; r < 6; ++r)
        for (int s = 0; s < 6; ++s)
            CHECK(double(u[size_t(6 * r + s)]) == Approx(col[r] * col[s]).margin(1e-9));
}
