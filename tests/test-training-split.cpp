// Training data: leaf grouping, the grouped stratified split, the committed split file,
// metrics and calibration maths. No LibTorch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "calibration.h"
#include "dataset.h"
#include "metrics.h"
#include "split.h"

using namespace folia::train;

namespace {

// catch_discover_tests passes only the first ENVIRONMENT entry, so the build also bakes it in.
std::string source_dir() {
    const char *env = std::getenv("FOLIA_SOURCE_DIR");
    return env && *env ? env : FOLIA_TRAINING_SOURCE_DIR;
}

std::string data_root() {
    const char *d = std::getenv("FOLIA_DATA");
    return d && *d ? d : "";
}

// A synthetic dataset: `classes` classes; in each, groups of 1..4 samples.
dataset synthetic(int classes, int groups_per_class) {
    dataset d;
    d.root = "/nonexistent";
    for (int c = 0; c < classes; ++c) {
        d.classes.push_back("class" + std::to_string(c));
        for (int g = 0; g < groups_per_class; ++g)
            for (int k = 0; k <= (g * 7 + c) % 4; ++k) {
                sample s;
                s.rel_path =
                    d.classes.back() + "/g" + std::to_string(g) + "_" + std::to_string(k) + ".jpg";
                s.label = c;
                s.group = "leaf:" + std::to_string(c) + ":" + std::to_string(g);
                d.samples.push_back(s);
            }
    }
    return d;
}

void require_no_group_on_two_sides(const dataset &d, const data_split &s) {
    std::map<std::string, part> seen;
    for (size_t i = 0; i < d.samples.size(); ++i) {
        const auto [it, fresh] = seen.emplace(d.samples[i].group, s.parts[i]);
        INFO("group " << d.samples[i].group);
        REQUIRE((fresh || it->second == s.parts[i]));
    }
}

// Fraction of each class in each part is near its target (whole groups make it approximate).
void require_stratified(const dataset &d, const data_split &s, double tol) {
    for (int c = 0; c < int(d.classes.size()); ++c) {
        std::map<part, double> n;
        double total = 0;
        for (size_t i = 0; i < d.samples.size(); ++i)
            if (d.samples[i].label == c) n[s.parts[i]] += 1, total += 1;
        INFO("class " << d.classes[size_t(c)] << " (" << total << " images)");
        CHECK(std::abs(n[part::test] / total - 0.10) <= tol);
        CHECK(std::abs(n[part::val] / total - 0.10) <= tol);
        const double rest = n[part::labeled] + n[part::stream];
        CHECK(std::abs(n[part::labeled] / rest - 0.20) <= tol);
    }
}

}  // namespace

TEST_CASE("The split keeps every leaf group on one side, is stratified and deterministic",
          "[training][split]") {
    const dataset d = synthetic(6, 120);
    const data_split a = make_split(d, {});
    require_no_group_on_two_sides(d, a);
    require_stratified(d, a, 0.03);
    const data_split b = make_split(d, {});
    CHECK(a.parts == b.parts);
    split_params other;
    other.seed = 7;
    CHECK(make_split(d, other).parts != a.parts);
}

TEST_CASE("A split survives its JSON round trip and refuses another dataset's file",
          "[training][split]") {
    const dataset d = synthetic(3, 40);
    const data_split a = make_split(d, {});
    const data_split b = split_from_json(split_to_json(a, d), d);
    CHECK(a.parts == b.parts);
    CHECK(b.params.seed == a.params.seed);
    const dataset other = synthetic(4, 40);  // has files the JSON does not list
    CHECK_THROWS_WITH(split_from_json(split_to_json(a, d), other),
                      Catch::Contains("another data folder"));
    CHECK_THROWS(split_from_json("{not json", d));
}

TEST_CASE("Leaf groups chain consecutive photo numbers of one code within +-4",
          "[training][split]") {
    const std::string root = data_root();
    if (root.empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const dataset d = scan_dataset(root);
    REQUIRE(d.classes.size() == 35);
    REQUIRE(d.samples.size() == 8340);
    // Read the MANIFEST ourselves and check the grouping rule pairwise within each code.
    std::ifstream in(root + "/MANIFEST.tsv");
    std::string line;
    std::getline(in, line);
    std::map<std::string, std::pair<std::string, long>> photo;  // path -> (class|code, number)
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string x;
        while (std::getline(ss, x, '\t')) f.push_back(x);
        if (f.size() > 11 && !f[10].empty() && !f[11].empty())
            photo[f[0]] = {f[1] + "|" + f[10], std::stol(f[11])};
    }
    std::map<std::string, std::string> group_of;
    for (const auto &s : d.samples) group_of[s.rel_path] = s.group;
    int close_pairs = 0;
    std::map<std::string, std::vector<std::pair<long, std::string>>> by_code;
    for (const auto &[path, cn] : photo) by_code[cn.first].push_back({cn.second, path});
    for (auto &[code, v] : by_code) {
        std::sort(v.begin(), v.end());
        for (size_t i = 1; i < v.size(); ++i) {
            const bool close = v[i].first - v[i - 1].first <= 4;
            INFO(v[i - 1].second << " and " << v[i].second);
            CHECK((group_of[v[i].second] == group_of[v[i - 1].second]) == close);
            close_pairs += close;
        }
    }
    CHECK(close_pairs > 1000);  // the rule matters on this data
    // Files without a photo code are their own groups.
    for (const auto &s : d.samples)
        if (!photo.count(s.rel_path)) CHECK(s.group == "file:" + s.rel_path);
}

