// Model file format: round trip, and every kind of damage refused with its own status.
#include <catch2/catch.hpp>

#include <cstring>

#include "folia/model-file.h"

namespace {

folia::model_file tiny_model(int classes) {
    folia::model_file m;
    m.arch.channels = {4, 8};
    m.arch.hidden = 6;
    m.arch.num_classes = classes;
    for (int i = 0; i < classes; ++i) m.labels.push_back("class " + std::to_string(i));
    m.calibration.temperature = 1.5f;
    m.calibration.abstain_threshold = 0.6f;
    m.meta_json = R"({"run":"unit test"})";
    float v = 0.0f;
    for (const auto &[name, shape] : folia::expected_tensors(m.arch)) {
        folia::tensor_f32 t;
        t.shape = shape;
        t.data.resize(size_t(t.numel()));
        for (float &x : t.data) x = (v += 0.25f);
        m.tensors[name] = t;
    }
    return m;
}

std::vector<uint8_t> serialised(const folia::model_file &m) {
    std::vector<uint8_t> bytes;
    REQUIRE(folia::write_model_file(m, &bytes) == FOLIA_OK);
    return bytes;
}

folia_status parse(const std::vector<uint8_t> &bytes, std::string *err = nullptr) {
    folia::model_file out;
    return folia::parse_model_file(bytes.data(), bytes.size(), &out, err);
}

}  // namespace

TEST_CASE("A written model file reads back with identical tensors, labels and constants",
          "[model]") {
    const folia::model_file m = tiny_model(5);
    const auto bytes = serialised(m);
    folia::model_file back;
    REQUIRE(folia::parse_model_file(bytes.data(), bytes.size(), &back) == FOLIA_OK);
    CHECK(back.labels == m.labels);
    CHECK(back.arch.channels == m.arch.channels);
    CHECK(back.arch.num_classes == 5);
    CHECK(back.calibration.temperature == 1.5f);
    CHECK(back.calibration.abstain_threshold == 0.6f);
    CHECK(back.preprocess.input_size == 128);
    CHECK(back.meta_json == R"({"run":"unit test"})");
    REQUIRE(back.tensors.size() == m.tensors.size());
    for (const auto &[name, t] : m.tensors) {
        CHECK(back.tensors.at(name).shape == t.shape);
        CHECK(back.tensors.at(name).data == t.data);
    }
}

TEST_CASE("CRC-32 matches the standard check value", "[model]") {
    const char *s = "123456789";
    CHECK(folia::crc32(reinterpret_cast<const uint8_t *>(s), 9) == 0xCBF43926u);
}

TEST_CASE("Damaged model files are refused with a specific status and message", "[model]") {
    const auto good = serialised(tiny_model(3));
    std::string err;

    SECTION("zero bytes") {
        CHECK(parse({}, &err) == FOLIA_ERR_MODEL_TOO_SMALL);
    }
    SECTION("wrong magic") {
        auto b = good;
        b[0] = 'X';
        CHECK(parse(b, &err) == FOLIA_ERR_MODEL_MAGIC);
    }
    SECTION("future version") {
        auto b = good;
        b[8] = 99;
        CHECK(parse(b, &err) == FOLIA_ERR_MODEL_VERSION);
    }
    SECTION("truncated payload") {
        auto b = good;
        b.resize(b.size() - 10);
        CHECK(parse(b, &err) == FOLIA_ERR_MODEL_TRUNCATED);
    }
    SECTION("flipped header byte") {
        auto b = good;
        b[folia::k_model_fixed_header + 5] ^= 0x20;
        CHECK(parse(b, &err) == FOLIA_ERR_MODEL_HEADER_CHECKSUM);
    }
    SECTION("flipped payload byte") {
        auto b = good;
        b[b.size() - 3] ^= 0x01;
        CHECK(parse(b, &err) == FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM);
    }
    CHECK_FALSE(err.empty());
}

TEST_CASE("Writing refuses tensors whose shape does not fit the architecture", "[model]") {
    auto m = tiny_model(3);
    m.tensors["fc2.weight"].shape = {4, 6};
    m.tensors["fc2.weight"].data.resize(24);
    std::vector<uint8_t> bytes;
    std::string err;
    CHECK(folia::write_model_file(m, &bytes, &err) == FOLIA_ERR_MODEL_TENSOR);
    CHECK(err.find("fc2.weight") != std::string::npos);
}

TEST_CASE("A label list that does not match the class count is refused", "[model]") {
    auto m = tiny_model(3);
    m.labels.pop_back();
    std::vector<uint8_t> bytes;
    CHECK(folia::write_model_file(m, &bytes) == FOLIA_ERR_MODEL_HEADER);
}
