// Decoding: exact results where the format is lossless (PNG, EXIF geometry), libjpeg within a
// stated tolerance where decoders legitimately differ (JPEG IDCT and upsampling), and a specific
// status for every kind of bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "container.h"
#include "folia/preprocess.h"
#include "folia/splitmix64.h"
#include "test-preprocess-support.h"

using namespace folia_test;

namespace {

constexpr size_t k_max_pixels = 50000000;  // folia_default_params().max_pixels

ref_manifest load_or_fail() {
    ref_manifest m;
    std::string why;
    if (!load_manifest(&m, &why)) FAIL(why);
    return m;
}

std::vector<uint8_t> read_or_fail(const std::string &path) {
    std::vector<uint8_t> b;
    INFO("reading " << path);
    REQUIRE(read_file(path, &b));
    return b;
}

folia_status decode(const std::vector<uint8_t> &b, folia::image_u8 *out,
                    size_t max_pixels = k_max_pixels) {
    return folia::decode_image(b.data(), b.size(), max_pixels, out);
}

struct diff_stats {
    int max = 0;
    double mean = 0;
};
diff_stats compare(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b) {
    diff_stats s;
    double sum = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const int d = std::abs(int(a[i]) - int(b[i]));
        sum += d;
        if (d > s.max) s.max = d;
    }
    s.mean = a.empty() ? 0 : sum / double(a.size());
    return s;
}

// Byte offset of the first JPEG marker `code` before the first scan, or npos.
size_t find_jpeg_marker(const std::vector<uint8_t> &j, int code) {
    size_t pos = 2;
    while (pos + 4 <= j.size() && j[pos] == 0xFF) {
        const int m = j[pos + 1];
        if (m == code) return pos;
        if (m == 0xDA) break;
        pos += 2 + (size_t(j[pos + 2]) << 8 | j[pos + 3]);
    }
    return std::string::npos;
}

}  // namespace

TEST_CASE(
    "PNG gray, gray+alpha, RGBA, palette, bilevel and 16-bit RGB decode to exactly "
    "Pillow's convert(\"RGB\")",
    "[preprocess][decode]") {
    const ref_manifest m = load_or_fail();
    const auto cases = m.of_kind("convert");
    REQUIRE(cases.size() >= 7);
    for (const auto &c : cases) {
        INFO("case " << c.name);
        const auto png = read_or_fail(c.input);
        const auto expected = read_or_fail(c.expected);
        folia::image_u8 img;
        REQUIRE(decode(png, &img) == FOLIA_OK);
        REQUIRE(img.channels == 3);
        REQUIRE(img.width == c.out_w);
        REQUIRE(img.height == c.out_h);
        REQUIRE(img.data.size() == expected.size());
        const diff_stats s = compare(img.data, expected);
        INFO("max diff " << s.max << ", mean " << s.mean << " levels");
        CHECK(s.max == 0);
    }
}

TEST_CASE(
    "EXIF orientations 1 to 8 in both byte orders transpose exactly like "
    "ImageOps.exif_transpose",
    "[preprocess][decode][exif]") {
    const ref_manifest m = load_or_fail();
    const auto cases = m.of_kind("orient_map");
    REQUIRE(cases.size() == 16);
    for (const auto &c : cases) {
        INFO("case " << c.name);
        const auto extra = split_ints(c.extra);  // orientation, base w, base h, (base path)
        REQUIRE(extra.size() == 4);
        const auto jpeg = read_or_fail(c.input);
        CHECK(folia::exif_orientation(jpeg.data(), jpeg.size()) == extra[0]);
        // The oriented file is the base file plus an APP1 segment: same scan bytes, so stb
        // decodes the same pixels and only the geometry may differ.
        folia::image_u8 base, img;
        REQUIRE(decode(read_or_fail(m.dir + "/decode/orient-base.jpg"), &base) == FOLIA_OK);
        REQUIRE(base.width == extra[1]);
        REQUIRE(base.height == extra[2]);
        REQUIRE(decode(jpeg, &img) == FOLIA_OK);
        REQUIRE(img.width == c.out_w);
        REQUIRE(img.height == c.out_h);
        // map[i]: index (y * w + x) of the base pixel Pillow puts at output pixel i.
        const auto map_bytes = read_or_fail(c.expected);
        REQUIRE(map_bytes.size() == size_t(c.out_w) * c.out_h * 4);
        int wrong = 0;
        for (size_t i = 0; i < size_t(c.out_w) * c.out_h; ++i) {
            const uint32_t src = uint32_t(map_bytes[4 * i]) | uint32_t(map_bytes[4 * i + 1]) << 8 |
                                 uint32_t(map_bytes[4 * i + 2]) << 16 |
                                 uint32_t(map_bytes[4 * i + 3]) << 24;
            REQUIRE(src < uint32_t(base.width * base.height));
            wrong += std::memcmp(&img.data[3 * i], &base.data[3 * size_t(src)], 3) != 0;
        }
        CHECK(wrong == 0);
        // apply_orientation on its own gives the same image.
        CHECK(folia::apply_orientation(base, extra[0]).data == img.data);
    }
}

