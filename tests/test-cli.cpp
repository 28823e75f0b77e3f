// test-cli.cpp: the real `folia` and `folia-make-random-model` binaries, run as a user would.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli-support.h"
#include "folia.h"
#include "folia/model-file.h"
#include "folia/preprocess.h"

using folia_test::run;
using folia_test::run_result;
using json = nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string &s) {
    std::vector<std::string> lines;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

// In-process reference: the same library the CLI links, on the same bytes and thread count.
std::vector<float> classify_in_process(const std::string &model, const std::string &image) {
    const auto mb = folia_test::read_bytes(model);
    const auto ib = folia_test::read_bytes(image);
    folia_params params = folia_default_params();
    params.num_threads = 1;
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(mb.data(), mb.size(), &params, &ctx) == FOLIA_OK);
    std::vector<float> probs(size_t(folia_num_classes(ctx)));
    const folia_status s = folia_classify_image(ctx, ib.data(), ib.size(), probs.data());
    folia_free(ctx);
    REQUIRE(s == FOLIA_OK);
    return probs;
}

void require_clean_exit(const run_result &r, int code) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.signaled);
    REQUIRE(r.exit_code == code);
}

}  // namespace

TEST_CASE("diagnose --json prints one JSON object per image with the top 3 of the engine",
          "[cli]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir dir("diagnose");
    const std::string png = dir.path("leaf.png"), jpg = dir.path("leaf.jpg");
    folia_test::write_bytes(
        png, folia_test::encode_png(folia_test::synthetic_pixels(300, 200, 3, 1), 300, 200, 3));
    folia_test::write_bytes(
        jpg, folia_test::encode_jpeg(folia_test::synthetic_pixels(640, 480, 3, 2), 640, 480, 3));

    const run_result r = run({folia_test::folia_exe(), "diagnose", "--json", "--threads", "1",
                              "--model", models.model, png, jpg});
    require_clean_exit(r, 0);
    CHECK(r.err.empty());
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    const std::vector<std::string> files = {png, jpg};
    for (size_t i = 0; i < lines.size(); ++i) {
        INFO(lines[i]);
        const json j = json::parse(lines[i]);
        CHECK(j.at("file") == files[i]);
        REQUIRE(j.at("top").size() == 3);
        CHECK(j.at("ms").get<double>() > 0);
        REQUIRE(j.at("sure").is_boolean());
        CHECK(j.at("sure").get<bool>());  // threshold 0: every answer is sure

        const std::vector<float> ref = classify_in_process(models.model, files[i]);
        double sum = 0, prev = 2;
        std::set<std::string> labels;
        for (const json &t : j["top"]) {
            const double p = t.at("p").get<double>();
            const std::string label = t.at("label").get<std::string>();
            CHECK(p >= 0);
            CHECK(p <= prev);  // best first
            prev = p;
            sum += p;
            labels.insert(label);
            // The label is the model's own, and p is exactly what the library computes for it.
            REQUIRE(label.rfind("class_", 0) == 0);
            const int idx = std::stoi(label.substr(6));
            REQUIRE(idx >= 0);
            REQUIRE(idx < int(ref.size()));
            CHECK(p == Approx(ref[size_t(idx)]).margin(1e-7));
        }
        CHECK(labels.size() == 3);
        CHECK(sum <= 1.0 + 1e-6);
        // And they are the library's three best.
        std::vector<float> sorted = ref;
        std::sort(sorted.rbegin(), sorted.rend());
        CHECK(j["top"][0]["p"].get<double>() == Approx(sorted[0]).margin(1e-7));
        CHECK(j["top"][2]["p"].get<double>() == Approx(sorted[2]).margin(1e-7));
    }
}

