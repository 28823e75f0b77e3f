// test-bad-input.cpp: the bad-input corpus. Every file is made at test
// time; each must get its specific status and message from the real `folia` binary (and from the
// library it links), and nothing may crash: exit code 0 or 1, never a signal.
#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli-support.h"
#include "folia.h"

using folia_test::run;
using folia_test::run_result;
using json = nlohmann::json;

namespace {

struct image_case {
    std::string name;  // file name in the scratch folder
    std::vector<uint8_t> bytes;
    folia_status expected;  // FOLIA_OK: must be diagnosed
};

// Images PIL makes and stb_image_write cannot: CMYK JPEG (PIL writes an Adobe marker), a
// progressive JPEG, a 16-bit greyscale PNG. Debian's python3-pil is a setup dependency.
void make_with_pillow(const std::string &dir) {
    const std::string script =
        "import sys\n"
        "from PIL import Image\n"
        "d = sys.argv[1]\n"
        "rgb = Image.new('RGB', (96, 64))\n"
        "rgb.putdata([(x * 2, 120 + y, (x * y) % 256) for y in range(64) for x in range(96)])\n"
        "rgb.convert('CMYK').save(d + '/cmyk.jpg', quality=90)\n"
        "rgb.save(d + '/progressive.jpg', quality=90, progressive=True)\n"
        "g = Image.new('I;16', (40, 30))\n"
        "g.putdata([x * 1000 + y for y in range(30) for x in range(40)])\n"
        "g.save(d + '/gray16.png')\n"
        "assert Image.open(d + '/cmyk.jpg').mode == 'CMYK'\n";
    const run_result r = run({FOLIA_TEST_PYTHON, "-c", script, dir});
    INFO(r.err);
    REQUIRE_FALSE(r.signaled);
    REQUIRE(r.exit_code == 0);
}

// The same JPEG without its Adobe APP14 segment: a 4-component JPEG with no colour transform.
std::vector<uint8_t> strip_adobe_marker(const std::vector<uint8_t> &jpg) {
    std::vector<uint8_t> out(jpg.begin(), jpg.begin() + 2);
    size_t pos = 2;
    bool stripped = false;
    while (pos + 4 <= jpg.size() && jpg[pos] == 0xFF) {
        const int marker = jpg[pos + 1];
        if (marker == 0xDA) break;  // scan data follows: copy the rest verbatim
        const size_t len = size_t(jpg[pos + 2]) << 8 | jpg[pos + 3];
        if (marker == 0xEE)
            stripped = true;
        else
            out.insert(out.end(), jpg.begin() + long(pos), jpg.begin() + long(pos + 2 + len));
        pos += 2 + len;
    }
    REQUIRE(stripped);
    out.insert(out.end(), jpg.begin() + long(pos), jpg.end());
    return out;
}

std::vector<image_case> image_corpus(const folia_test::scratch_dir &dir) {
    using namespace folia_test;
    make_with_pillow(dir.path(""));
    const auto rgb = synthetic_pixels(200, 150, 3, 11);
    const auto rgba = synthetic_pixels(200, 150, 4, 12);
    const auto gray = synthetic_pixels(200, 150, 1, 13);
    const auto gray_alpha = synthetic_pixels(200, 150, 2, 14);
    const auto jpg = encode_jpeg(rgb, 200, 150, 3);
    const auto png = encode_png(rgb, 200, 150, 3);
    std::vector<uint8_t> random_bytes(4096);
    std::mt19937 rng(5);
    for (uint8_t &b : random_bytes) b = uint8_t(rng());
    random_bytes[0] = 0x42;  // not 0xFF / 0x89: not even a JPEG or PNG signature by chance
    std::vector<uint8_t> png_bad_crc = png;
    png_bad_crc[png.size() / 2] ^= 0x10;  // inside IDAT
    const auto cmyk = read_bytes(dir.path("cmyk.jpg"));

    return {
        {"zero-bytes.jpg", {}, FOLIA_ERR_IMAGE_EMPTY},
        {"random-bytes.jpg", random_bytes, FOLIA_ERR_IMAGE_FORMAT},
        {"text.png", {'h', 'e', 'l', 'l', 'o', '\n'}, FOLIA_ERR_IMAGE_FORMAT},
        {"truncated-header.jpg", std::vector<uint8_t>(jpg.begin(), jpg.begin() + 120),
         FOLIA_ERR_IMAGE_CORRUPT},
        {"truncated-scan.jpg",
         std::vector<uint8_t>(jpg.begin(), jpg.begin() + long(jpg.size() * 2 / 3)),
         FOLIA_ERR_IMAGE_CORRUPT},
        {"truncated.png", std::vector<uint8_t>(png.begin(), png.begin() + long(png.size() / 2)),
         FOLIA_ERR_IMAGE_CORRUPT},
        {"bad-crc.png", png_bad_crc, FOLIA_ERR_IMAGE_CORRUPT},
        {"huge-40000x40000.png", png_header_only(40000, 40000), FOLIA_ERR_IMAGE_TOO_LARGE},
        {"huge-40000x40000.jpg", jpeg_header_only(40000, 40000), FOLIA_ERR_IMAGE_TOO_LARGE},
        {"cmyk-no-adobe.jpg", strip_adobe_marker(cmyk), FOLIA_ERR_IMAGE_UNSUPPORTED},
        {"gray16.png", read_bytes(dir.path("gray16.png")), FOLIA_ERR_IMAGE_UNSUPPORTED},
        // Valid images of every kind a phone or a scanner may produce: diagnosed.
        {"ok-rgb.jpg", jpg, FOLIA_OK},
        {"ok-progressive.jpg", read_bytes(dir.path("progressive.jpg")), FOLIA_OK},
        {"ok-alpha.png", encode_png(rgba, 200, 150, 4), FOLIA_OK},
        {"ok-gray.png", encode_png(gray, 200, 150, 1), FOLIA_OK},
        {"ok-gray-alpha.png", encode_png(gray_alpha, 200, 150, 2), FOLIA_OK},
        {"ok-gray.jpg", encode_jpeg(gray, 200, 150, 1), FOLIA_OK},
        {"ok-cmyk.jpg", cmyk, FOLIA_OK},
    };
}

void require_no_crash(const run_result &r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.signaled);
    REQUIRE((r.exit_code == 0 || r.exit_code == 1));
}

}  // namespace