// stb_image and libjpeg-turbo use different IDCTs and chroma upsampling: measured on these files
// (Pillow 9.4, stb_image 2.27) the largest single difference is 3 levels and the mean under 0.1;
// the issue measured up to 6 levels on progressive 4:2:0 photos, hence the bounds below.
// Geometry errors (a wrong orientation) give means of tens of levels.
constexpr int k_jpeg_max_diff = 8;
constexpr double k_jpeg_mean_diff = 0.5;
TEST_CASE(
    "Oriented JPEGs match Pillow's decode and exif_transpose within JPEG decoder "
    "tolerance",
    "[preprocess][decode][exif]") {
    const ref_manifest m = load_or_fail();
    const auto cases = m.of_kind("orient_pillow");
    REQUIRE(cases.size() >= 19);
    for (const auto &c : cases) {
        INFO("case " << c.name);
        folia::image_u8 img;
        REQUIRE(decode(read_or_fail(c.input), &img) == FOLIA_OK);
        REQUIRE(img.width == c.out_w);
        REQUIRE(img.height == c.out_h);
        const auto expected = read_or_fail(c.expected);
        REQUIRE(img.data.size() == expected.size());
        const diff_stats s = compare(img.data, expected);
        INFO("max diff " << s.max << ", mean " << s.mean);
        CHECK(s.mean < k_jpeg_mean_diff);
        CHECK(s.max <= k_jpeg_max_diff);
    }
}

TEST_CASE("Baseline, progressive, grayscale and Adobe CMYK JPEGs decode close to libjpeg",
          "[preprocess][decode]") {
    const ref_manifest m = load_or_fail();
    const auto cases = m.of_kind("lossy");
    REQUIRE(cases.size() >= 6);
    for (const auto &c : cases) {
        INFO("case " << c.name);
        folia::image_u8 img;
        REQUIRE(decode(read_or_fail(c.input), &img) == FOLIA_OK);
        REQUIRE(img.channels == 3);
        REQUIRE(img.width == c.out_w);
        REQUIRE(img.height == c.out_h);
        const auto expected = read_or_fail(c.expected);
        const diff_stats s = compare(img.data, expected);
        std::printf("decode vs libjpeg (%s): max diff %d, mean %.3f\n", c.name.c_str(), s.max,
                    s.mean);
        INFO("max diff " << s.max << ", mean " << s.mean);
        CHECK(s.mean < k_jpeg_mean_diff);
        CHECK(s.max <= k_jpeg_max_diff);
    }
}