TEST_CASE("diagnose reports sure=false below the model's abstain threshold and true at or above it",
          "[cli]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir dir("unsure");
    // Several photos; their top-1 probabilities under the threshold-0 model give two known values.
    std::vector<std::string> pngs;
    for (uint32_t seed = 3; seed < 9; ++seed) {
        pngs.push_back(dir.path("leaf-" + std::to_string(seed) + ".png"));
        folia_test::write_bytes(
            pngs.back(),
            folia_test::encode_png(folia_test::synthetic_pixels(128, 128, 3, seed), 128, 128, 3));
    }
    std::vector<std::string> args = {folia_test::folia_exe(), "diagnose", "--json", "--model",
                                     models.model};
    args.insert(args.end(), pngs.begin(), pngs.end());
    const run_result base = run(args);
    require_clean_exit(base, 0);
    std::vector<double> p;
    for (const auto &line : lines_of(base.out))
        p.push_back(json::parse(line)["top"][0]["p"].get<double>());
    REQUIRE(p.size() == pngs.size());
    const auto [lo, hi] = std::minmax_element(p.begin(), p.end());
    REQUIRE(*hi - *lo > 1e-3);
    // The same weights (same seed) with the threshold half-way between the two.
    const std::string thr_text = std::to_string(0.5 * (*lo + *hi));
    const double threshold = double(std::stof(thr_text));  // as the model file stores it (f32)
    const std::string model = dir.path("mid.folia");
    const run_result made = run({folia_test::make_random_model_exe(), "-o", model, "--seed", "7",
                                 "--random-bn", "--abstain-threshold", thr_text});
    require_clean_exit(made, 0);
    args[4] = model;
    const run_result r = run(args);
    require_clean_exit(r, 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == pngs.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        const json j = json::parse(lines[i]);
        INFO(pngs[i] << ": p " << p[i] << ", threshold " << threshold);
        CHECK(j["top"][0]["p"].get<double>() == Approx(p[i]).margin(1e-7));
        CHECK(j.at("sure") == (p[i] >= threshold));
    }
    CHECK(json::parse(lines[size_t(lo - p.begin())]).at("sure") == false);
    CHECK(json::parse(lines[size_t(hi - p.begin())]).at("sure") == true);
}

TEST_CASE("diagnose without --json prints a table with every image", "[cli]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir dir("table");
    const std::string png = dir.path("leaf-one.png");
    folia_test::write_bytes(
        png, folia_test::encode_png(folia_test::synthetic_pixels(90, 120, 3, 4), 90, 120, 3));
    const run_result r = run({folia_test::folia_exe(), "diagnose", "--model", models.model, png});
    require_clean_exit(r, 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("top-1") != std::string::npos);
    CHECK(lines[1].find(png) == 0);
    CHECK(lines[1].find("class_") != std::string::npos);
}

TEST_CASE("diagnose exits 1 and names each refused file, still diagnosing the others", "[cli]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir dir("refused");
    const std::string good = dir.path("good.png"), empty = dir.path("empty.jpg"),
                      missing = dir.path("missing.jpg");
    folia_test::write_bytes(
        good, folia_test::encode_png(folia_test::synthetic_pixels(64, 64, 3, 5), 64, 64, 3));
    folia_test::write_bytes(empty, {});
    const run_result r = run({folia_test::folia_exe(), "diagnose", "--json", "--model",
                              models.model, empty, good, missing});
    require_clean_exit(r, 1);
    const auto out = lines_of(r.out), err = lines_of(r.err);
    REQUIRE(out.size() == 1);
    CHECK(json::parse(out[0])["file"] == good);
    REQUIRE(err.size() == 2);
    CHECK(err[0].find(empty + ": " + folia_status_message(FOLIA_ERR_IMAGE_EMPTY)) !=
          std::string::npos);
    CHECK(err[1].find(missing) != std::string::npos);
    CHECK(err[1].find("No such file") != std::string::npos);
}

TEST_CASE("usage errors exit 2 with a message", "[cli]") {
    const auto &models = folia_test::random_models();
    const std::string exe = folia_test::folia_exe();
    const std::vector<std::vector<std::string>> cases = {
        {exe},                                          // no subcommand
        {exe, "frobnicate"},                            // unknown subcommand
        {exe, "diagnose", "--model", models.model},     // no image
        {exe, "diagnose", "--no-such-flag", "x.jpg"},   // unknown flag
        {exe, "diagnose", "--threads", "-3", "x.jpg"},  // bad value
        {exe, "preprocess", "x.jpg"},                   // -o missing
        {exe, "bench", "--runs", "0"},                  // out of range
        {exe, "inspect"},                               // no model
    };
    for (const auto &argv : cases) {
        const run_result r = run(argv);
        INFO("argv[1..]: " << (argv.size() > 1 ? argv[1] : "") << " "
                           << (argv.size() > 2 ? argv[2] : ""));
        require_clean_exit(r, 2);
        CHECK_FALSE(r.err.empty());
    }
    const run_result help = run({exe, "--help"});
    require_clean_exit(help, 0);
    CHECK(help.out.find("diagnose") != std::string::npos);
}