TEST_CASE("every bad image gets its specific status and message, and none crashes",
          "[cli][bad-input]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir dir("bad-images");
    const auto corpus = image_corpus(dir);
    const auto model_bytes = folia_test::read_bytes(models.model);
    folia_params params = folia_default_params();
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(model_bytes.data(), model_bytes.size(), &params, &ctx) ==
            FOLIA_OK);
    std::vector<float> probs(size_t(folia_num_classes(ctx)));

    for (const image_case &c : corpus) {
        SECTION(c.name) {
            const std::string path = dir.path(c.name);
            folia_test::write_bytes(path, c.bytes);
            // The library says it first...
            CHECK(folia_classify_image(ctx, c.bytes.data(), c.bytes.size(), probs.data()) ==
                  c.expected);
            // ...then the CLI, one file at a time.
            const run_result r =
                run({folia_test::folia_exe(), "diagnose", "--json", "--model", models.model, path});
            require_no_crash(r);
            if (c.expected == FOLIA_OK) {
                CHECK(r.exit_code == 0);
                CHECK(r.err.empty());
                const json j = json::parse(r.out);
                CHECK(j["top"].size() == 3);
            } else {
                CHECK(r.exit_code == 1);
                CHECK(r.out.empty());
                CHECK(r.err == "folia: " + path + ": " + folia_status_message(c.expected) + "\n");
            }
            // preprocess refuses the same files with the same message.
            const run_result p =
                run({folia_test::folia_exe(), "preprocess", path, "-o", path + ".rgb"});
            require_no_crash(p);
            CHECK(p.exit_code == (c.expected == FOLIA_OK ? 0 : 1));
            if (c.expected != FOLIA_OK)
                CHECK(p.err.find(folia_status_message(c.expected)) != std::string::npos);
        }
    }
    folia_free(ctx);
}

TEST_CASE("alpha and greyscale images are diagnosed as their RGB equivalents", "[cli][bad-input]") {
    // Pillow's convert("RGB") drops alpha and replicates grey; the CLI must give the same
    // probabilities as for the plain RGB image holding those values.
    using namespace folia_test;
    const auto &models = random_models();
    scratch_dir dir("alpha-gray");
    const int w = 160, h = 120;
    const auto rgba = synthetic_pixels(w, h, 4, 21);
    std::vector<uint8_t> rgb_of_rgba, gray(size_t(w) * h), rgb_of_gray;
    for (size_t i = 0; i < size_t(w) * h; ++i) {
        rgb_of_rgba.insert(rgb_of_rgba.end(), rgba.begin() + long(4 * i),
                           rgba.begin() + long(4 * i + 3));
        gray[i] = rgba[4 * i + 1];
        rgb_of_gray.insert(rgb_of_gray.end(), 3, gray[i]);
    }
    const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
        {"alpha.png", encode_png(rgba, w, h, 4)},
        {"alpha-as-rgb.png", encode_png(rgb_of_rgba, w, h, 3)},
        {"gray.png", encode_png(gray, w, h, 1)},
        {"gray-as-rgb.png", encode_png(rgb_of_gray, w, h, 3)},
    };
    std::vector<std::string> argv = {folia_exe(), "diagnose", "--json",    "--threads",
                                     "1",         "--model",  models.model};
    for (const auto &[name, bytes] : files) {
        write_bytes(dir.path(name), bytes);
        argv.push_back(dir.path(name));
    }
    const run_result r = run(argv);
    require_no_crash(r);
    REQUIRE(r.exit_code == 0);
    std::vector<json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    REQUIRE(out.size() == 4);
    CHECK(out[0]["top"] == out[1]["top"]);
    CHECK(out[2]["top"] == out[3]["top"]);
    CHECK(out[0]["top"] != out[2]["top"]);  // the inputs differ, so must the answers
}

