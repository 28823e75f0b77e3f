// Engine tests: XNNPACK logits against the plain reference implementation, the classify paths,
// softmax/temperature, and every way a model file can be refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "folia.h"
#include "folia/model-file.h"
#include "folia/preprocess.h"
#include "reference-model.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace {

using ctx_ptr = std::unique_ptr<folia_context, decltype(&folia_free)>;

// A folia-cnn4 with PyTorch-like scales: He-normal conv/FC weights, small biases, and BatchNorm
// statistics far enough from identity that a wrong fold shows up in the logits.
folia::model_file make_test_model(int num_classes, uint32_t seed, int input_size = 128) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    folia::model_file m;
    m.arch.num_classes = num_classes;
    m.preprocess.input_size = input_size;
    for (int i = 0; i < num_classes; ++i) m.labels.push_back("class_" + std::to_string(i));
    for (const auto &[name, shape] : folia::expected_tensors(m.arch)) {
        folia::tensor_f32 t;
        t.shape = shape;
        t.data.resize(size_t(t.numel()));
        auto is = [&, &name = name](
                      const char *suffix) {  // clang: no structured-binding capture in C++17
            return name.size() >= std::strlen(suffix) &&
                   name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0;
        };
        if (shape.size() >= 2) {  // conv (O, I, 3, 3) or fc (O, I): He-normal, fan-in mode
            const float fan_in = float(t.numel() / shape[0]);
            for (float &v : t.data) v = normal(rng) * std::sqrt(2.0f / fan_in);
        } else if (is("bn.weight")) {
            for (float &v : t.data) v = 0.6f + 0.8f * uni(rng);
        } else if (is("bn.running_var")) {
            for (float &v : t.data) v = 0.3f + 1.7f * uni(rng);
        } else if (is("bn.running_mean")) {
            for (float &v : t.data) v = 0.3f * normal(rng);
        } else {  // biases, bn.bias
            for (float &v : t.data) v = 0.1f * normal(rng);
        }
        m.tensors[name] = std::move(t);
    }
    return m;
}

std::vector<uint8_t> serialise(const folia::model_file &m) {
    std::vector<uint8_t> bytes;
    std::string error;
    REQUIRE(folia::write_model_file(m, &bytes, &error) == FOLIA_OK);
    return bytes;
}

ctx_ptr make_ctx(const std::vector<uint8_t> &bytes, int threads, int max_batch = 32) {
    folia_params p = folia_default_params();
    p.num_threads = threads;
    p.max_batch = max_batch;
    folia_context *ctx = nullptr;
    const folia_status st = folia_init_from_buffer(bytes.data(), bytes.size(), &p, &ctx);
    INFO(folia_status_message(st));
    REQUIRE(st == FOLIA_OK);
    REQUIRE(ctx != nullptr);
    return ctx_ptr(ctx, folia_free);
}

// Normalised-image-like values: ImageNet normalisation maps [0, 255] to about [-2.1, 2.6].
std::vector<float> random_input(int batch, int size, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uni(-2.1f, 2.6f);
    std::vector<float> x(size_t(batch) * size * size * 3);
    for (float &v : x) v = uni(rng);
    return x;
}

double max_abs_diff(const float *a, const double *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
    return d;
}

std::vector<float> softmax_ref(const std::vector<float> &logits, float temperature) {
    double mx = -INFINITY, sum = 0;
    for (float l : logits) mx = std::max(mx, double(l) / temperature);
    std::vector<float> p(logits.size());
    for (size_t i = 0; i < logits.size(); ++i)
        sum += std::exp(double(logits[i]) / temperature - mx);
    for (size_t i = 0; i < logits.size(); ++i)
        p[i] = float(std::exp(double(logits[i]) / temperature - mx) / sum);
    return p;
}