TEST_CASE("a missing or unreadable default model is a clear error, exit 1", "[cli]") {
    folia_test::scratch_dir dir("nomodel");
    const std::string png = dir.path("leaf.png");
    folia_test::write_bytes(
        png, folia_test::encode_png(folia_test::synthetic_pixels(32, 32, 3, 6), 32, 32, 3));
    const std::string absent = dir.path("absent.folia");
    const run_result r = run({folia_test::folia_exe(), "diagnose", png}, {"FOLIA_MODEL=" + absent});
    require_clean_exit(r, 1);
    CHECK(r.err.find(absent) != std::string::npos);
    CHECK(r.err.find("No such file") != std::string::npos);
    CHECK(r.out.empty());
    // Without --model and FOLIA_MODEL the compiled-in shipped model is used: before training
    // has shipped one, that is a clear error naming its path.
    const run_result shipped =
        run({folia_test::folia_exe(), "diagnose", "--json", png}, {}, {"FOLIA_MODEL"});
    REQUIRE_FALSE(shipped.signaled);
    if (std::filesystem::exists(FOLIA_SHIPPED_MODEL)) {
        CHECK(shipped.exit_code == 0);
    } else {
        CHECK(shipped.exit_code == 1);
        CHECK(shipped.err.find(FOLIA_SHIPPED_MODEL) != std::string::npos);
    }
    // FOLIA_MODEL is honoured when it points at a real model.
    const run_result ok = run({folia_test::folia_exe(), "diagnose", "--json", png},
                              {"FOLIA_MODEL=" + folia_test::random_models().model});
    require_clean_exit(ok, 0);
}

TEST_CASE("preprocess writes the library's size x size x 3 bytes, atomically", "[cli]") {
    folia_test::scratch_dir dir("preprocess");
    const std::string jpg = dir.path("photo.jpg"), out = dir.path("photo.rgb");
    const auto bytes =
        folia_test::encode_jpeg(folia_test::synthetic_pixels(400, 300, 3, 8), 400, 300, 3);
    folia_test::write_bytes(jpg, bytes);
    for (int size : {128, 64}) {
        const run_result r = run({folia_test::folia_exe(), "preprocess", jpg, "-o", out, "--size",
                                  std::to_string(size)});
        require_clean_exit(r, 0);
        const auto written = folia_test::read_bytes(out);
        folia::image_u8 ref;
        REQUIRE(folia::preprocess_image(bytes.data(), bytes.size(), 50000000, size, &ref) ==
                FOLIA_OK);
        REQUIRE(written.size() == size_t(size) * size * 3);
        CHECK(written == ref.data);
    }
    // Only the output is left behind: no temp files.
    int entries = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir.path("")))
        entries += bool(e.is_regular_file());
    CHECK(entries == 2);

    // A refused input loses nothing: the previous output is untouched.
    const auto before = folia_test::read_bytes(out);
    const std::string bad = dir.path("bad.jpg");
    folia_test::write_bytes(bad, std::vector<uint8_t>(bytes.begin(), bytes.begin() + 100));
    const run_result r = run({folia_test::folia_exe(), "preprocess", bad, "-o", out});
    require_clean_exit(r, 1);
    CHECK(r.err.find(bad + ": ") != std::string::npos);
    CHECK(folia_test::read_bytes(out) == before);
}

