// test-lab.cpp: folia-lab under Xvfb (xvfb-run, Mesa llvmpipe) with the automation flags: it
// renders, writes a screenshot and prints the visible state as one JSON line. The tests check
// that state against the real references (`folia diagnose` on the same photo, the training
// run's own epoch count) and the screenshots for drawn pixels where the JSON says the charts
// are; Evaluate and Compare are checked against `folia diagnose` scored photo by photo.
// Screenshots stay in build/test-artifacts/lab/ for people to look at.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli-support.h"
#include "test-support.h"
#include "folia/preprocess.h"

namespace fs = std::filesystem;
using folia_test::data_root;
using folia_test::run;
using folia_test::run_result;
using nlohmann::json;

namespace {

constexpr int k_width = 1280, k_height = 800;

std::string artifacts_dir() {
    const fs::path p = fs::path(FOLIA_TEST_BINARY_DIR) / "test-artifacts" / "lab";
    fs::create_directories(p);
    return p.string();
}

// The first photo (by name) of the first class folder (by name) of $FOLIA_DATA.
std::string first_photo() {
    std::vector<fs::path> classes, photos;
    for (const auto &e : fs::directory_iterator(data_root()))
        if (e.is_directory()) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    REQUIRE(!classes.empty());
    for (const auto &e : fs::directory_iterator(classes[0]))
        if (e.is_regular_file()) photos.push_back(e.path());
    std::sort(photos.begin(), photos.end());
    REQUIRE(!photos.empty());
    return photos[0].string();
}

// Runs folia-lab under xvfb-run with a fixed window size and returns its JSON state line.
json run_lab(std::vector<std::string> args, run_result *out = nullptr,
             const std::string &training_dir = FOLIA_LAB_TEST_TRAINING_DIR) {
    std::vector<std::string> argv = {
        "/usr/bin/xvfb-run",
        "-a",
        "-s",
        "-screen 0 " + std::to_string(k_width) + "x" + std::to_string(k_height) + "x24",
        FOLIA_LAB_PATH,
        "--width",
        std::to_string(k_width),
        "--height",
        std::to_string(k_height),
        "--timeout",
        "400"};
    argv.insert(argv.end(), args.begin(), args.end());
    const run_result r = run(argv, {"FOLIA_LAB_TRAINING_DIR=" + training_dir});
    if (out) *out = r;
    INFO("stderr: " << r.err);
    INFO("stdout: " << r.out);
    REQUIRE(!r.signaled);
    REQUIRE(r.exit_code == 0);
    // The state is the last stdout line.
    std::string line = r.out;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    line = line.substr(line.rfind('\n') == std::string::npos ? 0 : line.rfind('\n') + 1);
    const json j = json::parse(line, nullptr, false);
    REQUIRE(!j.is_discarded());
    return j;
}

folia::image_u8 read_png(const std::string &path) {
    const std::vector<uint8_t> bytes = folia_test::read_bytes(path);
    folia::image_u8 img;
    REQUIRE(folia::decode_image(bytes.data(), bytes.size(), size_t(1) << 26, &img) == FOLIA_OK);
    return img;
}

// Variance of the grey level over the whole picture: a blank (one-colour) frame has 0.
double grey_variance(const folia::image_u8 &img) {
    double sum = 0, sum2 = 0;
    const size_t n = size_t(img.width) * size_t(img.height);
    for (size_t i = 0; i < n; ++i) {
        const double g = (img.data[3 * i] + img.data[3 * i + 1] + img.data[3 * i + 2]) / 3.0;
        sum += g;
        sum2 += g * g;
    }
    return sum2 / double(n) - (sum / double(n)) * (sum / double(n));
}

// Share of the pixels inside a chart's rectangle that differ (by more than 24 in a channel)
// from the rectangle's most common colour (its background).
double drawn_share(const folia::image_u8 &img, const json &chart) {
    const int x0 = int(chart["x"].get<double>()), y0 = int(chart["y"].get<double>());
    const int x1 = std::min(img.width, x0 + int(chart["w"].get<double>()));
    const int y1 = std::min(img.height, y0 + int(chart["h"].get<double>()));
    REQUIRE(x0 >= 0);
    REQUIRE(y0 >= 0);
    REQUIRE(x1 - x0 >= 50);
    REQUIRE(y1 - y0 >= 20);
    std::map<uint32_t, int> counts;
    auto px = [&](int x, int y) {
        const uint8_t *p = &img.data[(size_t(y) * size_t(img.width) + size_t(x)) * 3];
        return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
    };
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) counts[px(x, y)]++;
    const uint32_t bg =
        std::max_element(counts.begin(), counts.end(), [](const auto &a, const auto &b) {
            return a.second < b.second;
        })->first;
    int differ = 0;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const uint32_t c = px(x, y);
            for (int sh : {0, 8, 16})
                if (std::abs(int((c >> sh) & 255) - int((bg >> sh) & 255)) > 24) {
                    ++differ;
                    break;
                }
        }
    return double(differ) / double((x1 - x0) * (y1 - y0));
}