// Re-serialises a valid file after `edit` changed its JSON header, with fresh sizes, padding and
// checksums, so only the semantic change remains for the parser to find.
std::vector<uint8_t> rewrite_header(const std::vector<uint8_t> &file,
                                    const std::function<void(nlohmann::json &)> &edit) {
    auto u32 = [&](size_t o) {
        return uint32_t(file[o]) | uint32_t(file[o + 1]) << 8 | uint32_t(file[o + 2]) << 16 |
               uint32_t(file[o + 3]) << 24;
    };
    const uint32_t hdr_size = u32(12);
    const size_t payload_start = (32 + hdr_size + 63) / 64 * 64;
    const std::vector<uint8_t> payload(file.begin() + long(payload_start), file.end());
    nlohmann::json j = nlohmann::json::parse(file.begin() + 32, file.begin() + 32 + hdr_size);
    edit(j);
    const std::string hdr = j.dump();
    const size_t new_start = (32 + hdr.size() + 63) / 64 * 64;
    std::vector<uint8_t> out(new_start + payload.size(), 0);
    std::memcpy(out.data(), file.data(), 32);
    auto put = [&](size_t o, uint32_t v) {
        for (int i = 0; i < 4; ++i) out[o + size_t(i)] = uint8_t(v >> (8 * i));
    };
    put(12, uint32_t(hdr.size()));
    put(24, folia::crc32(reinterpret_cast<const uint8_t *>(hdr.data()), hdr.size()));
    std::memcpy(out.data() + 32, hdr.data(), hdr.size());
    std::memcpy(out.data() + new_start, payload.data(), payload.size());
    return out;
}

void expect_refused(const std::vector<uint8_t> &bytes, folia_status expected) {
    folia_params p = folia_default_params();
    folia_context *ctx = reinterpret_cast<folia_context *>(&p);  // must be reset to null
    const folia_status st = folia_init_from_buffer(bytes.data(), bytes.size(), &p, &ctx);
    INFO("got: " << folia_status_message(st) << ", expected: " << folia_status_message(expected));
    CHECK(st == expected);
    CHECK(ctx == nullptr);
    CHECK(std::strlen(folia_status_message(st)) > 0);
}

}  // namespace

TEST_CASE(
    "The engine's logits match the plain reference model for batches 1 and 3 on 1 and 2 threads",
    "[engine][model]") {
    const int num_classes = GENERATE(35, 5);
    CAPTURE(num_classes);
    const folia::model_file model = make_test_model(num_classes, 1234u + uint32_t(num_classes));
    const std::vector<uint8_t> bytes = serialise(model);
    const int s = model.preprocess.input_size;
    const size_t per_image = size_t(s) * s * 3;
    const std::vector<float> x = random_input(3, s, 99);
    const std::vector<double> ref = folia_test::reference_logits(model, x.data(), 3);

    // The reference is only a reference if the network is not degenerate: logits must spread.
    const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
    REQUIRE(*hi - *lo > 0.5);

    for (int threads : {1, 2}) {
        CAPTURE(threads);
        // max_batch 2 on 2 threads: batch 3 then runs as 2 + 1, exercising the chunking too.
        ctx_ptr ctx = make_ctx(bytes, threads, threads == 2 ? 2 : 32);
        REQUIRE(folia_num_classes(ctx.get()) == num_classes);
        REQUIRE(folia_input_size(ctx.get()) == s);

        std::vector<float> out3(size_t(3) * num_classes);
        REQUIRE(folia_logits(ctx.get(), x.data(), 3, out3.data()) == FOLIA_OK);
        const double diff3 = max_abs_diff(out3.data(), ref.data(), out3.size());
        CAPTURE(diff3);
        CHECK(diff3 <= 1e-4);

        // Batch 1 after batch 3 (re-planned runtime), on the last image so the offset matters.
        std::vector<float> out1(static_cast<size_t>(num_classes));
        REQUIRE(folia_logits(ctx.get(), x.data() + 2 * per_image, 1, out1.data()) == FOLIA_OK);
        const double diff1 = max_abs_diff(out1.data(), ref.data() + 2 * num_classes, out1.size());
        CAPTURE(diff1);
        CHECK(diff1 <= 1e-4);

        // Same batch again: the planned runtime is reused and gives the same numbers.
        std::vector<float> again(static_cast<size_t>(num_classes));
        REQUIRE(folia_logits(ctx.get(), x.data() + 2 * per_image, 1, again.data()) == FOLIA_OK);
        CHECK(again == out1);
    }
}

