// Incremental learning, the plain C++ parts: exemplar selection (herding / distance / random),
// Avalanche metrics and the class-incremental protocol. No LibTorch.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "incremental-exemplars.h"
#include "incremental-metrics.h"
#include "incremental-protocol.h"

using namespace folia::train;

namespace {

// A class of 5 points in 2-D whose mean is the origin:
//   a (0.4, 0)  b (0.49, 0)  c (-0.5, 0)  d (-0.195, 1)  e (-0.195, -1)
// Distances to the mean: a 0.4, b 0.49, c 0.5, d = e = 1.0188.
// Herding (running mean of the chosen set nearest the class mean):
//   k=1: a (0.4).
//   k=2: |(a+b)/2| = 0.445, |(a+c)/2| = 0.05, |(a+d)/2| = |(0.1025, 0.5)| = 0.5104 -> c.
//   k=3: sum (-0.1, 0): +b -> |(0.39,0)/3| = 0.13, +d -> |(-0.295,1)/3| = 0.3475 -> b.
//   k=4: sum (0.39, 0): +d -> |(0.195,1)/4| = 0.2547 (e the same: tie -> lower index d).
// So herding gives a, c, b, d while the nearest-to-mean choice is a, b, c, d.
const std::vector<float> k_points = {0.4f, 0.0f,    0.49f, 0.0f,    -0.5f,
                                     0.0f, -0.195f, 1.0f,  -0.195f, -1.0f};

}  // namespace

TEST_CASE("Herding picks the exemplars whose running mean tracks the class mean on a 2-D example",
          "[incremental]") {
    CHECK(select_exemplars(k_points, 5, 2, 1, exemplar_selection::herding, 0, false) ==
          std::vector<int>{0});
    CHECK(select_exemplars(k_points, 5, 2, 2, exemplar_selection::herding, 0, false) ==
          std::vector<int>{0, 2});
    CHECK(select_exemplars(k_points, 5, 2, 3, exemplar_selection::herding, 0, false) ==
          std::vector<int>{0, 2, 1});
    CHECK(select_exemplars(k_points, 5, 2, 4, exemplar_selection::herding, 0, false) ==
          std::vector<int>{0, 2, 1, 3});
    // Asking for more than there are returns every point once.
    std::vector<int> all =
        select_exemplars(k_points, 5, 2, 9, exemplar_selection::herding, 0, false);
    std::sort(all.begin(), all.end());
    CHECK(all == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Distance selection takes the points nearest the class mean, unlike herding",
          "[incremental]") {
    CHECK(select_exemplars(k_points, 5, 2, 2, exemplar_selection::distance, 0, false) ==
          std::vector<int>{0, 1});
    CHECK(select_exemplars(k_points, 5, 2, 3, exemplar_selection::distance, 0, false) ==
          std::vector<int>{0, 1, 2});
}

TEST_CASE("Herding on L2-normalised features ignores each row's length", "[incremental]") {
    // Rows on the unit circle at angles 0, 100, -100, 10 degrees, then scaled by 1..4: with
    // normalisation the choice is the one of the unit rows.
    const double pi = 3.14159265358979;
    const double ang[4] = {0, 100, -100, 10};
    std::vector<float> unit, scaled;
    for (int i = 0; i < 4; ++i) {
        const float x = float(std::cos(ang[i] * pi / 180)), y = float(std::sin(ang[i] * pi / 180));
        unit.insert(unit.end(), {x, y});
        scaled.insert(scaled.end(), {x * float(i + 1), y * float(i + 1)});
    }
    const auto a = select_exemplars(unit, 4, 2, 3, exemplar_selection::herding, 0, false);
    const auto b = select_exemplars(scaled, 4, 2, 3, exemplar_selection::herding, 0, true);
    CHECK(a == b);
    CHECK(select_exemplars(scaled, 4, 2, 3, exemplar_selection::herding, 0, false) != a);
}

TEST_CASE("Random exemplar selection is a seeded sample without replacement", "[incremental]") {
    const auto a = random_selection(50, 10, 7), b = random_selection(50, 10, 7),
               c = random_selection(50, 10, 8);
    CHECK(a == b);
    CHECK(a != c);
    REQUIRE(a.size() == 10);
    CHECK(std::set<int>(a.begin(), a.end()).size() == 10);
    for (int i : a) CHECK((i >= 0 && i < 50));
    CHECK(random_selection(3, 10, 1).size() == 3);
    CHECK_THROWS_AS(select_exemplars(std::vector<float>(5), 3, 2, 1, exemplar_selection::herding),
                    std::invalid_argument);
    CHECK_THROWS_AS(parse_exemplar_selection("closest"), std::invalid_argument);
}

TEST_CASE("Avalanche metrics on a hand-made accuracy matrix", "[incremental]") {
    accuracy_matrix m;
    m.test_count = {100, 50, 50};
    m.add_step({0.9});
    m.add_step({0.6, 0.8});
    m.add_step({0.3, 0.5, 0.95});
    CHECK_THROWS_AS(m.add_step({0.1, 0.2}), std::invalid_argument);
    const cl_metrics r = compute_cl_metrics(m);
    // ACC over seen experiences, sample-weighted (StreamAccuracy on test_stream[:t+1]).
    REQUIRE(r.acc.size() == 3);
    CHECK(r.acc[0] == Approx(0.9));
    CHECK(r.acc[1] == Approx((0.6 * 100 + 0.8 * 50) / 150.0));
    CHECK(r.acc[2] == Approx((0.3 * 100 + 0.5 * 50 + 0.95 * 50) / 200.0));
    CHECK(r.acc_exp_mean[2] == Approx((0.3 + 0.5 + 0.95) / 3));
    // Forgetting: accuracy right after learning minus accuracy at the end; none for the last.
    REQUIRE(r.forgetting.size() == 2);
    CHECK(r.forgetting[0] == Approx(0.6));
    CHECK(r.forgetting[1] == Approx(0.3));
    CHECK(r.stream_forgetting[0] == 0);
    CHECK(r.stream_forgetting[1] == Approx(0.3));  // after step 1: 0.9 - 0.6
    CHECK(r.mean_forgetting == Approx(0.45));
    CHECK(r.bwt[0] == Approx(-0.6));
    CHECK(r.mean_bwt == Approx(-0.45));
    CHECK(r.final_acc == Approx(r.acc[2]));
}

TEST_CASE("Class-incremental protocol: 35 classes as 20 + 8 + 7 with contiguous outputs",
          "[incremental]") {
    protocol_params pp;
    pp.first_classes = 20;
    pp.steps = 2;
    const cil_protocol p = make_protocol(35, pp);
    REQUIRE(p.experiences.size() == 3);
    CHECK(p.experiences[0].classes.size() == 20);
    CHECK(p.experiences[1].classes.size() == 8);
    CHECK(p.experiences[2].classes.size() == 7);
    CHECK(p.experiences[1].first_output == 20);
    CHECK(p.experiences[2].num_outputs_after() == 35);
    CHECK(p.class_order[0] == 0);
    CHECK(p.experience_of_output(27) == 1);
    CHECK(p.experience_of_output(28) == 2);

    pp.shuffle_classes = true;
    pp.seed = 3;
    const cil_protocol s = make_protocol(35, pp), s2 = make_protocol(35, pp);
    CHECK(s.class_order == s2.class_order);
    std::vector<int> sorted = s.class_order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 35; ++i) CHECK(sorted[size_t(i)] == i);
    CHECK(s.class_order != p.class_order);
    for (int c = 0; c < 35; ++c) CHECK(s.class_order[size_t(s.output_of[size_t(c)])] == c);

    CHECK_THROWS_AS(make_protocol(35, {36, 1, false, 1}), std::invalid_argument);
    CHECK_THROWS_AS(make_protocol(35, {20, 16, false, 1}), std::invalid_argument);
    CHECK_THROWS_AS(make_protocol(35, {20, 0, false, 1}), std::invalid_argument);
}