const json &chart_named(const json &state, const std::string &name) {
    for (const json &c : state["charts"])
        if (c["name"] == name) return c;
    FAIL("no chart " << name << " in " << state["charts"].dump());
    static json none;
    return none;
}

void check_screenshot(const std::string &png, const json &state, const std::string &chart,
                      double min_share) {
    const folia::image_u8 img = read_png(png);
    CHECK(img.width == k_width);
    CHECK(img.height == k_height);
    // Text, panels and pictures: far from one flat colour (a blank frame gives 0).
    CHECK(grey_variance(img) > 100.0);
    const double share = drawn_share(img, chart_named(state, chart));
    INFO(chart << ": " << share << " of its pixels differ from its background");
    CHECK(share > min_share);
}

}  // namespace

TEST_CASE("folia-lab shows the same top-5 as folia diagnose for a photo and draws its bars",
          "[lab]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const std::string photo = first_photo();
    const run_result cli =
        run({folia_test::folia_exe(), "diagnose", "--json", "--model", FOLIA_SHIPPED_MODEL, photo});
    REQUIRE(cli.exit_code == 0);
    const json ref = json::parse(cli.out);
    const std::string png = artifacts_dir() + "/diagnose.png";
    const json s = run_lab({"--model", FOLIA_SHIPPED_MODEL, "--open", photo, "--panel", "diagnose",
                            "--screenshot", png, "--frames", "3"});
    CHECK(s["panel"] == "diagnose");
    CHECK(s["model"]["classes"] == 37);
    CHECK(s["model"]["input_size"] == 128);
    const json &top = s["diagnosis"]["top"];
    REQUIRE(top.size() == 5);
    CHECK(top[0]["label"] == ref["top"][0]["label"]);
    CHECK(std::abs(top[0]["p"].get<double>() - ref["top"][0]["p"].get<double>()) <= 1e-4);
    // The CLI prints 3; the lab's first 3 must be the same classes with the same p.
    for (size_t i = 0; i < 3; ++i) {
        CHECK(top[i]["label"] == ref["top"][i]["label"]);
        CHECK(std::abs(top[i]["p"].get<double>() - ref["top"][i]["p"].get<double>()) <= 1e-4);
    }
    CHECK(s["diagnosis"]["sure"] == ref["sure"]);
    check_screenshot(png, s, "diagnose.top5", 0.05);
}

