// Model file format: round trip, and every kind of damage refused with its own status.
#include <catch2/catch.hpp>

#include <cstdio>
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

namespace {

uint64_t read_le(const std::vector<uint8_t> &b, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b[at + size_t(i)];
    return v;
}

void write_le(std::vector<uint8_t> &b, size_t at, int bytes, uint64_t v) {
    for (int i = 0; i < bytes; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}

// The file with its JSON header's text edited (`from` -> `to`, once), laid out again (header,
// zero padding to a multiple of 64, the same payload) with the header's size and checksum
// right (and the payload's checksum), so that the edit reaches the header's parser.
std::vector<uint8_t> with_header_edit(const std::vector<uint8_t> &b, const std::string &from,
                                      const std::string &to) {
    const auto align64 = [](size_t n) { return (n + 63) / 64 * 64; };
    const size_t fixed = folia::k_model_fixed_header;
    const size_t hs = size_t(read_le(b, 12, 4)), ps = size_t(read_le(b, 16, 8));
    std::string hdr(b.begin() + std::ptrdiff_t(fixed), b.begin() + std::ptrdiff_t(fixed + hs));
    const size_t at = hdr.find(from);
    REQUIRE(at != std::string::npos);
    hdr.replace(at, from.size(), to);
    const size_t old_start = align64(fixed + hs), new_start = align64(fixed + hdr.size());
    REQUIRE(old_start + ps <= b.size());
    std::vector<uint8_t> r(new_start + ps, 0);
    std::memcpy(r.data(), b.data(), fixed);
    std::memcpy(r.data() + fixed, hdr.data(), hdr.size());
    std::memcpy(r.data() + new_start, b.data() + old_start, ps);
    write_le(r, 12, 4, hdr.size());
    write_le(r, 24, 4, folia::crc32(r.data() + fixed, hdr.size()));
    write_le(r, 28, 4, folia::crc32(r.data() + new_start, ps));
    return r;
}

}  // namespace

// fuzz_model_file found `"shape": [3.3e96, ...]`: nlohmann's get<int64_t>() casts it, which is
// undefined behaviour (UBSan reports it in the sanitizer suite). Every number of the header is
// now read as what it must be, in range, or the file is refused.
TEST_CASE("Header numbers of the wrong kind or out of range are refused, not cast", "[model]") {
    const auto good = serialised(tiny_model(3));
    REQUIRE(parse(good) == FOLIA_OK);
    const std::string header(
        good.begin() + folia::k_model_fixed_header,
        good.begin() + std::ptrdiff_t(folia::k_model_fixed_header + read_le(good, 12, 4)));
    INFO("header: " << header);
    struct edit {
        std::string from, to, message;
    };
    const std::vector<edit> edits = {
        {"\"shape\":[4,3,3,3]", "\"shape\":[3.33333e+96,3,3,3]", "tensor shape must be an integer"},
        {"\"shape\":[4,3,3,3]", "\"shape\":[4.5,3,3,3]", "tensor shape must be an integer"},
        {"\"shape\":[4,3,3,3]", "\"shape\":[18446744073709551615,3,3,3]",
         "tensor shape out of range"},
        {"\"hidden\":6", "\"hidden\":1e300", "arch.hidden must be an integer"},
        {"\"hidden\":6", "\"hidden\":4294967302", "arch.hidden out of range"},
        {"\"input_size\":128", "\"input_size\":\"128\"",
         "preprocess.input_size must be an integer"},
        {"\"bn_eps\":", "\"bn_eps\":1e300,\"x\":", "bn_eps is not a finite float"},
        {"\"temperature\":1.5", "\"temperature\":-1e39", "temperature is not a finite float"},
        {"\"mean\":[", "\"mean\":[1e300,", "preprocess.mean is not a finite float"},
    };
    for (const edit &e : edits) {
        INFO(e.from << " -> " << e.to);
        std::string err;
        CHECK(parse(with_header_edit(good, e.from, e.to), &err) == FOLIA_ERR_MODEL_HEADER);
        CHECK_THAT(err, Catch::Contains(e.message));
    }
    // The committed input the fuzzer found (its checksums repaired, as fuzz_model_file's second
    // parse does) is refused the same way.
    const auto found = [] {
        std::FILE *f =
            std::fopen(FOLIA_TEST_SOURCE_DIR
                       "/fuzz/regressions/fuzz_model_file/float-out-of-range-shape.folia",
                       "rb");
        REQUIRE(f);
        std::vector<uint8_t> b(1 << 16);
        b.resize(std::fread(b.data(), 1, b.size(), f));
        std::fclose(f);
        return b;
    }();
    std::string err;
    CHECK(parse(with_header_edit(found, "", ""), &err) == FOLIA_ERR_MODEL_HEADER);
    CHECK_THAT(err, Catch::Contains("tensor shape"));
}