TEST_CASE("Every kind of bad input gets its own status and leaves the output untouched",
          "[preprocess][decode][errors]") {
    const ref_manifest m = load_or_fail();
    const auto jpeg = read_or_fail(m.dir + "/decode/jpeg-baseline-420.jpg");
    const auto png = read_or_fail(m.dir + "/decode/rgba.png");
    folia::image_u8 out;
    out.width = 7;  // a marker that failures must not overwrite
    auto status_of = [&](const std::vector<uint8_t> &b, size_t max_pixels = k_max_pixels) {
        const folia_status st = decode(b, &out, max_pixels);
        if (st != FOLIA_OK) CHECK(out.width == 7);
        return st;
    };

    SECTION("zero bytes") {
        CHECK(status_of({}) == FOLIA_ERR_IMAGE_EMPTY);
    }
    SECTION("null pointers") {
        CHECK(folia::decode_image(nullptr, 10, k_max_pixels, &out) == FOLIA_ERR_INVALID_ARGUMENT);
        CHECK(folia::decode_image(jpeg.data(), jpeg.size(), k_max_pixels, nullptr) ==
              FOLIA_ERR_INVALID_ARGUMENT);
    }
    SECTION("random bytes and other formats") {
        folia::splitmix64 rng{42};
        for (int i = 0; i < 50; ++i) {
            std::vector<uint8_t> b(1 + rng.next() % 5000);
            for (auto &v : b) v = uint8_t(rng.next());
            if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8) b[0] = 0;
            if (b[0] == 0x89) b[0] = 0;
            CHECK(status_of(b) == FOLIA_ERR_IMAGE_FORMAT);
        }
        const std::string gif = "GIF89a\x01\x00\x01\x00";
        CHECK(status_of(std::vector<uint8_t>(gif.begin(), gif.end())) == FOLIA_ERR_IMAGE_FORMAT);
    }
    SECTION("truncated JPEG") {
        for (size_t keep : {size_t(3), size_t(200), jpeg.size() / 2, jpeg.size() - 2}) {
            INFO("kept " << keep << " of " << jpeg.size() << " bytes");
            CHECK(status_of({jpeg.begin(), jpeg.begin() + keep}) == FOLIA_ERR_IMAGE_CORRUPT);
        }
    }
    SECTION("bytes after the end of a JPEG, or stray bytes between its segments, are ignored") {
        folia::image_u8 clean;
        REQUIRE(decode(jpeg, &clean) == FOLIA_OK);
        auto b = jpeg;
        b.insert(b.end(), 100, 0xAB);
        CHECK(status_of(b) == FOLIA_OK);
        auto stray = jpeg;
        const size_t sof = find_jpeg_marker(stray, 0xC0);
        REQUIRE(sof != std::string::npos);
        stray.insert(stray.begin() + sof, {0x00, 0x00, 0x00});
        CHECK(status_of(stray) == FOLIA_OK);
        CHECK(out.data == clean.data);
    }
    SECTION("a JPEG whose height comes later in a DNL marker is unsupported") {
        auto dnl = jpeg;
        const size_t sof = find_jpeg_marker(dnl, 0xC0);
        REQUIRE(sof != std::string::npos);
        dnl[sof + 5] = 0, dnl[sof + 6] = 0;  // height
        CHECK(status_of(dnl) == FOLIA_ERR_IMAGE_UNSUPPORTED);
    }
    SECTION("truncated PNG and a PNG with a bad checksum") {
        CHECK(status_of({png.begin(), png.begin() + png.size() / 2}) == FOLIA_ERR_IMAGE_CORRUPT);
        CHECK(status_of({png.begin(), png.end() - 12}) == FOLIA_ERR_IMAGE_CORRUPT);  // no IEND
        auto b = png;
        b[b.size() / 2] ^= 0x10;  // inside IDAT: the CRC no longer matches
        CHECK(status_of(b) == FOLIA_ERR_IMAGE_CORRUPT);
        std::vector<uint8_t> sig_only(png.begin(), png.begin() + 8);
        sig_only.resize(64, 0x5A);
        CHECK(status_of(sig_only) == FOLIA_ERR_IMAGE_CORRUPT);
    }
    SECTION("JPEG features stb does not read are unsupported, not corrupt") {
        auto arith = jpeg;  // SOF9: arithmetic coding
        const size_t sof = find_jpeg_marker(arith, 0xC0);
        REQUIRE(sof != std::string::npos);
        arith[sof + 1] = 0xC9;
        CHECK(status_of(arith) == FOLIA_ERR_IMAGE_UNSUPPORTED);
        auto twelve_bit = jpeg;
        twelve_bit[sof + 4] = 12;  // sample precision
        CHECK(status_of(twelve_bit) == FOLIA_ERR_IMAGE_UNSUPPORTED);
    }
    SECTION("CMYK JPEG without the Adobe marker is unsupported") {
        auto cmyk = read_or_fail(m.dir + "/decode/jpeg-cmyk-adobe.jpg");
        folia::image_u8 ok;
        CHECK(decode(cmyk, &ok) == FOLIA_OK);  // with the marker: decoded (see the lossy test)
        const size_t app14 = find_jpeg_marker(cmyk, 0xEE);
        REQUIRE(app14 != std::string::npos);
        const size_t len = 2 + (size_t(cmyk[app14 + 2]) << 8 | cmyk[app14 + 3]);
        cmyk.erase(cmyk.begin() + app14, cmyk.begin() + app14 + len);
        CHECK(status_of(cmyk) == FOLIA_ERR_IMAGE_UNSUPPORTED);
    }
    SECTION("a Huffman table with more than 256 codes is corrupt (stb would overrun)") {
        auto bad = jpeg;
        const size_t dht = find_jpeg_marker(bad, 0xC4);
        REQUIRE(dht != std::string::npos);
        for (int i = 0; i < 16; ++i) bad[dht + 5 + i] = 200;  // counts sum to 3200
        CHECK(status_of(bad) == FOLIA_ERR_IMAGE_CORRUPT);
    }
    SECTION("16-bit grayscale PNG is unsupported") {
        CHECK(status_of(read_or_fail(m.dir + "/decode/gray16.png")) == FOLIA_ERR_IMAGE_UNSUPPORTED);
    }
    SECTION("an image over the caller's pixel limit is too large") {
        CHECK(status_of(jpeg, 330 * 250 - 1) == FOLIA_ERR_IMAGE_TOO_LARGE);
        CHECK(status_of(jpeg, 330 * 250) == FOLIA_OK);
    }
}