TEST_CASE("folia-lab runs a short training with --progress json and charts its loss", "[lab]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const std::string out = artifacts_dir() + "/train-run";
    fs::remove_all(out);
    const std::string png = artifacts_dir() + "/train.png";
    const json s =
        run_lab({"--model", FOLIA_SHIPPED_MODEL, "--data", data_root(), "--train-demo",
                 "--train-out", out, "--panel", "train", "--screenshot", png, "--frames", "3"});
    CHECK(s["panel"] == "train");
    const json &t = s["train"];
    REQUIRE(t.is_object());
    CHECK(t["tool"] == "supervised");
    CHECK(t["finished"] == true);
    CHECK(t["exit_status"] == 0);
    // The demo asks for 2 epochs; the run's own history.json says what it did.
    CHECK(t["epochs_done"] == 2);
    REQUIRE(t["loss"].size() == 2);
    for (const json &l : t["loss"]) {
        CHECK(std::isfinite(l.get<double>()));
        CHECK(l.get<double>() > 0);
    }
    CHECK(t["steps_seen"].get<int>() >= 2);
    const json hist = json::parse(folia_test::read_bytes(out + "/history.json"))["epochs"];
    REQUIRE(hist.size() == 2);
    for (size_t e = 0; e < 2; ++e)
        CHECK(std::abs(hist[e]["train_loss"].get<double>() - t["loss"][e].get<double>()) <= 1e-6);
    check_screenshot(png, s, "train.loss", 0.01);
}

TEST_CASE("folia-lab benchmarks the engine on 1 and N threads and draws the bars", "[lab]") {
    const std::string png = artifacts_dir() + "/bench.png";
    const json s = run_lab({"--model", FOLIA_SHIPPED_MODEL, "--bench", "--bench-runs", "20",
                            "--panel", "bench", "--screenshot", png, "--frames", "3"});
    CHECK(s["panel"] == "bench");
    const json &rows = s["bench"]["rows"];
    REQUIRE(rows.size() == 2);
    CHECK(rows[0]["threads"] == 1);
    CHECK(rows[1]["threads"].get<int>() >= 2);
    for (const json &r : rows) {
        const double p50 = r["p50_ms"], p99 = r["p99_ms"], mean = r["mean_ms"];
        CHECK(p50 > 0);
        CHECK(p50 <= p99);
        CHECK(mean > 0);
        CHECK(std::abs(r["images_per_s"].get<double>() - 1000.0 / mean) <= 1e-6 * 1000.0 / mean);
    }
    check_screenshot(png, s, "bench.p50", 0.05);
}

namespace {

// A labelled folder for Evaluate and Compare: the first 3 photos (by name) of the first 3 class
// folders of $FOLIA_DATA, linked into <dir>/<class>/, plus 2 photos of the first class filed
// under the second class's name, so that the shipped model gives right AND wrong answers.
// -> every (photo, folder label) pair in the order the CLI is asked about them.
std::vector<std::pair<std::string, std::string>> make_eval_folder(const fs::path &dir) {
    fs::remove_all(dir);
    std::vector<fs::path> classes;
    for (const auto &e : fs::directory_iterator(data_root()))
        if (e.is_directory()) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    REQUIRE(classes.size() >= 3);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t c = 0; c < 3; ++c) {
        std::vector<fs::path> photos;
        for (const auto &e : fs::directory_iterator(classes[c]))
            if (e.is_regular_file() && e.path().extension() != ".txt") photos.push_back(e.path());
        std::sort(photos.begin(), photos.end());
        REQUIRE(photos.size() >= 5);
        const std::string label = classes[c].filename().string();
        fs::create_directories(dir / label);
        for (size_t i = 0; i < 3; ++i) {
            fs::create_symlink(photos[i], dir / label / photos[i].filename());
            pairs.push_back({photos[i].string(), label});
        }
        if (c == 0) {  // misfiled: photos 3 and 4 of class 0 under class 1's name
            const std::string wrong = classes[1].filename().string();
            fs::create_directories(dir / wrong);
            for (size_t i = 3; i < 5; ++i) {
                fs::create_symlink(photos[i],
                                   dir / wrong / ("misfiled-" + photos[i].filename().string()));
                pairs.push_back({photos[i].string(), wrong});
            }
        }
    }
    return pairs;
}