TEST_CASE("The engine's Winograd and direct (XNNPACK) conv paths both match the reference model",
          "[engine][model][winograd]") {
    // Input 72: the blocks see 72, 36, 18 and 9 (odd: ragged Winograd tiles, a pool that floors).
    for (const int size : {128, 72}) {
        CAPTURE(size);
        const folia::model_file model = make_test_model(11, 4000u + uint32_t(size), size);
        const std::vector<uint8_t> bytes = serialise(model);
        const std::vector<float> x = random_input(3, size, 123);
        const std::vector<double> ref = folia_test::reference_logits(model, x.data(), 3);
        const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
        REQUIRE(*hi - *lo > 0.5);
        for (int threads : {1, 2}) {
            CAPTURE(threads);
            std::vector<float> out[2];
            for (int algo : {FOLIA_CONV_WINOGRAD, FOLIA_CONV_XNNPACK}) {
                CAPTURE(algo);
                folia_params p = folia_default_params();
                p.num_threads = threads;
                p.conv_algo = algo;
                folia_context *raw = nullptr;
                REQUIRE(folia_init_from_buffer(bytes.data(), bytes.size(), &p, &raw) == FOLIA_OK);
                ctx_ptr ctx(raw, folia_free);
                out[algo].resize(3 * 11);
                REQUIRE(folia_logits(ctx.get(), x.data(), 3, out[algo].data()) == FOLIA_OK);
                const double diff = max_abs_diff(out[algo].data(), ref.data(), out[algo].size());
                CAPTURE(diff);
                CHECK(diff <= 1e-4);
            }
            double between = 0;
            for (size_t i = 0; i < out[0].size(); ++i)
                between = std::max(between, double(std::abs(out[0][i] - out[1][i])));
            CAPTURE(between);
            CHECK(between <= 1e-4);
        }
    }
}

TEST_CASE("The engine's logits match the reference model for a non-default input size",
          "[engine][model]") {
    const folia::model_file model = make_test_model(7, 77, /*input_size=*/72);
    const std::vector<float> x = random_input(2, 72, 5);
    const std::vector<double> ref = folia_test::reference_logits(model, x.data(), 2);
    ctx_ptr ctx = make_ctx(serialise(model), 1);
    REQUIRE(folia_input_size(ctx.get()) == 72);
    std::vector<float> out(2 * 7);
    REQUIRE(folia_logits(ctx.get(), x.data(), 2, out.data()) == FOLIA_OK);
    const double diff = max_abs_diff(out.data(), ref.data(), out.size());
    CAPTURE(diff);
    CHECK(diff <= 1e-4);
}