TEST_CASE("A 40000x40000 header is refused before stb_image allocates anything",
          "[preprocess][decode][errors]") {
    // SOI, then a baseline frame header announcing 40000x40000 with 3 components; no tables, no
    // scan: only the header is there, as in a hostile or truncated upload.
    const std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x9C,
                                       0x40, 0x9C, 0x40, 0x03, 0x01, 0x22, 0x00, 0x02,
                                       0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9};
    // PNG signature and an IHDR (with its CRC) announcing 40000x40000 RGB.
    const std::vector<uint8_t> png = {0x89, 'P',  'N',  'G',  0x0D, 0x0A, 0x1A, 0x0A, 0x00,
                                      0x00, 0x00, 0x0D, 'I',  'H',  'D',  'R',  0x00, 0x00,
                                      0x9C, 0x40, 0x00, 0x00, 0x9C, 0x40, 0x08, 0x02, 0x00,
                                      0x00, 0x00, 0xDE, 0x6E, 0x99, 0x52};
    for (const auto *b : {&jpeg, &png}) {
        folia::detail::stb_reset_stats();
        folia::image_u8 out;
        CHECK(folia::decode_image(b->data(), b->size(), k_max_pixels, &out) ==
              FOLIA_ERR_IMAGE_TOO_LARGE);
        CHECK(folia::detail::stb_largest_request() == 0);
        CHECK(out.data.empty());
    }
    // The counter does see stb's allocations: a real decode asks for its pixel buffer.
    const ref_manifest m = load_or_fail();
    folia::detail::stb_reset_stats();
    folia::image_u8 out;
    REQUIRE(decode(read_or_fail(m.dir + "/decode/jpeg-baseline-420.jpg"), &out) == FOLIA_OK);
    CHECK(folia::detail::stb_largest_request() >= size_t(330) * 250 * 3);
}

TEST_CASE("Mutated JPEG and PNG files never crash the decoder or the EXIF parser",
          "[preprocess][decode][errors]") {
    const ref_manifest m = load_or_fail();
    const std::vector<std::vector<uint8_t>> seeds = {
        read_or_fail(m.dir + "/decode/orient-6-le.jpg"),
        read_or_fail(m.dir + "/decode/orient-5-be.jpg"),
        read_or_fail(m.dir + "/decode/jpeg-progressive-420.jpg"),
        read_or_fail(m.dir + "/decode/palette.png")};
    folia::splitmix64 rng{7};
    int counts[FOLIA_STATUS_COUNT] = {};
    // FOLIA_FUZZ_ITERATIONS raises the count for longer runs under sanitizers.
    const char *env_iters = std::getenv("FOLIA_FUZZ_ITERATIONS");
    const int iterations = env_iters ? std::max(1, std::atoi(env_iters)) : 1500;
    for (int iter = 0; iter < iterations; ++iter) {
        auto b = seeds[iter % seeds.size()];
        const int kind = int(rng.next() % 3);
        if (kind == 0) {  // flip a few bytes anywhere
            for (int k = 0, n = 1 + int(rng.next() % 8); k < n; ++k) {
                b[rng.next() % b.size()] ^= uint8_t(1 + rng.next() % 255);
            }
        } else if (kind == 1) {  // scribble over the header area (EXIF, tables, frame header)
            const size_t n = std::min<size_t>(b.size(), 200);
            for (int k = 0; k < 6; ++k) b[2 + rng.next() % (n - 2)] = uint8_t(rng.next());
        } else {  // truncate
            b.resize(1 + rng.next() % b.size());
        }
        folia::image_u8 out;
        const folia_status st = folia::decode_image(b.data(), b.size(), 1 << 20, &out);
        REQUIRE(st >= 0);
        REQUIRE(st < FOLIA_STATUS_COUNT);
        ++counts[st];
        const int o = folia::exif_orientation(b.data(), b.size());
        REQUIRE(o >= 1);
        REQUIRE(o <= 8);
        if (st == FOLIA_OK) {
            REQUIRE(out.channels == 3);
            REQUIRE(out.data.size() == size_t(out.width) * out.height * 3);
        } else {
            REQUIRE((st == FOLIA_ERR_IMAGE_CORRUPT || st == FOLIA_ERR_IMAGE_UNSUPPORTED ||
                     st == FOLIA_ERR_IMAGE_TOO_LARGE || st == FOLIA_ERR_IMAGE_FORMAT));
        }
    }
    std::printf("decoder fuzz: %d ok, %d corrupt, %d unsupported, %d too large, %d format\n",
                counts[FOLIA_OK], counts[FOLIA_ERR_IMAGE_CORRUPT],
                counts[FOLIA_ERR_IMAGE_UNSUPPORTED], counts[FOLIA_ERR_IMAGE_TOO_LARGE],
                counts[FOLIA_ERR_IMAGE_FORMAT]);
    CHECK(counts[FOLIA_ERR_IMAGE_CORRUPT] > 0);
}
