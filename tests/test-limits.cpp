// test-limits.cpp: the stated limits of docs/limits.md, each enforced with its status at the
// boundary (the limit itself passes, one more is refused): encoded photo bytes, pixels, model
// file bytes (read and written), photos and views of a teaching session. Built natively and for
// wasm (tests/teach.cmake), so both targets enforce the same numbers.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "folia.h"
#include "folia/model-file.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace {

// folia-cnn4 at 16x16, widths 4-8, hidden 8: every limit is independent of the network size.
folia::model_file tiny_model() {
    folia::model_file m;
    m.arch.channels = {4, 8};
    m.arch.hidden = 8;
    m.arch.num_classes = 2;
    m.preprocess.input_size = 16;
    m.labels = {"a", "b"};
    for (const auto &[name, shape] : folia::expected_tensors(m.arch)) {
        folia::tensor_f32 t;
        t.shape = shape;
        const bool one = name.find("running_var") != std::string::npos ||
                         name.find("bn.weight") != std::string::npos;
        t.data.assign(size_t(t.numel()), one ? 1.0f : 0.01f);
        m.tensors[name] = t;
    }
    return m;
}

std::vector<uint8_t> bytes_of(const folia::model_file &m) {
    std::vector<uint8_t> b;
    REQUIRE(folia::write_model_file(m, &b) == FOLIA_OK);
    return b;
}

struct context_deleter {
    void operator()(folia_context *c) const { folia_free(c); }
};
using context_ptr = std::unique_ptr<folia_context, context_deleter>;

context_ptr load(const std::vector<uint8_t> &b, size_t max_pixels = 50000000) {
    folia_params p = folia_default_params();
    p.max_pixels = max_pixels;
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(b.data(), b.size(), &p, &ctx) == FOLIA_OK);
    return context_ptr(ctx);
}

void append(void *ctx, void *data, int size) {
    auto *v = static_cast<std::vector<uint8_t> *>(ctx);
    v->insert(v->end(), static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + size);
}

std::vector<uint8_t> png(int w, int h) {
    std::vector<uint8_t> px(size_t(w) * size_t(h) * 3);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 7);
    std::vector<uint8_t> out;
    REQUIRE(stbi_write_png_to_func(append, &out, w, h, 3, px.data(), w * 3) != 0);
    return out;
}

}  // namespace

TEST_CASE(
    "An encoded photo over FOLIA_MAX_IMAGE_BYTES is refused as too large, one at the "
    "limit is read",
    "[limits]") {
    const context_ptr ctx = load(bytes_of(tiny_model()));
    float probs[2];
    // A valid PNG followed by zeros up to the limit: trailing bytes after IEND are allowed.
    std::vector<uint8_t> b = png(20, 10);
    b.resize(FOLIA_MAX_IMAGE_BYTES, 0);
    CHECK(folia_classify_image(ctx.get(), b.data(), b.size(), probs) == FOLIA_OK);
    b.push_back(0);
    CHECK(folia_classify_image(ctx.get(), b.data(), b.size(), probs) == FOLIA_ERR_IMAGE_TOO_LARGE);
    CHECK(std::string(folia_status_message(FOLIA_ERR_IMAGE_TOO_LARGE))
              .find("FOLIA_MAX_IMAGE_BYTES") != std::string::npos);
}

TEST_CASE(
    "A photo over the context's pixel limit is refused from its header, one at it is "
    "classified",
    "[limits]") {
    const std::vector<uint8_t> model = bytes_of(tiny_model());
    const std::vector<uint8_t> photo = png(40, 25);  // 1000 pixels
    float probs[2];
    CHECK(folia_classify_image(load(model, 1000).get(), photo.data(), photo.size(), probs) ==
          FOLIA_OK);
    CHECK(folia_classify_image(load(model, 999).get(), photo.data(), photo.size(), probs) ==
          FOLIA_ERR_IMAGE_TOO_LARGE);
    std::vector<uint8_t> px(1000 * 3, 9);
    CHECK(folia_classify(load(model, 999).get(), px.data(), 40, 25, 120, 3, probs) ==
          FOLIA_ERR_IMAGE_TOO_LARGE);
}

TEST_CASE(
    "A model file over FOLIA_MAX_MODEL_BYTES is refused before parsing, one at the limit "
    "loads",
    "[limits]") {
    std::vector<uint8_t> b = bytes_of(tiny_model());
    b.resize(FOLIA_MAX_MODEL_BYTES, 0);  // bytes after the payload are ignored
    load(b);
    b.push_back(0);
    folia_context *ctx = nullptr;
    char err[200] = "";
    CHECK(folia_init_from_buffer_ex(b.data(), b.size(), nullptr, &ctx, err, sizeof err) ==
          FOLIA_ERR_MODEL_TOO_LARGE);
    CHECK(ctx == nullptr);
    CHECK(std::string(err).find("more than the 67108864-byte limit") != std::string::npos);
}