TEST_CASE("The engine's classify on pixels equals softmax(logits / T) of the preprocessed image",
          "[engine]") {
    folia::model_file model = make_test_model(5, 4242);
    model.calibration.temperature = 1.7f;
    ctx_ptr ctx = make_ctx(serialise(model), 1);
    REQUIRE(folia_temperature(ctx.get()) == Approx(1.7f));
    const int s = 128;

    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    auto logits_of = [&](const folia::image_u8 &img) {
        std::vector<float> x(size_t(s) * s * 3);
        folia::normalize_nhwc(img, model.preprocess.mean, model.preprocess.std, x.data());
        std::vector<float> l(5);
        REQUIRE(folia_logits(ctx.get(), x.data(), 1, l.data()) == FOLIA_OK);
        return l;
    };

    SECTION("an image already at the input size, RGB with row padding and RGBA") {
        folia::image_u8 img{s, s, 3, std::vector<uint8_t>(size_t(s) * s * 3)};
        for (uint8_t &b : img.data) b = uint8_t(byte(rng));
        const int stride3 = s * 3 + 5, stride4 = s * 4 + 12;
        std::vector<uint8_t> rgb(size_t(stride3) * s, 0xEE), rgba(size_t(stride4) * s, 0xEE);
        for (int y = 0; y < s; ++y)
            for (int x = 0; x < s; ++x)
                for (int c = 0; c < 3; ++c) {
                    const uint8_t v = img.data[(size_t(y) * s + x) * 3 + c];
                    rgb[size_t(y) * stride3 + size_t(x) * 3 + c] = v;
                    rgba[size_t(y) * stride4 + size_t(x) * 4 + c] = v;
                    rgba[size_t(y) * stride4 + size_t(x) * 4 + 3] = uint8_t(byte(rng));
                }
        const std::vector<float> expected = softmax_ref(logits_of(img), 1.7f);
        std::vector<float> p_rgb(5), p_rgba(5);
        REQUIRE(folia_classify(ctx.get(), rgb.data(), s, s, stride3, 3, p_rgb.data()) == FOLIA_OK);
        REQUIRE(folia_classify(ctx.get(), rgba.data(), s, s, stride4, 4, p_rgba.data()) ==
                FOLIA_OK);
        for (int i = 0; i < 5; ++i) {
            CHECK(p_rgb[size_t(i)] == Approx(expected[size_t(i)]).margin(1e-6));
            CHECK(p_rgba[size_t(i)] == p_rgb[size_t(i)]);  // alpha is ignored
        }
    }

    SECTION("an image that needs resizing goes through the shared resize") {
        folia::image_u8 img{200, 150, 3, std::vector<uint8_t>(size_t(200) * 150 * 3)};
        for (uint8_t &b : img.data) b = uint8_t(byte(rng));
        const std::vector<float> expected =
            softmax_ref(logits_of(folia::resize_bilinear_pillow(img, s, s)), 1.7f);
        std::vector<float> p(5);
        REQUIRE(folia_classify(ctx.get(), img.data.data(), 200, 150, 600, 3, p.data()) == FOLIA_OK);
        for (int i = 0; i < 5; ++i) CHECK(p[size_t(i)] == Approx(expected[size_t(i)]).margin(1e-6));
    }

    SECTION("encoded PNG bytes give the probabilities of their decoded pixels") {
        const int w = 96, h = 160;
        std::vector<uint8_t> pixels(size_t(w) * h * 3);
        for (uint8_t &b : pixels) b = uint8_t(byte(rng));
        std::vector<uint8_t> png;
        stbi_write_png_to_func(
            [](void *ctx_, void *data, int size) {
                auto *v = static_cast<std::vector<uint8_t> *>(ctx_);
                v->insert(v->end(), static_cast<uint8_t *>(data),
                          static_cast<uint8_t *>(data) + size);
            },
            &png, w, h, 3, pixels.data(), w * 3);
        REQUIRE(!png.empty());
        std::vector<float> from_bytes(5), from_pixels(5);
        REQUIRE(folia_classify_image(ctx.get(), png.data(), png.size(), from_bytes.data()) ==
                FOLIA_OK);
        REQUIRE(folia_classify(ctx.get(), pixels.data(), w, h, w * 3, 3, from_pixels.data()) ==
                FOLIA_OK);
        CHECK(from_bytes == from_pixels);
    }
}

TEST_CASE("The engine's probabilities sum to 1 and temperature flattens them", "[engine]") {
    folia::model_file model = make_test_model(35, 31337);
    const std::vector<float> x = random_input(1, 128, 3);
    std::vector<float> logits(35);
    {
        ctx_ptr ctx = make_ctx(serialise(model), 1);
        REQUIRE(folia_logits(ctx.get(), x.data(), 1, logits.data()) == FOLIA_OK);
    }
    // Pixels whose normalisation we control: a flat grey image.
    const int s = 128;
    std::vector<uint8_t> grey(size_t(s) * s * 3, 128);
    std::vector<float> p1(35), p3(35);
    {
        ctx_ptr ctx = make_ctx(serialise(model), 1);
        REQUIRE(folia_classify(ctx.get(), grey.data(), s, s, s * 3, 3, p1.data()) == FOLIA_OK);
    }
    model.calibration.temperature = 3.0f;
    {
        ctx_ptr ctx = make_ctx(serialise(model), 1);
        REQUIRE(folia_classify(ctx.get(), grey.data(), s, s, s * 3, 3, p3.data()) == FOLIA_OK);
        // The same logits through softmax(l / 3).
        std::vector<float> grey_x(size_t(s) * s * 3), l(35);
        folia::image_u8 img{s, s, 3, grey};
        folia::normalize_nhwc(img, model.preprocess.mean, model.preprocess.std, grey_x.data());
        REQUIRE(folia_logits(ctx.get(), grey_x.data(), 1, l.data()) == FOLIA_OK);
        const std::vector<float> expected = softmax_ref(l, 3.0f);
        for (int i = 0; i < 35; ++i)
            CHECK(p3[size_t(i)] == Approx(expected[size_t(i)]).margin(1e-6));
    }
    for (const auto *p : {&p1, &p3}) {
        double sum = 0;
        for (float v : *p) {
            CHECK(v >= 0.0f);
            CHECK(v <= 1.0f);
            sum += v;
        }
        CHECK(sum == Approx(1.0).margin(1e-5));
    }
    const size_t top = size_t(std::max_element(p1.begin(), p1.end()) - p1.begin());
    CHECK(size_t(std::max_element(p3.begin(), p3.end()) - p3.begin()) == top);
    CHECK(p3[top] < p1[top]);  // T > 1 lowers the confidence of the winner
}

