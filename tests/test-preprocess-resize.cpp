// Resize parity with Pillow: every byte of our output equals Image.resize(..., Image.BILINEAR)
// computed by Pillow itself (tools/pillow-resize-ref.py) on the same losslessly stored pixels.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "folia/preprocess.h"
#include "test-preprocess-support.h"

using namespace folia_test;

namespace {

ref_manifest load_or_fail() {
    ref_manifest m;
    std::string why;
    if (!load_manifest(&m, &why)) FAIL(why);
    return m;
}

struct parity {
    int images = 0;
    int images_differing = 0;
    size_t bytes_compared = 0;
    size_t bytes_differing = 0;
    int max_level_diff = 0;
};

// Decodes the PNG with our decoder (lossless), resizes with our port and compares with Pillow.
void check_png_case(const ref_case &c, parity *p) {
    INFO("case " << c.name << " (" << c.input << ")");
    std::vector<uint8_t> png, expected;
    REQUIRE(read_file(c.input, &png));
    REQUIRE(read_file(c.expected, &expected));
    folia::image_u8 src;
    REQUIRE(folia::decode_image(png.data(), png.size(), size_t(1) << 26, &src) == FOLIA_OK);
    folia::image_u8 out;
    if (c.out_w == c.out_h) {
        // The production entry point: decode + orientation + resize.
        REQUIRE(folia::preprocess_image(png.data(), png.size(), size_t(1) << 26, c.out_w, &out) ==
                FOLIA_OK);
    } else {
        out = folia::resize_bilinear_pillow(src, c.out_w, c.out_h);
    }
    REQUIRE(out.width == c.out_w);
    REQUIRE(out.height == c.out_h);
    REQUIRE(out.channels == 3);
    REQUIRE(out.data.size() == expected.size());
    size_t diff = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        const int d = std::abs(int(out.data[i]) - int(expected[i]));
        if (d) {
            ++diff;
            if (d > p->max_level_diff) p->max_level_diff = d;
        }
    }
    ++p->images;
    p->bytes_compared += expected.size();
    p->bytes_differing += diff;
    if (diff) ++p->images_differing;
    CHECK(diff == 0);
}

}  // namespace

TEST_CASE("Resize matches Pillow byte for byte on at least 300 PlantVillage photos",
          "[preprocess][parity][data]") {
    const ref_manifest m = load_or_fail();
    if (m.data_dir.empty()) {
        FAIL(
            "FOLIA_DATA was not set when the Pillow reference files were generated: configure "
            "with -DFOLIA_DATA=/path/to/plantvillage (or export FOLIA_DATA) and rebuild");
    }
    const auto cases = m.of_kind("resize_data");
    INFO("data folder " << m.data_dir << ", Pillow " << m.pillow_version);
    REQUIRE(int(cases.size()) == m.data_count);
    REQUIRE(cases.size() >= 300);
    int peach = 0;
    parity p;
    for (const auto &c : cases) {
        if (c.name.rfind("Peach___healthy/", 0) == 0) ++peach;  // the 128x128 originals
        check_png_case(c, &p);
    }
    CHECK(peach > 0);
    std::printf(
        "resize parity (PlantVillage, Pillow %s): %d images, %zu bytes compared, "
        "%zu differing bytes in %d images, max diff %d levels\n",
        m.pillow_version.c_str(), p.images, p.bytes_compared, p.bytes_differing, p.images_differing,
        p.max_level_diff);
    REQUIRE(p.bytes_differing == 0);
}

TEST_CASE("Resize matches Pillow byte for byte on synthetic sizes from 1x1 to 12 megapixels",
          "[preprocess][parity]") {
    const ref_manifest m = load_or_fail();
    // The sizes the acceptance criteria name must all be there.
    for (const char *name : {"12mp-landscape", "12mp-portrait", "300x200", "127x129", "1x1",
                             "upscale-64", "non-square-out", "same-size"}) {
        INFO("missing synthetic case " << name);
        REQUIRE(m.find("resize_synth", name) != nullptr);
    }
    parity p;
    for (const auto &c : m.of_kind("resize_synth")) check_png_case(c, &p);
    std::printf("resize parity (synthetic): %d images, %zu bytes compared, %zu differing\n",
                p.images, p.bytes_compared, p.bytes_differing);
    REQUIRE(p.bytes_differing == 0);
}

TEST_CASE("Resize matches Pillow's resampler for 1-channel and 4-channel images",
          "[preprocess][parity]") {
    const ref_manifest m = load_or_fail();
    const auto cases = m.of_kind("resize_raw");
    REQUIRE(cases.size() == 2);
    for (const auto &c : cases) {
        INFO("case " << c.name);
        const auto whc = split_ints(c.extra);
        REQUIRE(whc.size() == 3);
        folia::image_u8 src;
        src.width = whc[0], src.height = whc[1], src.channels = whc[2];
        std::vector<uint8_t> expected;
        REQUIRE(read_file(c.input, &src.data));
        REQUIRE(read_file(c.expected, &expected));
        REQUIRE(src.data.size() == size_t(src.width) * src.height * src.channels);
        const folia::image_u8 out = folia::resize_bilinear_pillow(src, c.out_w, c.out_h);
        REQUIRE(out.channels == src.channels);
        REQUIRE(out.data == expected);
    }
}

TEST_CASE("Resize refuses empty or inconsistent images by returning an empty image",
          "[preprocess]") {
    folia::image_u8 empty;
    CHECK(folia::resize_bilinear_pillow(empty, 128, 128).data.empty());
    folia::image_u8 short_data;
    short_data.width = 10, short_data.height = 10, short_data.channels = 3;
    short_data.data.resize(299);
    CHECK(folia::resize_bilinear_pillow(short_data, 128, 128).data.empty());
    folia::image_u8 ok;
    ok.width = 2, ok.height = 2, ok.channels = 3;
    ok.data.assign(12, 7);
    CHECK(folia::resize_bilinear_pillow(ok, 0, 128).data.empty());
    const auto up = folia::resize_bilinear_pillow(ok, 5, 3);
    REQUIRE(up.data.size() == 5 * 3 * 3);
    for (uint8_t v : up.data) CHECK(v == 7);  // a constant image stays constant
}