TEST_CASE("every corrupt model file gets its specific status and message, and none crashes",
          "[cli][bad-input]") {
    using namespace folia_test;
    const auto &models = random_models();
    scratch_dir dir("bad-models");
    const auto good = read_bytes(models.model);
    const std::string hdr = header_text(good);
    const size_t payload_at = (32 + hdr.size() + 63) / 64 * 64;
    auto edited = [&](const std::string &from, const std::string &to) {
        std::string h = hdr;
        const size_t at = h.find(from);
        REQUIRE(at != std::string::npos);
        h.replace(at, from.size(), to);
        return with_header(good, h);
    };
    auto flipped = [&](size_t at) {
        auto b = good;
        b[at] ^= 0x01;
        return b;
    };
    std::vector<uint8_t> wrong_magic = good, wrong_version = good;
    wrong_magic[0] = 'G';
    wrong_version[8] = 2;
    // fc2.bias announced as (37) instead of (38): inside the payload, but not what the arch needs.
    std::vector<uint8_t> wrong_shape;
    {
        std::string h = hdr;
        const size_t entry = h.find("\"name\":\"fc2.bias\"");
        REQUIRE(entry != std::string::npos);
        const std::string from = "\"shape\":[38]";
        const size_t shape = h.find(from, entry);
        REQUIRE(shape != std::string::npos);
        h.replace(shape, from.size(), "\"shape\":[37]");
        wrong_shape = with_header(good, h);
    }

    struct model_case {
        std::string name;
        std::vector<uint8_t> bytes;
        folia_status expected;
    };
    const std::vector<model_case> corpus = {
        {"empty.folia", {}, FOLIA_ERR_MODEL_TOO_SMALL},
        {"tiny.folia", std::vector<uint8_t>(good.begin(), good.begin() + 20),
         FOLIA_ERR_MODEL_TOO_SMALL},
        {"truncated.folia",
         std::vector<uint8_t>(good.begin(), good.begin() + long(good.size() / 2)),
         FOLIA_ERR_MODEL_TRUNCATED},
        {"wrong-magic.folia", wrong_magic, FOLIA_ERR_MODEL_MAGIC},
        {"wrong-version.folia", wrong_version, FOLIA_ERR_MODEL_VERSION},
        {"flipped-header-byte.folia", flipped(32 + hdr.size() / 2),
         FOLIA_ERR_MODEL_HEADER_CHECKSUM},
        {"flipped-payload-byte.folia", flipped(payload_at + (good.size() - payload_at) / 3),
         FOLIA_ERR_MODEL_PAYLOAD_CHECKSUM},
        {"malformed-json.folia", with_header(good, hdr.substr(0, hdr.size() - 1)),
         FOLIA_ERR_MODEL_HEADER},
        {"unknown-arch.folia", edited("\"folia-cnn4\"", "\"folia-cnn9\""), FOLIA_ERR_MODEL_ARCH},
        {"missing-tensor.folia", edited("\"name\":\"fc1.weight\",", "\"name\":\"fc1.weightX\","),
         FOLIA_ERR_MODEL_TENSOR},
        {"wrong-shape.folia", wrong_shape, FOLIA_ERR_MODEL_TENSOR},
        {"not-a-model.folia", std::vector<uint8_t>(4096, 0xA5), FOLIA_ERR_MODEL_MAGIC},
    };
    const std::string img = dir.path("leaf.png");
    write_bytes(img, encode_png(synthetic_pixels(64, 64, 3, 31), 64, 64, 3));
    const folia_params params = folia_default_params();

    for (const model_case &c : corpus) {
        SECTION(c.name) {
            const std::string path = dir.path(c.name);
            write_bytes(path, c.bytes);
            folia_context *ctx = nullptr;
            CHECK(folia_init_from_buffer(c.bytes.data(), c.bytes.size(), &params, &ctx) ==
                  c.expected);
            CHECK(ctx == nullptr);
            if (ctx) folia_free(ctx);

            const std::string prefix = "model " + path + ": " + folia_status_message(c.expected);
            const run_result d = run({folia_exe(), "diagnose", "--json", "--model", path, img});
            require_no_crash(d);
            CHECK(d.exit_code == 1);
            CHECK(d.out.empty());
            CHECK(d.err.find(prefix) != std::string::npos);

            const run_result i = run({folia_exe(), "inspect", path});
            require_no_crash(i);
            CHECK(i.exit_code == 1);
            CHECK(i.err.find(prefix) != std::string::npos);

            const run_result b =
                run({folia_exe(), "bench", "--model", path, "--runs", "1", "--warmup", "0"});
            require_no_crash(b);
            CHECK(b.exit_code == 1);
        }
    }
}
