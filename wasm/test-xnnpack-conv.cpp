// test-xnnpack-conv.cpp: the wasm XNNPACK build (our own CMake over XNNPACK's lists) computes
// what a convolution should, single-threaded and on a 2-thread pool in the threads variant.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <pthreadpool.h>
#include <xnnpack.h>

namespace {

struct conv_case {
    int h = 32, w = 32, cin = 16, cout = 24;  // 3x3, stride 1, same padding
    std::vector<float> x, k, b;               // x (1,H,W,Cin) NHWC; k (Cout,3,3,Cin) OHWI
};

conv_case make_case(uint32_t seed) {
    conv_case c;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    c.x.resize(size_t(c.h) * c.w * c.cin);
    c.k.resize(size_t(c.cout) * 9 * c.cin);
    c.b.resize(size_t(c.cout));
    for (float &v : c.x) v = u(rng);
    for (float &v : c.k) v = u(rng);
    for (float &v : c.b) v = u(rng);
    return c;
}

// Direct loop in double: y (1,H,W,Cout) NHWC.
std::vector<double> reference_conv(const conv_case &c) {
    std::vector<double> y(size_t(c.h) * c.w * c.cout);
    for (int oy = 0; oy < c.h; ++oy)
        for (int ox = 0; ox < c.w; ++ox)
            for (int o = 0; o < c.cout; ++o) {
                double acc = c.b[size_t(o)];
                for (int ky = 0; ky < 3; ++ky)
                    for (int kx = 0; kx < 3; ++kx) {
                        const int iy = oy + ky - 1, ix = ox + kx - 1;
                        if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                        for (int i = 0; i < c.cin; ++i)
                            acc += double(c.x[(size_t(iy) * c.w + ix) * c.cin + i]) *
                                   double(c.k[((size_t(o) * 3 + ky) * 3 + kx) * c.cin + i]);
                    }
                y[(size_t(oy) * c.w + ox) * c.cout + o] = acc;
            }
    return y;
}

std::vector<float> xnnpack_conv(const conv_case &c, pthreadpool_t pool) {
    REQUIRE(xnn_initialize(nullptr) == xnn_status_success);
    xnn_operator_t op = nullptr;
    REQUIRE(xnn_create_convolution2d_nhwc_f32(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, size_t(c.cin),
                                              size_t(c.cout), size_t(c.cin), size_t(c.cout),
                                              c.k.data(), c.b.data(), -INFINITY, INFINITY, 0,
                                              nullptr, nullptr, &op) == xnn_status_success);
    size_t ws_size = 0, ws_align = 0, oh = 0, ow = 0;
    REQUIRE(xnn_reshape_convolution2d_nhwc_f32(op, 1, size_t(c.h), size_t(c.w), &ws_size, &ws_align,
                                               &oh, &ow, pool) == xnn_status_success);
    REQUIRE(oh == size_t(c.h));
    REQUIRE(ow == size_t(c.w));
    std::vector<char> ws(ws_size + ws_align);
    void *ws_ptr =
        ws_size ? ws.data() + (ws_align - uintptr_t(ws.data()) % ws_align) % ws_align : nullptr;
    std::vector<float> y(size_t(c.h) * c.w * c.cout, NAN);
    REQUIRE(xnn_setup_convolution2d_nhwc_f32(op, ws_ptr, c.x.data(), y.data()) ==
            xnn_status_success);
    REQUIRE(xnn_run_operator(op, pool) == xnn_status_success);
    xnn_delete_operator(op);
    return y;
}

}  // namespace

TEST_CASE("XNNPACK's wasm build computes a 3x3 convolution like a direct loop", "[wasm][xnnpack]") {
    const conv_case c = make_case(7);
    const std::vector<double> ref = reference_conv(c);
    const std::vector<float> y = xnnpack_conv(c, nullptr);
    double max_diff = 0;
    for (size_t i = 0; i < y.size(); ++i) max_diff = std::max(max_diff, std::fabs(y[i] - ref[i]));
    INFO("max abs diff " << max_diff);
    // 144 products of terms in [-1, 1] summed in f32: rounding stays far below 1e-4.
    CHECK(max_diff <= 1e-4);
}

TEST_CASE("A 2-thread pool gives the single-thread result bit for bit",
          "[wasm][xnnpack][threads]") {
    pthreadpool_t pool = pthreadpool_create(2);
#ifdef __EMSCRIPTEN_PTHREADS__
    REQUIRE(pool != nullptr);
    CHECK(pthreadpool_get_threads_count(pool) == 2);
    const conv_case c = make_case(11);
    const std::vector<float> one = xnnpack_conv(c, nullptr);
    const std::vector<float> two = xnnpack_conv(c, pool);
    REQUIRE(one.size() == two.size());
    size_t differing = 0;
    for (size_t i = 0; i < one.size(); ++i) differing += one[i] != two[i];
    CHECK(differing == 0);
#else
    // Single-thread build: pthreadpool's shim refuses pools over 1 thread, so callers must
    // fall back to a null pool (XNNPACK then runs on the calling thread).
    CHECK(pool == nullptr);
#endif
    pthreadpool_destroy(pool);
}