TEST_CASE("The engine refuses every corrupted model file with its specific status",
          "[engine][model]") {
    const std::vector<uint8_t> good = serialise(make_test_model(5, 11));
    {
        ctx_ptr ctx = make_ctx(good, 1);  // the unmodified file loads
    }
    const uint32_t hdr_size = uint32_t(good[12]) | uint32_t(good[13]) << 8 |
                              uint32_t(good[14]) << 16 | uint32_t(good[15]) << 24;
    const size_t payload_start = (32 + hdr_size + 63) / 64 * 64;

    SECTION("zero bytes") {
        expect_refused({}, FOLIA_ERR_MODEL_TOO_SMALL);
        folia_context *ctx = nullptr;
        CHECK(folia_init_from_buffer(nullptr, 0, nullptr, &ctx) == FOLIA_ERR_MODEL_TOO_SMALL);
        CHECK(ctx == nullptr);
    }
    SECTION("fewer bytes than the fixed header") {
        expect_refused(std::vector<uint8_t>(good.begin(), good.begin() + 31),
                       FOLIA_ERR_MODEL_TOO_SMALL);
    }
    SECTION("wrong magic") {
        auto b = good;
        b[0] = 'X';
        expect_refused(b, FOLIA_ERR_MODEL_MAGIC);
    }
    SECTION("random bytes") {
        std::mt19937 rng(1);
        std::vector<uint8_t> b(4096);
        for (uint8_t &v : b) v = uint8_t(rng());
        expect_refused(b, FOLIA_ERR_MODEL_MAGIC);
    }
    SECTION("wrong version") {
        auto b = good;
        b[8] = 99;
        expect_refused(b, FOLIA_ERR_MODEL_VERSION);
    }
    SECTION("truncated: last byte, half the payload, only the header") {
        expect_refused(std::vector<uint8_t>(good.begin(), good.end() - 1),
                       FOLIA_ERR_MODEL_TRUNCATED);
        expect_refused(
            std::vector<uint8_t>(good.begin(), good.begin() + long(payload_start) +
                                                   long(good.size() - payload_start) / 2),
            FOLIA_ERR_MODEL_TRUNCATED);
        expect_refused(std::vector<uint8_t>(good.begin(), good.begin() + 40),
                       FOLIA_ERR_MODEL_TRUNCATED);
    }
    SECTION("a flipped header byte") {
        auto b = good;
        b[32 + hdr_size / 2] ^= 0x01;
        expect_refused(b, FOLIA_ERR_MODEL_HEADER_CHECKSUM);
    }
    SECTION("a flipped payload byte") {
        auto b = good;
        b[payload_start + (b.size() - payload_start) / 3] ^= 0x40;
        expect_refused(b, FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM);
    }
    SECTION("header that is not JSON (with a valid checksum)") {
        auto b = good;
        b[32] = '#';
        const uint32_t crc = folia::crc32(b.data() + 32, hdr_size);
        for (int i = 0; i < 4; ++i) b[24 + size_t(i)] = uint8_t(crc >> (8 * i));
        expect_refused(b, FOLIA_ERR_MODEL_HEADER);
    }
    SECTION("labels count differs from num_classes") {
        expect_refused(rewrite_header(good, [](nlohmann::json &j) { j["labels"].erase(0); }),
                       FOLIA_ERR_MODEL_HEADER);
    }
    SECTION("a missing header field") {
        expect_refused(rewrite_header(good, [](nlohmann::json &j) { j.erase("preprocess"); }),
                       FOLIA_ERR_MODEL_HEADER);
    }
    SECTION("unknown architecture") {
        expect_refused(
            rewrite_header(good, [](nlohmann::json &j) { j["arch"]["name"] = "resnet50"; }),
            FOLIA_ERR_MODEL_ARCH);
    }
    SECTION("a tensor of the wrong shape") {
        expect_refused(rewrite_header(good,
                                      [](nlohmann::json &j) {
                                          for (auto &t : j["tensors"])
                                              if (t["name"] == "fc2.weight") t["shape"] = {5, 255};
                                      }),
                       FOLIA_ERR_MODEL_TENSOR);
    }
    SECTION("num_classes changed without the tensors") {
        expect_refused(rewrite_header(good,
                                      [](nlohmann::json &j) {
                                          j["arch"]["num_classes"] = 4;
                                          j["labels"].erase(0);
                                      }),
                       FOLIA_ERR_MODEL_TENSOR);
    }
    SECTION("a missing tensor") {
        expect_refused(rewrite_header(good,
                                      [](nlohmann::json &j) {
                                          auto &t = j["tensors"];
                                          for (size_t i = 0; i < t.size(); ++i)
                                              if (t[i]["name"] == "block2.bn.running_var") {
                                                  t.erase(i);
                                                  break;
                                              }
                                      }),
                       FOLIA_ERR_MODEL_TENSOR);
    }
    SECTION("a tensor offset outside the payload") {
        expect_refused(
            rewrite_header(
                good, [](nlohmann::json &j) { j["tensors"][0]["offset"] = uint64_t(1) << 40; }),
            FOLIA_ERR_MODEL_TENSOR);
    }
    SECTION("too many pooling blocks for the input size") {
        expect_refused(
            rewrite_header(good, [](nlohmann::json &j) { j["preprocess"]["input_size"] = 8; }),
            FOLIA_ERR_MODEL_ARCH);
    }
}