TEST_CASE("inspect describes the model: classes, parameters, tensors", "[cli]") {
    const auto &models = folia_test::random_models();
    const run_result r = run({folia_test::folia_exe(), "inspect", "--json", models.model});
    require_clean_exit(r, 0);
    const json j = json::parse(r.out);
    CHECK(j["arch"]["num_classes"] == 38);
    CHECK(j["arch"]["channels"] == json::array({32, 64, 128, 256}));
    CHECK(j["labels"].size() == 38);
    CHECK(j["labels"][37] == "class_37");
    // 3x3 convs 3-32-64-128-256 with bias, BN affine, FC 256-256-38: counted by hand.
    const int64_t convs = (3 * 32 + 32 * 64 + 64 * 128 + 128 * 256) * 9 + (32 + 64 + 128 + 256);
    const int64_t bn = 2 * (32 + 64 + 128 + 256);
    const int64_t fcs = 256 * 256 + 256 + 256 * 38 + 38;
    CHECK(j["trainable_params"] == convs + bn + fcs);
    CHECK(j["params"] == convs + 2 * bn + fcs);
    CHECK(j["tensors"].size() == 4 * 6 + 4);
    CHECK(j["preprocess"]["input_size"] == 128);
    CHECK(j["meta"]["seed"] == 7);

    const run_result text = run({folia_test::folia_exe(), "inspect", models.model});
    require_clean_exit(text, 0);
    CHECK(text.out.find("class_37") != std::string::npos);
    CHECK(text.out.find("fc2.weight") != std::string::npos);
}

TEST_CASE("bench --json reports batch-1 statistics and the thread speedup", "[cli]") {
    const auto &models = folia_test::random_models();
    const run_result r =
        run({folia_test::folia_exe(), "bench", "--json", "--model", models.model, "--threads", "2",
             "--runs", "5", "--warmup", "1", "--batch-runs", "1"});
    require_clean_exit(r, 0);
    const json j = json::parse(r.out);
    REQUIRE(j["results"].size() == 2);
    CHECK(j["results"][0]["threads"] == 1);
    CHECK(j["results"][1]["threads"] == 2);
    for (const json &row : j["results"]) {
        CHECK(row["p50_ms"].get<double>() > 0);
        CHECK(row["p99_ms"].get<double>() >= row["p50_ms"].get<double>());
        CHECK(row["images_per_s"].get<double>() == Approx(1000.0 / row["mean_ms"].get<double>()));
        CHECK(row["batch32_images_per_s"].get<double>() > 0);
    }
    CHECK(j["speedup"]["p50"].get<double>() == Approx(j["results"][0]["p50_ms"].get<double>() /
                                                      j["results"][1]["p50_ms"].get<double>()));
}

TEST_CASE("make-random-model is deterministic in its seed and He-initialised", "[cli]") {
    folia_test::scratch_dir dir("random");
    const std::string labels = dir.path("labels.txt");
    folia_test::write_bytes(labels, {'a', '\n', 'b', ' ', 'c', '\r', '\n', '\n', 'd', '\n'});
    const std::string exe = folia_test::make_random_model_exe();
    auto make = [&](const std::string &out, const std::string &seed) {
        const run_result r = run({exe, "-o", dir.path(out), "--seed", seed, "--labels", labels});
        require_clean_exit(r, 0);
        return folia_test::read_bytes(dir.path(out));
    };
    const auto a = make("a.folia", "3"), b = make("b.folia", "3"), c = make("c.folia", "4");
    CHECK(a == b);
    CHECK(a != c);

    folia::model_file m;
    REQUIRE(folia::parse_model_file(a.data(), a.size(), &m) == FOLIA_OK);
    CHECK(m.labels == std::vector<std::string>{"a", "b c", "d"});
    // Sample std of 295K weights: within 2 % of sqrt(2 / fan_in).
    const auto &w = m.tensors.at("block3.conv.weight").data;
    double s2 = 0, mean = 0;
    for (float v : w) mean += v;
    mean /= double(w.size());
    for (float v : w) s2 += (v - mean) * (v - mean);
    CHECK(std::sqrt(s2 / double(w.size())) == Approx(std::sqrt(2.0 / (128 * 9))).epsilon(0.02));
    CHECK(std::abs(mean) < 1e-3);
    for (float v : m.tensors.at("fc1.bias").data) CHECK(v == 0.0f);

    // A label count that disagrees with --classes is a usage error.
    const run_result bad =
        run({exe, "-o", dir.path("x.folia"), "--classes", "5", "--labels", labels});
    require_clean_exit(bad, 2);
    CHECK_FALSE(std::filesystem::exists(dir.path("x.folia")));
}
