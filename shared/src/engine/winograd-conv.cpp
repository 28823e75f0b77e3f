// winograd-conv.cpp: Winograd F(4x4, 3x3) conv blocks (see winograd-conv.h).
//
// Matrices (Lavin & Gray 2016, interpolation points 0, 1, -1, 2, -2, inf):
//   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0 4 -4 -1 1 0;
//          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0 4  0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
// Frequency f = 6 i + j is row i (vertical), column j (horizontal) of the 6x6 transform.
//
// The transforms work on k_cb channels at a time: a tile's 36 (input) or 36 (frequency) vectors
// are copied into local arrays, transformed there and copied out. Computing on locals only keeps
// the compiler free of aliasing doubts, so the channel loops vectorise (SSE/AVX natively, SIMD128
// in wasm) without intrinsics.
#include "winograd-conv.h"

#include "folia-platform.h"  // FOLIA_TARGET_CLONES

#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace folia::engine {

namespace {

constexpr int k_cb = 16;  // channels per transform step: 4 SIMD128 vectors, 2 AVX, 1 AVX-512

// dst[0..n) = src[0..n); the constant-size case (every block but a channel tail) compiles to a
// few vector moves instead of a memcpy call.
inline void copy_block(float *dst, const float *src, int n) {
    if (n == k_cb) {
        for (int c = 0; c < k_cb; ++c) dst[c] = src[c];
    } else {
        for (int c = 0; c < n; ++c) dst[c] = src[c];
    }
}

// o = B^T d along one axis, k_cb channels: d0..d5 are the 6 inputs, o0..o5 the 6 outputs. The
// pointers are restrict (no two overlap), so the channel loop vectorises without alias checks.
inline void bt6(const float *__restrict d0, const float *__restrict d1, const float *__restrict d2,
                const float *__restrict d3, const float *__restrict d4, const float *__restrict d5,
                float *__restrict o0, float *__restrict o1, float *__restrict o2,
                float *__restrict o3, float *__restrict o4, float *__restrict o5) {
    for (int c = 0; c < k_cb; ++c) {
        const float a = d1[c], b = d2[c], e = d3[c], h = d4[c];
        o0[c] = 4.0f * d0[c] - 5.0f * b + h;
        o1[c] = (h + e) - 4.0f * (a + b);
        o2[c] = (h - e) + 4.0f * (a - b);
        o3[c] = (h - b) + 2.0f * (e - a);
        o4[c] = (h - b) - 2.0f * (e - a);
        o5[c] = 4.0f * a - 5.0f * e + d5[c];
    }
}

// o = A^T m along one axis, k_cb channels: 6 inputs m0..m5 -> 4 outputs o0..o3.
inline void at6(const float *__restrict m0, const float *__restrict m1, const float *__restrict m2,
                const float *__restrict m3, const float *__restrict m4, const float *__restrict m5,
                float *__restrict o0, float *__restrict o1, float *__restrict o2,
                float *__restrict o3) {
    for (int c = 0; c < k_cb; ++c) {
        const float s12 = m1[c] + m2[c], d12 = m1[c] - m2[c];
        const float s34 = m3[c] + m4[c], d34 = m3[c] - m4[c];
        o0[c] = m0[c] + s12 + s34;
        o1[c] = d12 + 2.0f * d34;
        o2[c] = s12 + 4.0f * s34;
        o3[c] = d12 + 8.0f * d34 + m5[c];
    }
}

// dst[f] = (B^T d B)[f] for the 36 frequencies f = 6 i + j of one 6x6 patch, src[6 r + s] is
// the patch's pixel (r, s): k_cb channels each; no dst overlaps any src.
FOLIA_TARGET_CLONES void input_block(const float *const src[36], float *const dst[36]) {
    alignas(64) float t[36][k_cb];  // B^T d: t[6 i + s]
    for (int s = 0; s < 6; ++s)
        bt6(src[s], src[6 + s], src[12 + s], src[18 + s], src[24 + s], src[30 + s], t[s], t[6 + s],
            t[12 + s], t[18 + s], t[24 + s], t[30 + s]);
    for (int i = 0; i < 6; ++i) {
        const float(*r)[k_cb] = t + 6 * i;
        float *const *o = dst + 6 * i;
        bt6(r[0], r[1], r[2], r[3], r[4], r[5], o[0], o[1], o[2], o[3], o[4], o[5]);
    }
}

struct input_job {
    const float *x;
    winograd_geometry g;
    int c_in;
    size_t t0, count, rows;
    float *v;  // (36, rows, C_in)
};

alignas(64) const float k_zeros[k_cb] = {};

// One tile, all channels: B^T d B of the 6x6 patch (zeros outside the image) into v. Whole
// channel blocks read the image and write v in place; a channel tail goes through local copies
// (zero-filled past C_in) so nothing reads past the image or writes past the tile's channels.
FOLIA_TARGET_CLONES void input_tile(void *ctx, size_t i) {
    const input_job &j = *static_cast<const input_job *>(ctx);
    const int tw = j.g.tiles_w(), th = j.g.tiles_h(), h = j.g.height, w = j.g.width;
    const size_t t = j.t0 + i;
    const int tx = int(t % size_t(tw)), ty = int(t / size_t(tw) % size_t(th));
    const size_t n = t / (size_t(tw) * size_t(th));
    const size_t row_floats = size_t(w) * size_t(j.c_in);
    const float *img = j.x + n * size_t(h) * row_floats;
    const size_t f_stride = j.rows * size_t(j.c_in);  // floats between frequencies in v
    float *v = j.v + i * size_t(j.c_in);
    alignas(64) float d[36][k_cb], out[36][k_cb];
    const float *src[36];
    float *dst[36];
    for (int c0 = 0; c0 < j.c_in; c0 += k_cb) {
        const int cb = std::min(k_cb, j.c_in - c0);
        for (int p = 0; p < 36; ++p) {
            const int y = 4 * ty - 1 + p / 6, xx = 4 * tx - 1 + p % 6;
            const bool inside = y >= 0 && y < h && xx >= 0 && xx < w;
            const float *px =
                inside ? img + size_t(y) * row_floats + size_t(xx) * j.c_in + c0 : k_zeros;
            if (cb == k_cb) {
                src[p] = px;
                dst[p] = v + size_t(p) * f_stride + c0;
                continue;
            }
            for (int c = 0; c < k_cb; ++c) d[p][c] = c < cb ? px[c] : 0.0f;
            src[p] = d[p];
            dst[p] = out[p];
        }
        input_block(src, dst);
        if (cb < k_cb)
            for (int f = 0; f < 36; ++f) copy_block(v + size_t(f) * f_stride + c0, out[f], cb);
    }
}

struct output_job {
    const float *m;  // (36, rows, C_out)
    const float *bias;
    winograd_geometry g;
    int c_out;
    bool pool2x2;
    size_t t0, count, rows;
    float *y;
};

// Stores a tile's 4x4 outputs o (+ bias, ReLU), or their 2x2 maxima when pooling: ReLU and the
// bias commute with the max (both monotonic), so they are applied once per pooled value.
FOLIA_TARGET_CLONES void store_outputs(const output_job &j, const float (*o)[k_cb], size_t n,
                                       int ty, int tx, int c0, int cb) {
    const int scale = j.pool2x2 ? 2 : 1;
    const int oh = j.g.height / scale, ow = j.g.width / scale, side = 4 / scale;
    const size_t c_out = size_t(j.c_out);
    float *img = j.y + n * size_t(oh) * size_t(ow) * c_out;
    alignas(64) float r[k_cb];
    for (int a = 0; a < side; ++a) {
        const int y = side * ty + a;
        if (y >= oh) break;
        for (int b = 0; b < side; ++b) {
            const int x = side * tx + b;
            if (x >= ow) break;
            if (j.pool2x2) {
                const float *p0 = o[8 * a + 2 * b], *p1 = o[8 * a + 2 * b + 1],
                            *p2 = o[8 * a + 2 * b + 4], *p3 = o[8 * a + 2 * b + 5];
                for (int c = 0; c < k_cb; ++c)
                    r[c] = std::max(std::max(p0[c], p1[c]), std::max(p2[c], p3[c]));
            } else {
                for (int c = 0; c < k_cb; ++c) r[c] = o[4 * a + b][c];
            }
            const float *bias = j.bias + c0;
            for (int c = 0; c < cb; ++c) r[c] = std::max(r[c] + bias[c], 0.0f);
            copy_block(img + (size_t(y) * size_t(ow) + size_t(x)) * c_out + size_t(c0), r, cb);
        }
    }
}

// One tile, all channels: A^T m A of its 36 frequencies (read in place from m), then store
// (pooled). Channels past a tail's cb read the next tile's (or the slack's) floats: finite,
// never stored.
FOLIA_TARGET_CLONES void output_tile(void *ctx, size_t i) {
    const output_job &j = *static_cast<const output_job *>(ctx);
    const int tw = j.g.tiles_w(), th = j.g.tiles_h();
    const size_t t = j.t0 + i;
    const int tx = int(t % size_t(tw)), ty = int(t / size_t(tw) % size_t(th));
    const size_t n = t / (size_t(tw) * size_t(th));
    const size_t f_stride = j.rows * size_t(j.c_out);
    alignas(64) float tmp[24][k_cb], o[16][k_cb];  // tmp = A^T m: tmp[6 a + s]; o = tmp A
    for (int c0 = 0; c0 < j.c_out; c0 += k_cb) {
        const int cb = std::min(k_cb, j.c_out - c0);
        const float *m = j.m + i * size_t(j.c_out) + size_t(c0);
        auto f = [&](int k) { return m + size_t(k) * f_stride; };
        for (int s = 0; s < 6; ++s)
            at6(f(s), f(6 + s), f(12 + s), f(18 + s), f(24 + s), f(30 + s), tmp[s], tmp[6 + s],
                tmp[12 + s], tmp[18 + s]);
        for (int a = 0; a < 4; ++a) {
            const float(*r)[k_cb] = tmp + 6 * a;
            at6(r[0], r[1], r[2], r[3], r[4], r[5], o[4 * a], o[4 * a + 1], o[4 * a + 2],
                o[4 * a + 3]);
        }
        store_outputs(j, o, n, ty, tx, c0, cb);
    }
}

folia_status xnn_fail(std::string *error, const char *what, xnn_status s) {
    if (error) *error = std::string(what) + " failed (xnn_status " + std::to_string(int(s)) + ")";
    return s == xnn_status_out_of_memory ? FOLIA_ERR_OUT_OF_MEMORY : FOLIA_ERR_ENGINE;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<float> winograd_filter_transform(const float *w, int c_in, int c_out) {
    static const double gm[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    const size_t ci_n = size_t(c_in), co_n = size_t(c_out);
    std::vector<float> u(36 * ci_n * co_n);
    for (size_t o = 0; o < co_n; ++o) {
        for (size_t i = 0; i < ci_n; ++i) {
            double g[3][3], gg[6][3];  // g: the 3x3 filter, gg = G g
            for (int k = 0; k < 9; ++k) g[k / 3][k % 3] = double(w[(o * 9 + size_t(k)) * ci_n + i]);
            for (int r = 0; r < 6; ++r)
                for (int b = 0; b < 3; ++b)
                    gg[r][b] = gm[r][0] * g[0][b] + gm[r][1] * g[1][b] + gm[r][2] * g[2][b];
            for (int r = 0; r < 6; ++r)
                for (int s = 0; s < 6; ++s) {
                    const double val =
                        gg[r][0] * gm[s][0] + gg[r][1] * gm[s][1] + gg[r][2] * gm[s][2];
                    u[(size_t(6 * r + s) * ci_n + i) * co_n + o] = float(val);
                }
        }
    }
    return u;
}

void winograd_input_transform(const float *x, const winograd_geometry &g, int c_in, size_t t0,
                              size_t count, size_t rows, float *v, pthreadpool_t pool) {
    input_job job{x, g, c_in, t0, count, rows, v};
    pthreadpool_parallelize_1d(pool, input_tile, &job, count, 0);
}

void winograd_output_transform(const float *m, const float *bias, const winograd_geometry &g,
                               int c_out, bool pool2x2, size_t t0, size_t count, size_t rows,
                               float *y, pthreadpool_t pool) {
    output_job job{m, bias, g, c_out, pool2x2, t0, count, rows, y};
    pthreadpool_parallelize_1d(pool, output_tile, &job, count, 0);
}

folia_status winograd_conv::create(const float *w, const float *bias, int c_in, int c_out,
                                   bool pool2x2, pthreadpool_t pool,
                                   std::unique_ptr<winograd_conv> *out, std::string *error) {
    if (c_in < 1 || c_out < 1 || !w || !bias || !out) {
        if (error) *error = "winograd_conv: bad arguments";
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    std::unique_ptr<winograd_conv> op(new winograd_conv());
    op->c_in_ = c_in;
    op->c_out_ = c_out;
    op->pool2x2_ = pool2x2;
    op->pool_ = pool;
    op->bias_.assign(bias, bias + c_out);
    const std::vector<float> u = winograd_filter_transform(w, c_in, c_out);
    // XNNPACK packs u (36, C_in, C_out) into its own buffer here; u can go afterwards.
    const xnn_status st = xnn_create_batch_matrix_multiply_nc_f32_const_weights(
        36, size_t(c_in), size_t(c_out), u.data(), 0, &op->bmm_);
    if (st != xnn_status_success)
        return xnn_fail(error, "xnn_create_batch_matrix_multiply_nc_f32_const_weights", st);
    // XNNPACK's GEMM kernels may read XNN_EXTRA_BYTES past the end of their input v.
    const size_t rows = k_chunk_tiles | 1;  // run_chunk's padded row count at most
    op->v_.assign(36 * rows * size_t(c_in) + XNN_EXTRA_BYTES / sizeof(float), 0.0f);
    op->m_.assign(36 * rows * size_t(c_out) + k_winograd_m_slack, 0.0f);
    *out = std::move(op);
    return FOLIA_OK;
}

winograd_conv::~winograd_conv() {
    if (bmm_) xnn_delete_operator(bmm_);
}

folia_status winograd_conv::run_chunk(const float *x, const winograd_geometry &g, size_t t0,
                                      size_t count, float *y, std::string *error) {
    // An odd row count: with a power-of-two one (256 tiles x 64 channels), the 36 frequencies of
    // a tile would lie a multiple of 4 KiB apart and fight over the same cache sets.
    const size_t rows = count | 1;
    auto start = std::chrono::steady_clock::now();
    winograd_input_transform(x, g, c_in_, t0, count, rows, v_.data(), pool_);
    if (timing_) times_.input_ms += ms_since(start), start = std::chrono::steady_clock::now();

    // m (36, rows, C_out) = v (36, rows, C_in) x u (36, C_in, C_out); the padding row (if any)
    // holds stale finite floats whose products are never read.
    xnn_status st = xnn_status_success;
    if (bmm_rows_ != rows) {
        const size_t batch_dims[1] = {36};
        size_t workspace = 0, alignment = 0;  // none: the weights are packed already
        st = xnn_reshape_batch_matrix_multiply_nc_f32(bmm_, 1, batch_dims, batch_dims, rows,
                                                      size_t(c_in_), size_t(c_out_), &workspace,
                                                      &alignment, pool_);
        if (st != xnn_status_success)
            return xnn_fail(error, "xnn_reshape_batch_matrix_multiply_nc_f32", st);
        st = xnn_setup_batch_matrix_multiply_nc_f32(bmm_, nullptr, v_.data(), nullptr, m_.data());
        if (st != xnn_status_success)
            return xnn_fail(error, "xnn_setup_batch_matrix_multiply_nc_f32", st);
        bmm_rows_ = rows;
    }
    st = xnn_run_operator(bmm_, pool_);
    if (st != xnn_status_success) return xnn_fail(error, "xnn_run_operator(bmm)", st);
    if (timing_) times_.bmm_ms += ms_since(start), start = std::chrono::steady_clock::now();

    winograd_output_transform(m_.data(), bias_.data(), g, c_out_, pool2x2_, t0, count, rows, y,
                              pool_);
    if (timing_) times_.output_ms += ms_since(start);
    return FOLIA_OK;
}

folia_status winograd_conv::run(const float *x, const winograd_geometry &g, float *y,
                                std::string *error) {
    times_ = winograd_times{};
    if (g.batch < 1 || g.height < 1 || g.width < 1 || !x || !y) {
        if (error) *error = "winograd_conv::run: bad geometry or null buffer";
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    const size_t total = g.tiles();
    for (size_t t0 = 0; t0 < total; t0 += k_chunk_tiles) {
        const folia_status st = run_chunk(x, g, t0, std::min(k_chunk_tiles, total - t0), y, error);
        if (st != FOLIA_OK) return st;
    }
    return FOLIA_OK;
}

}  // namespace folia::engine
