// winograd-conv.h (private): a conv 3x3 pad 1 (+ bias, ReLU, optional max-pool 2x2/2) block as
// Winograd F(4x4, 3x3) (Lavin & Gray): each 6x6 input tile gives a 4x4 output tile through
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// The element-wise product over the 36 frequencies, summed over input channels, is 36 GEMMs
// (tiles x C_in) x (C_in x C_out), run by XNNPACK's batch matrix multiply with the transformed
// filters packed once. The transforms are plain C++ over contiguous channels, written so the
// compiler vectorises them (natively and in wasm SIMD alike). The max-pool is fused into the
// output transform: the full-resolution convolution output is never written.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "folia.h"

struct xnn_operator;

namespace folia::engine {

// Blocks whose input has fewer channels (the RGB stem) stay on XNNPACK's direct convolution:
// their GEMMs would have k = C_in < 8 and the transforms would cost more than they save.
constexpr int k_winograd_min_channels = 8;

// Where the tiles of one run lie: x is (N, H, W, C_in) NHWC; tile t of image n covers the
// outputs [4 ty, 4 ty + 4) x [4 tx, 4 tx + 4), t = (n * tiles_h + ty) * tiles_w + tx.
struct winograd_geometry {
    int batch = 0, height = 0, width = 0;
    int tiles_h() const { return (height + 3) / 4; }
    int tiles_w() const { return (width + 3) / 4; }
    size_t tiles() const { return size_t(batch) * size_t(tiles_h()) * size_t(tiles_w()); }
};

// u is (36, C_in, C_out) f32: G g G^T of each filter of w (C_out, 3, 3, C_in) f32 (OHWI),
// computed in double and rounded once.
std::vector<float> winograd_filter_transform(const float *w, int c_in, int c_out);

// Tiles [t0, t0 + count) of x (N, H, W, C_in) -> v (36, rows, C_in), rows >= count (rows past
// count are left alone): B^T d B of each 6x6 patch (image rows 4 ty - 1 .. 4 ty + 4; outside
// the image reads zeros, i.e. pad 1 and the ragged edge).
void winograd_input_transform(const float *x, const winograd_geometry &g, int c_in, size_t t0,
                              size_t count, size_t rows, float *v, pthreadpool_t pool);

// m (36, rows, C_out) of tiles [t0, t0 + count) -> A^T m A + bias, ReLU, written to y:
// max-pooled 2x2/2 (N, H/2, W/2, C_out) (floor: outputs past the last full window are dropped)
// when pool2x2, else (N, H, W, C_out). m must have k_winograd_m_slack readable floats past
// its end.
void winograd_output_transform(const float *m, const float *bias, const winograd_geometry &g,
                               int c_out, bool pool2x2, size_t t0, size_t count, size_t rows,
                               float *y, pthreadpool_t pool);

// Floats winograd_output_transform may read past the end of m.
constexpr size_t k_winograd_m_slack = 16;

// Milliseconds of the three stages of the last run (summed over chunks), when timing is on.
struct winograd_times {
    double input_ms = 0, bmm_ms = 0, output_ms = 0;
};

// The block op. Tiles run in chunks of at most k_chunk_tiles so v and m stay in a core's L2
// (32 tiles x 36 x (32 + 64) channels: 442 KB at conv2) and memory stays bounded whatever the
// batch (the wasm heap is 256 MB). Measured at 1 and 2 threads against 16, 64, 128 and 256
// tiles (tests/bench-engine-stages.cpp): 256 left the transforms 2-3x slower (v and m spilled
// to L3), 16 made the GEMMs too short.
class winograd_conv {
  public:
    static constexpr size_t k_chunk_tiles = 32;

    // w is (C_out, 3, 3, C_in) OHWI, bias (C_out); both are copied/transformed. pool may be
    // NULL (serial); it must outlive the op.
    static folia_status create(const float *w, const float *bias, int c_in, int c_out, bool pool2x2,
                               pthreadpool_t pool, std::unique_ptr<winograd_conv> *out,
                               std::string *error);
    ~winograd_conv();
    winograd_conv(const winograd_conv &) = delete;
    winograd_conv &operator=(const winograd_conv &) = delete;

    // Output size for an H x W input: H/2 x W/2 (floor) when pooling, else H x W.
    int out_height(int height) const { return pool2x2_ ? height / 2 : height; }
    int out_width(int width) const { return pool2x2_ ? width / 2 : width; }

    // x is (N, H, W, C_in) f32, y (N, out_height(H), out_width(W), C_out) f32.
    folia_status run(const float *x, const winograd_geometry &g, float *y, std::string *error);

    void set_timing(bool on) { timing_ = on; }
    const winograd_times &last_times() const { return times_; }

  private:
    winograd_conv() = default;
    folia_status run_chunk(const float *x, const winograd_geometry &g, size_t t0, size_t count,
                           float *y, std::string *error);

    int c_in_ = 0, c_out_ = 0;
    bool pool2x2_ = false;
    pthreadpool_t pool_ = nullptr;
    xnn_operator *bmm_ = nullptr;
    size_t bmm_rows_ = 0;  // m the BMM is reshaped for (0: not yet)
    std::vector<float> bias_;
    std::vector<float> v_;  // (36, rows, C_in) + XNNPACK's slack, rows <= k_chunk_tiles + 1
    std::vector<float> m_;  // (36, rows, C_out) + k_winograd_m_slack
    bool timing_ = false;
    winograd_times times_;
};

}  // namespace folia::engine