TEST_CASE("Experience samples follow the classes and the split parts", "[incremental]") {
    dataset d;
    d.classes = {"a", "b", "c"};
    data_split sp;
    for (int i = 0; i < 12; ++i) {
        d.samples.push_back({"x/" + std::to_string(i), i % 3, "g" + std::to_string(i), 1});
        sp.parts.push_back(i < 6 ? part::labeled : (i < 9 ? part::stream : part::test));
    }
    const cil_protocol p = make_protocol(3, {2, 1, false, 1});
    CHECK(experience_samples(d, sp, p, 0, {part::labeled, part::stream}) ==
          std::vector<int>{0, 1, 3, 4, 6, 7});
    CHECK(experience_samples(d, sp, p, 1, {part::labeled, part::stream}) ==
          std::vector<int>{2, 5, 8});
    CHECK(experience_samples(d, sp, p, 1, {part::test}) == std::vector<int>{11});
    CHECK(p.labels(d, 3) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("A total memory is split floor(K/c) per class, the remainder to the lowest classes",
          "[incremental]") {
    CHECK(memory_budget_split(10, 3) == std::vector<int>{4, 3, 3});
    CHECK(memory_budget_split(10, 4) == std::vector<int>{3, 3, 2, 2});
    CHECK(memory_budget_split(700, 20) == std::vector<int>(20, 35));
    CHECK(memory_budget_split(700, 28) == std::vector<int>(28, 25));
    CHECK(memory_budget_split(2, 3) == std::vector<int>{1, 1, 0});
    CHECK(memory_budget_split(5, 0).empty());
    for (int k : {1, 7, 100, 2000})
        for (int c = 1; c <= 40; ++c) {
            const std::vector<int> s = memory_budget_split(k, c);
            int sum = 0;
            for (int v : s) sum += v;
            CHECK(sum == k);
            CHECK(s.front() - s.back() <= 1);
        }
    CHECK_THROWS_AS(memory_budget_split(-1, 3), std::invalid_argument);
}

TEST_CASE("Reducing an exemplar set keeps the prefix of its selection order, as re-selecting would",
          "[incremental]") {
    // Herding on the 2-D class above: a, c, b, d; reduced to 2 it is a, c (not the two nearest
    // the mean, a and b), and equals herding asked for 2 directly.
    const std::vector<int> four =
        select_exemplars(k_points, 5, 2, 4, exemplar_selection::herding, 0, false);
    CHECK(reduce_exemplar_set(four, 2) == std::vector<int>{0, 2});
    CHECK(reduce_exemplar_set(four, 2) ==
          select_exemplars(k_points, 5, 2, 2, exemplar_selection::herding, 0, false));
    CHECK(reduce_exemplar_set(four, 9) == four);  // never grows
    CHECK(reduce_exemplar_set(four, 0).empty());
    // Distance and random: the prefix is the smaller selection too.
    CHECK(reduce_exemplar_set(
              select_exemplars(k_points, 5, 2, 4, exemplar_selection::distance, 0, false), 2) ==
          select_exemplars(k_points, 5, 2, 2, exemplar_selection::distance, 0, false));
    for (int m = 0; m <= 30; ++m)
        CHECK(reduce_exemplar_set(random_selection(30, 30, 5), m) == random_selection(30, m, 5));
}

TEST_CASE("NME class means are means of normalised features, normalised again", "[incremental]") {
    // Rows (10, 0) and (0, 1): normalised (1, 0) and (0, 1), mean (0.5, 0.5), normalised
    // (1/sqrt2, 1/sqrt2). The raw mean (5, 0.5) would point at (0.995, 0.0995) instead.
    const std::vector<float> mu = nme_class_mean({10, 0, 0, 1}, 2, 2);
    REQUIRE(mu.size() == 2);
    CHECK(mu[0] == Approx(0.70710678).margin(1e-6));
    CHECK(mu[1] == Approx(0.70710678).margin(1e-6));
    const std::vector<float> one = nme_class_mean({3, 4}, 1, 2);
    REQUIRE(one.size() == 2);
    CHECK(one[0] == Approx(0.6).margin(1e-6));
    CHECK(one[1] == Approx(0.8).margin(1e-6));
    CHECK(nme_class_mean({}, 0, 2).empty());
    CHECK_THROWS_AS(nme_class_mean({1, 2, 3}, 2, 2), std::invalid_argument);
}

TEST_CASE("NME predicts the nearest class mean of the normalised feature", "[incremental]") {
    // An obvious case: means (1, 0) and (0, 1); (3, 0.5) -> 0, (-0.2, 2) -> 1, and a class
    // without a mean (empty) is never predicted.
    const std::vector<std::vector<float>> means = {{1, 0}, {0, 1}, {}};
    CHECK(nme_predict(means, {3, 0.5f, -0.2f, 2}, 2, 2) == std::vector<int>{0, 1});
    // A tie (equal distances) goes to the lower class.
    CHECK(nme_predict(means, {1, 1}, 1, 2) == std::vector<int>{0});
    CHECK(nme_predict({{}, {}}, {1, 1}, 1, 2) == std::vector<int>{-1});
}

TEST_CASE("NME's normalisation changes the answer where raw feature lengths differ",
          "[incremental]") {
    // Class 0's features are long, (10, 0) and (12, 0); class 1's short, (1, 1) and (0.5, 0.5).
    // x = (0.9, 0.1). Raw nearest mean: |x - (11, 0)|^2 = 102.0, |x - (0.75, 0.75)|^2 = 0.445
    // -> class 1. Normalised: x/|x| = (0.9939, 0.1104); to (1, 0): 0.0122, to (0.7071,
    // 0.7071): 0.4383 -> class 0 (x points along class 0's direction).
    const std::vector<float> c0 = {10, 0, 12, 0}, c1 = {1, 1, 0.5f, 0.5f};
    const std::vector<std::vector<float>> means = {nme_class_mean(c0, 2, 2),
                                                   nme_class_mean(c1, 2, 2)};
    CHECK(nme_predict(means, {0.9f, 0.1f}, 1, 2) == std::vector<int>{0});
    auto raw_nearest = [](float x, float y) {
        const double d0 = (x - 11.0) * (x - 11.0) + y * y;
        const double d1 = (x - 0.75) * (x - 0.75) + (y - 0.75) * (y - 0.75);
        return d0 < d1 ? 0 : 1;
    };
    CHECK(raw_nearest(0.9f, 0.1f) == 1);
    // Along class 1's direction the two agree.
    CHECK(nme_predict(means, {0.4f, 0.5f}, 1, 2) == std::vector<int>{1});
    CHECK(raw_nearest(0.4f, 0.5f) == 1);
}