// What the lab's Evaluate must show, computed from `folia diagnose --json` on every photo:
// top-1 right/wrong against the folder's label, 10 confidence bins of the top-1 p, "not sure"
// where the CLI says sure=false, ECE = sum_b n_b / N |acc_b - conf_b|.
json expected_evaluation(const std::string &model,
                         const std::vector<std::pair<std::string, std::string>> &pairs) {
    std::vector<std::string> argv = {folia_test::folia_exe(), "diagnose", "--json", "--model",
                                     model};
    for (const auto &p : pairs) argv.push_back(p.first);
    const run_result cli = run(argv);
    REQUIRE(cli.exit_code == 0);
    std::istringstream lines(cli.out);
    std::string line;
    std::vector<int> right(10, 0), wrong(10, 0), count(10, 0);
    std::vector<double> conf(10, 0), acc(10, 0);
    std::map<std::string, std::pair<int, int>> per_class;  // label -> (right, total)
    int n = 0, correct = 0, not_sure_right = 0, not_sure_wrong = 0;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        const json d = json::parse(line);
        REQUIRE(size_t(n) < pairs.size());
        const std::string &truth = pairs[size_t(n)].second;
        const double p = d["top"][0]["p"];
        const bool ok = d["top"][0]["label"] == truth;
        const int b = std::clamp(int(p * 10), 0, 9);
        (ok ? right : wrong)[size_t(b)]++;
        count[size_t(b)]++;
        conf[size_t(b)] += p;
        acc[size_t(b)] += ok;
        per_class[truth].first += ok;
        per_class[truth].second++;
        if (!d["sure"].get<bool>()) (ok ? not_sure_right : not_sure_wrong)++;
        correct += ok;
        ++n;
    }
    REQUIRE(size_t(n) == pairs.size());
    double ece = 0;
    for (size_t b = 0; b < 10; ++b)
        if (count[b])
            ece += double(count[b]) / n * std::abs(acc[b] / count[b] - conf[b] / count[b]);
    json pc = json::object();
    for (const auto &[label, rt] : per_class) pc[label] = double(rt.first) / rt.second;
    return {{"images", n},
            {"correct", correct},
            {"hist_right", right},
            {"hist_wrong", wrong},
            {"ece", ece},
            {"per_class_accuracy", pc},
            {"not_sure_right", not_sure_right},
            {"not_sure_wrong", not_sure_wrong}};
}

void check_evaluation(const json &got, const json &want) {
    INFO("lab: " << got.dump() << "\nfrom the CLI: " << want.dump());
    CHECK(got["skipped"] == 0);
    CHECK(got["images"] == want["images"]);
    CHECK(got["correct"] == want["correct"]);
    CHECK(std::abs(got["accuracy"].get<double>() -
                   want["correct"].get<double>() / want["images"].get<double>()) <= 1e-12);
    CHECK(got["hist_right"] == want["hist_right"]);
    CHECK(got["hist_wrong"] == want["hist_wrong"]);
    CHECK(got["not_sure_right"] == want["not_sure_right"]);
    CHECK(got["not_sure_wrong"] == want["not_sure_wrong"]);
    // The CLI's p agree with the lab's within 1e-4 (the Diagnose test), so ECE within 2e-4.
    CHECK(std::abs(got["ece"].get<double>() - want["ece"].get<double>()) <= 2e-4);
    REQUIRE(got["per_class_accuracy"].size() == want["per_class_accuracy"].size());
    for (const auto &[label, a] : want["per_class_accuracy"].items())
        CHECK(std::abs(got["per_class_accuracy"][label].get<double>() - a.get<double>()) <= 1e-12);
}

}  // namespace

TEST_CASE("folia-lab evaluates a model on a labelled folder as folia diagnose scores each photo",
          "[lab]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = fs::path(artifacts_dir()) / "eval-folder";
    const auto pairs = make_eval_folder(dir);
    const json want = expected_evaluation(FOLIA_SHIPPED_MODEL, pairs);
    // The misfiled photos make wrong answers: both histograms have entries.
    REQUIRE(want["correct"].get<int>() > 0);
    REQUIRE(want["correct"].get<int>() < want["images"].get<int>());
    const std::string png = artifacts_dir() + "/evaluate.png";
    const json s = run_lab({"--model", FOLIA_SHIPPED_MODEL, "--evaluate", dir.string(), "--panel",
                            "evaluate", "--screenshot", png, "--frames", "3"});
    CHECK(s["panel"] == "evaluate");
    REQUIRE(s["evaluate"]["result"].is_object());
    CHECK(s["evaluate"]["done"] == s["evaluate"]["total"]);
    check_evaluation(s["evaluate"]["result"], want);
    check_screenshot(png, s, "evaluate.confusion", 0.002);
    check_screenshot(png, s, "evaluate.confidence", 0.01);
    check_screenshot(png, s, "evaluate.reliability", 0.01);
}