TEST_CASE("The engine refuses bad arguments and never crashes", "[engine]") {
    const std::vector<uint8_t> good = serialise(make_test_model(5, 12));
    folia_params p = folia_default_params();
    CHECK(p.num_threads == 1);
    CHECK(p.max_batch == 32);
    CHECK(p.max_pixels == size_t(50000000));
    folia_context *raw = nullptr;
    CHECK(folia_init_from_buffer(good.data(), good.size(), &p, nullptr) ==
          FOLIA_ERR_INVALID_ARGUMENT);
    p.num_threads = 0;
    CHECK(folia_init_from_buffer(good.data(), good.size(), &p, &raw) == FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(raw == nullptr);
    p = folia_default_params();
    p.max_batch = 0;
    CHECK(folia_init_from_buffer(good.data(), good.size(), &p, &raw) == FOLIA_ERR_INVALID_ARGUMENT);
    p = folia_default_params();
    CHECK(p.conv_algo == FOLIA_CONV_WINOGRAD);
    for (int algo : {-1, 2}) {
        p.conv_algo = algo;
        CHECK(folia_init_from_buffer(good.data(), good.size(), &p, &raw) ==
              FOLIA_ERR_INVALID_ARGUMENT);
        CHECK(raw == nullptr);
    }

    ctx_ptr ctx = make_ctx(good, 1);
    std::vector<float> probs(5), x(128 * 128 * 3, 0.0f);
    std::vector<uint8_t> px(64 * 64 * 4, 100);
    CHECK(folia_logits(ctx.get(), x.data(), 0, probs.data()) == FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_logits(ctx.get(), nullptr, 1, probs.data()) == FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_classify(ctx.get(), px.data(), 64, 64, 64 * 3 - 1, 3, probs.data()) ==
          FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_classify(ctx.get(), px.data(), 64, 64, 64 * 2, 2, probs.data()) ==
          FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_classify(ctx.get(), px.data(), 0, 64, 64 * 3, 3, probs.data()) ==
          FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_classify(ctx.get(), px.data(), 64, 64, 64 * 3, 3, nullptr) ==
          FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(folia_classify_image(ctx.get(), px.data(), 0, probs.data()) == FOLIA_ERR_IMAGE_EMPTY);
    CHECK(folia_classify_image(ctx.get(), nullptr, 0, probs.data()) == FOLIA_ERR_IMAGE_EMPTY);
    const folia_status junk = folia_classify_image(ctx.get(), px.data(), px.size(), probs.data());
    CHECK(junk >= FOLIA_ERR_IMAGE_EMPTY);
    CHECK(junk <= FOLIA_ERR_IMAGE_UNSUPPORTED);
    CHECK(folia_label(ctx.get(), 4) == std::string("class_4"));
    CHECK(folia_label(ctx.get(), 5) == nullptr);
    CHECK(folia_label(ctx.get(), -1) == nullptr);
    // The context still works after all of that.
    CHECK(folia_logits(ctx.get(), x.data(), 1, probs.data()) == FOLIA_OK);
}

TEST_CASE("Every engine status has its own non-empty message", "[engine]") {
    std::set<std::string> seen;
    for (int s = 0; s < FOLIA_STATUS_COUNT; ++s) {
        const char *m = folia_status_message(folia_status(s));
        REQUIRE(m != nullptr);
        CHECK(std::strlen(m) > 0);
        CHECK(seen.insert(m).second);
    }
    CHECK(folia_status_message(folia_status(1000)) != nullptr);
}

namespace {

std::vector<uint8_t> slurp(const std::string &path) {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) return {};
    std::vector<uint8_t> bytes;
    uint8_t buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        bytes.insert(bytes.end(), buf, buf + n);
    std::fclose(f);
    return bytes;
}

// The source tree: compiled in natively, FOLIA_SOURCE_DIR under node (wasm).
std::string source_tree() {
    if (const char *e = std::getenv("FOLIA_SOURCE_DIR"); e && *e) return e;
#ifdef FOLIA_TEST_SOURCE_DIR
    return FOLIA_TEST_SOURCE_DIR;
#else
    return ".";
#endif
}

uint32_t le32(const uint8_t *p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

// The golden file (training/src/export.h): "FOLIAGLD", u32 version 1, N, S, C, K, reserved, then
// f32 input (N,S,S,C) normalised NHWC and f32 logits (N,K) computed by LibTorch at export time.
// Read here with plain C++, so a build without LibTorch (and the wasm builds) proves it computes
// the trained network.
TEST_CASE("The shipped model reproduces its golden LibTorch logits within 1e-4",
          "[engine][golden]") {
    const std::string dir = source_tree() + "/shared/models/";
    const std::vector<uint8_t> model = slurp(dir + "plantvillage.folia");
    const std::vector<uint8_t> golden = slurp(dir + "plantvillage.golden.bin");
    REQUIRE(model.size() > 1000);
    REQUIRE(golden.size() >= 32);
    REQUIRE(std::memcmp(golden.data(), "FOLIAGLD", 8) == 0);
    REQUIRE(le32(&golden[8]) == 1);
    const uint32_t n = le32(&golden[12]), s = le32(&golden[16]), c = le32(&golden[20]),
                   k = le32(&golden[24]);
    REQUIRE(c == 3);
    const size_t n_in = size_t(n) * s * s * c, n_out = size_t(n) * k;
    REQUIRE(golden.size() == 32 + 4 * (n_in + n_out));
    std::vector<float> x(n_in), want(n_out);  // x is (N,S,S,3) f32, want is (N,K) f32
    std::memcpy(x.data(), &golden[32], 4 * n_in);
    std::memcpy(want.data(), &golden[32 + 4 * n_in], 4 * n_out);
    for (int run = 0; run < 4; ++run) {
        const int threads = 1 + run % 2;
        folia_params p = folia_default_params();
        p.num_threads = threads;
        p.conv_algo = run < 2 ? FOLIA_CONV_WINOGRAD : FOLIA_CONV_XNNPACK;
        folia_context *raw = nullptr;
        REQUIRE(folia_init_from_buffer(model.data(), model.size(), &p, &raw) == FOLIA_OK);
        ctx_ptr ctx(raw, folia_free);
        REQUIRE(folia_num_classes(ctx.get()) == int(k));
        REQUIRE(folia_input_size(ctx.get()) == int(s));
        std::vector<float> got(n_out);
        REQUIRE(folia_logits(ctx.get(), x.data(), int(n), got.data()) == FOLIA_OK);
        float worst = 0;
        for (size_t i = 0; i < n_out; ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
        INFO("threads " << threads << ", conv_algo " << p.conv_algo
                        << ": max |engine - LibTorch| = " << worst);
        CHECK(worst <= 1e-4f);
    }
}