TEST_CASE("The model-file writer refuses to write a file over FOLIA_MAX_MODEL_BYTES", "[limits]") {
    folia::model_file m = tiny_model();
    folia::tensor_f32 big;
    big.shape = {int64_t(FOLIA_MAX_MODEL_BYTES / 4)};  // 64 MiB of floats plus the rest
    big.data.assign(size_t(big.shape[0]), 0.0f);
    m.tensors["extra.big"] = std::move(big);
    std::vector<uint8_t> out;
    std::string error;
    CHECK(folia::write_model_file(m, &out, &error) == FOLIA_ERR_MODEL_TOO_LARGE);
    CHECK(error.find("-byte limit") != std::string::npos);
}

TEST_CASE(
    "A teaching session takes at most FOLIA_TEACH_MAX_PHOTOS photos and "
    "FOLIA_TEACH_MAX_VIEWS views",
    "[limits][teach]") {
    const context_ptr ctx = load(bytes_of(tiny_model()));
    folia_teach_params p = folia_default_teach_params();
    folia_teach_session *s = nullptr;
    p.max_photos = FOLIA_TEACH_MAX_PHOTOS + 1;
    CHECK(folia_teach_begin(ctx.get(), &p, &s) == FOLIA_ERR_INVALID_ARGUMENT);
    CHECK(s == nullptr);

    // 64 views per photo: 16384 / 64 = 256 photos fit, the 257th is over the views cap.
    p.max_photos = FOLIA_TEACH_MAX_PHOTOS;
    p.views_per_photo = 64;
    REQUIRE(folia_teach_begin(ctx.get(), &p, &s) == FOLIA_OK);
    const std::vector<uint8_t> photo = png(16, 16);
    const int fit = FOLIA_TEACH_MAX_VIEWS / 64;
    int accepted = 0;
    for (int i = 0; i < fit; ++i)
        accepted += folia_teach_add_image(s, "a", nullptr, photo.data(), photo.size()) == FOLIA_OK;
    CHECK(accepted == fit);
    CHECK(folia_teach_add_image(s, "a", nullptr, photo.data(), photo.size()) ==
          FOLIA_ERR_TEACH_LIMIT);
    folia_teach_free(s);

    // The photo count: max_photos accepted, one more refused.
    p = folia_default_teach_params();
    p.max_photos = 3;
    REQUIRE(folia_teach_begin(ctx.get(), &p, &s) == FOLIA_OK);
    for (int i = 0; i < 3; ++i)
        CHECK(folia_teach_add_image(s, "b", nullptr, photo.data(), photo.size()) == FOLIA_OK);
    CHECK(folia_teach_add_image(s, "b", nullptr, photo.data(), photo.size()) ==
          FOLIA_ERR_TEACH_LIMIT);
    folia_teach_free(s);
}

TEST_CASE("A teaching photo over the pixel or byte limits is refused and the session goes on",
          "[limits][teach]") {
    const context_ptr ctx = load(bytes_of(tiny_model()), 1000);
    folia_teach_session *s = nullptr;
    folia_teach_params p = folia_default_teach_params();
    p.epochs = 1;
    p.views_per_photo = 1;
    REQUIRE(folia_teach_begin(ctx.get(), &p, &s) == FOLIA_OK);
    const std::vector<uint8_t> big = png(50, 21), ok = png(20, 20);
    CHECK(folia_teach_add_image(s, "new", nullptr, big.data(), big.size()) ==
          FOLIA_ERR_IMAGE_TOO_LARGE);
    std::vector<uint8_t> huge = ok;
    huge.resize(FOLIA_MAX_IMAGE_BYTES + 1, 0);
    CHECK(folia_teach_add_image(s, "new", nullptr, huge.data(), huge.size()) ==
          FOLIA_ERR_IMAGE_TOO_LARGE);
    CHECK(folia_teach_add_image(s, "new", nullptr, ok.data(), ok.size()) == FOLIA_OK);
    CHECK(folia_teach_run(s, nullptr, nullptr) == FOLIA_OK);
    // Refused photos made no class: 2 old + 1 new.
    uint8_t *out = nullptr;
    size_t n = 0;
    REQUIRE(folia_teach_result(s, &out, &n) == FOLIA_OK);
    folia::model_file m;
    CHECK(folia::parse_model_file(out, n, &m) == FOLIA_OK);
    CHECK(m.labels == std::vector<std::string>{"a", "b", "new"});
    folia_buffer_free(out);
    folia_teach_free(s);
}