TEST_CASE("The committed split file matches the data, seed 42, and no leaf is on two sides",
          "[training][split]") {
    const std::string root = data_root();
    const std::string src = source_dir();
    const std::string path = std::string(src) + "/training/splits/plantvillage-seed42.json";
    REQUIRE(std::filesystem::exists(path));
    if (root.empty()) FAIL("FOLIA_DATA must point at the PlantVillage folder");
    const dataset d = scan_dataset(root);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const data_split s = split_from_json(ss.str(), d);
    require_no_group_on_two_sides(d, s);
    // Whole leaves move together: one Corn Cercospora leaf series holds 43 of its 270 images,
    // so per-class fractions can be off by ~7 points; the totals are tight.
    require_stratified(d, s, 0.08);
    CHECK(make_split(d, s.params).parts == s.parts);  // reproducible from its seed
    std::map<part, int> n;
    for (part p : s.parts) n[p]++;
    const double total = double(d.samples.size());
    CHECK(std::abs(n[part::test] / total - 0.10) < 0.01);
    CHECK(std::abs(n[part::val] / total - 0.10) < 0.01);
    CHECK(std::abs(double(n[part::labeled]) / (n[part::labeled] + n[part::stream]) - 0.20) < 0.01);
}

TEST_CASE("Metrics: accuracy, per-class precision/recall/F1, confusion and ECE by hand",
          "[training]") {
    // 4 samples, 2 classes. Logits chosen so softmax is easy: [0, ln 3] -> p = (0.25, 0.75).
    const float l3 = float(std::log(3.0));
    const std::vector<float> logits = {0, l3, 0, l3, l3, 0, l3, 0};
    const std::vector<int> labels = {1, 0, 0, 0};  // predictions: 1, 1, 0, 0
    const auto r = evaluate_logits(logits, labels, 2);
    CHECK(r.accuracy == Approx(0.75));
    CHECK(r.confusion[0][0] == 2);
    CHECK(r.confusion[0][1] == 1);
    CHECK(r.confusion[1][1] == 1);
    CHECK(r.per_class[0].precision == Approx(1.0));
    CHECK(r.per_class[0].recall == Approx(2.0 / 3));
    CHECK(r.per_class[1].precision == Approx(0.5));
    CHECK(r.per_class[1].f1 == Approx(2 * 0.5 * 1.0 / 1.5));
    // All confidences are 0.75 (one bin), accuracy 0.75: ECE 0.
    CHECK(r.ece == Approx(0.0).margin(1e-6));
    CHECK(r.nll == Approx(-(3 * std::log(0.75) + std::log(0.25)) / 4).epsilon(1e-5));
}

TEST_CASE("Temperature scaling finds the NLL minimum and the abstain threshold respects its budget",
          "[training]") {
    // Over-confident logits: the right answer wins 80 % of the time with a huge margin.
    std::vector<float> logits;
    std::vector<int> labels;
    splitmix64 rng(3);
    for (int i = 0; i < 500; ++i) {
        const int y = int(rng.below(3));
        const int pred = rng.uniform() < 0.8 ? y : (y + 1) % 3;
        for (int c = 0; c < 3; ++c)
            logits.push_back(c == pred ? float(8 + 4 * rng.uniform()) : 0.0f);
        labels.push_back(y);
    }
    const double t = fit_temperature(logits, labels, 3);
    CHECK(t > 2.0);  // over-confident: softened
    const double nll = mean_nll(logits, labels, 3, t);
    CHECK(nll <= mean_nll(logits, labels, 3, t * 1.1) + 1e-9);
    CHECK(nll <= mean_nll(logits, labels, 3, t / 1.1) + 1e-9);
    CHECK(nll < mean_nll(logits, labels, 3, 1.0));
    const auto probs = softmax_rows(logits, 3, t);
    const auto a = choose_abstain_threshold(probs, labels, 3, 0.10);
    CHECK(a.flagged_right <= 0.10);
    CHECK(a.right + a.wrong == 500);
    const auto again = abstain_rates(probs, labels, 3, a.threshold);
    CHECK(again.flagged_wrong == Approx(a.flagged_wrong));
}