TEST_CASE("folia-lab compares two models on one folder, each as folia diagnose scores it",
          "[lab]") {
    if (data_root().empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const fs::path dir = fs::path(artifacts_dir()) / "compare-folder";
    const auto pairs = make_eval_folder(dir);
    // Model B: random weights over the data's class names (a model that is mostly wrong).
    const std::string random_model = artifacts_dir() + "/compare-random.folia";
    const run_result mk =
        run({folia_test::make_random_model_exe(), "-o", random_model, "--seed", "7", "--random-bn",
             "--abstain-threshold", "0.5", "--labels", data_root() + "/CLASSES.txt"});
    REQUIRE(mk.exit_code == 0);
    const std::string png = artifacts_dir() + "/compare.png";
    const json s =
        run_lab({"--model", FOLIA_SHIPPED_MODEL, "--data", dir.string(), "--compare", random_model,
                 "--panel", "compare", "--screenshot", png, "--frames", "3"});
    CHECK(s["panel"] == "compare");
    REQUIRE(s["compare"]["a"]["result"].is_object());
    REQUIRE(s["compare"]["b"]["result"].is_object());
    CHECK(s["compare"]["a"]["model"] == FOLIA_SHIPPED_MODEL);
    CHECK(s["compare"]["b"]["model"] == random_model);
    check_evaluation(s["compare"]["a"]["result"], expected_evaluation(FOLIA_SHIPPED_MODEL, pairs));
    check_evaluation(s["compare"]["b"]["result"], expected_evaluation(random_model, pairs));
    check_screenshot(png, s, "compare.a.confidence", 0.01);
    check_screenshot(png, s, "compare.b.confidence", 0.01);
    check_screenshot(png, s, "compare.per_class", 0.01);
}

TEST_CASE("folia-lab survives a training run whose loss is not a number and shows its failure",
          "[lab]") {
    // A stand-in folia-train that diverges: --progress json writes a NaN loss as null.
    const fs::path tools = fs::path(artifacts_dir()) / "diverging-tools";
    fs::remove_all(tools);
    fs::create_directories(tools);
    const fs::path fake = tools / "folia-train";
    folia_test::write_bytes(fake.string(), [] {
        const std::string sh =
            "#!/bin/sh\n"
            "echo '{\"event\":\"step\",\"epoch\":1,\"epochs\":2,\"step\":1,\"steps\":1,"
            "\"loss\":null,\"acc\":0.5,\"images_per_s\":10,\"eta_s\":1}'\n"
            "echo '{\"event\":\"epoch\",\"epoch\":1,\"loss\":null,\"acc\":null,"
            "\"val_acc\":0.25}'\n"
            "echo 'loss is NaN: stopping'\n"
            "exit 3\n";
        return std::vector<uint8_t>(sh.begin(), sh.end());
    }());
    fs::permissions(fake, fs::perms::owner_all);
    const std::string png = artifacts_dir() + "/train-diverged.png";
    const json s =
        run_lab({"--model", FOLIA_SHIPPED_MODEL, "--data", data_root().empty() ? "." : data_root(),
                 "--train-demo", "--train-out", artifacts_dir() + "/diverged-run", "--panel",
                 "train", "--screenshot", png, "--frames", "3"},
                nullptr, tools.string());
    const json &t = s["train"];
    REQUIRE(t.is_object());
    CHECK(t["finished"] == true);
    CHECK(t["exit_status"] == 3);
    CHECK(t["epochs_done"] == 1);
    CHECK(t["val_acc"] == json::array({0.25}));
    const std::string tail = t["log_tail"].dump();
    CHECK_THAT(tail, Catch::Contains("not a finite number"));
    CHECK_THAT(tail, Catch::Contains("exit status 3"));
}
