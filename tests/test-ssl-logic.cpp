// Pseudo-labelling bookkeeping (training/src/ssl-logic.h): ramp-up, thresholding, the per-class
// cap, the buffer trigger, day accounting and the state's JSON round trip. No LibTorch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "ssl-logic.h"

using namespace folia::train::ssl;

TEST_CASE("SSL ramp(t) is min(t / T_ramp, 1) and reaches 1 at T_ramp epochs", "[ssl]") {
    CHECK(ramp(0, 10) == 0.0);
    CHECK(ramp(1, 10) == Approx(0.1));
    CHECK(ramp(5, 10) == Approx(0.5));
    CHECK(ramp(10, 10) == 1.0);
    CHECK(ramp(25, 10) == 1.0);
    CHECK(ramp(-3, 10) == 0.0);
    CHECK(ramp(3, 0) == 1.0);  // T_ramp 0: no ramp
}

TEST_CASE("SSL ramp t counts pseudo-label epochs globally or per retrain round", "[ssl]") {
    ssl_params p;
    p.ramp_scope = "global";
    // 2 retrains of 3 epochs: t = 1..6 across the rounds.
    CHECK(ramp_t(p, 0, 0) == 1.0);
    CHECK(ramp_t(p, 3, 0) == 4.0);
    CHECK(ramp_t(p, 5, 2) == 6.0);
    p.ramp_scope = "round";
    CHECK(ramp_t(p, 3, 0) == 1.0);
    CHECK(ramp_t(p, 5, 2) == 3.0);
}

TEST_CASE("SSL candidates take argmax as the pseudo-label and max p as the confidence", "[ssl]") {
    const std::vector<float> probs = {0.1f, 0.7f,  0.2f,   //
                                      0.5f, 0.25f, 0.25f,  //
                                      0.3f, 0.3f,  0.4f};
    const auto c = make_candidates(probs, 3, {10, 11, 12}, {1, 2, 2});
    REQUIRE(c.size() == 3);
    CHECK(c[0].image == 10);
    CHECK(c[0].pred == 1);
    CHECK(c[0].confidence == 0.7f);
    CHECK(c[1].pred == 0);
    CHECK(c[1].true_label == 2);
    CHECK(c[2].pred == 2);
    CHECK(c[2].confidence == 0.4f);
    CHECK_THROWS_AS(make_candidates(probs, 4, {10, 11, 12}, {1, 2, 2}), std::invalid_argument);
}

TEST_CASE("SSL threshold accepts exactly when c >= tau", "[ssl]") {
    std::vector<candidate> c = {
        {0, 0, 0, 0.95f}, {1, 0, 1, 0.9f}, {2, 0, 2, 0.8999f}, {3, 0, 0, 0.2f}};
    std::vector<int> count(3, 0);
    const auto v = select_pseudo_labels(c, 0.9, 0, count);
    CHECK(v[0] == verdict::accepted);
    CHECK(v[1] == verdict::accepted);  // equal to tau is accepted (c >= tau)
    CHECK(v[2] == verdict::below_tau);
    CHECK(v[3] == verdict::below_tau);
    CHECK(count == std::vector<int>{1, 1, 0});
    // tau 0: everything is accepted.
    std::vector<int> count0(3, 0);
    const auto all = select_pseudo_labels(c, 0.0, 0, count0);
    CHECK(std::count(all.begin(), all.end(), verdict::accepted) == 4);
}

TEST_CASE("SSL cap keeps at most cap pseudo-labels per class, the most confident ones", "[ssl]") {
    // Class 0 already holds 3 pseudo-labels, cap 5: two more fit, and they must be the two most
    // confident of today's four class-0 candidates, whatever their arrival order.
    std::vector<candidate> c = {{0, 0, 0, 0.91f}, {1, 0, 0, 0.99f}, {2, 0, 0, 0.93f},
                                {3, 0, 0, 0.97f}, {4, 1, 1, 0.95f}, {5, 0, 0, 0.5f}};
    std::vector<int> count = {3, 0};
    const auto v = select_pseudo_labels(c, 0.9, 5, count);
    CHECK(v[1] == verdict::accepted);   // 0.99
    CHECK(v[3] == verdict::accepted);   // 0.97
    CHECK(v[2] == verdict::capped);     // 0.93
    CHECK(v[0] == verdict::capped);     // 0.91
    CHECK(v[4] == verdict::accepted);   // another class is not affected
    CHECK(v[5] == verdict::below_tau);  // below tau is not "capped"
    CHECK(count == std::vector<int>{5, 1});
    // Cap 0 means no cap.
    std::vector<int> big = {1000, 0};
    const auto nocap = select_pseudo_labels(c, 0.9, 0, big);
    CHECK(std::count(nocap.begin(), nocap.end(), verdict::accepted) == 5);
    CHECK(big[0] == 1004);
}

TEST_CASE("SSL days ingest the stream in order and count accepted, below tau and capped", "[ssl]") {
    ssl_params p;
    p.images_per_day = 4;
    p.tau = 0.8;
    p.cap_per_class = 2;
    p.retrain_threshold = 3;
    std::vector<int> stream(10);
    std::iota(stream.begin(), stream.end(), 100);
    ssl_state s = make_state(stream, 2, 7);
    CHECK(s.days_total(p.images_per_day) == 3);
    std::vector<int> seen;
    for (int day = 0; day < 3; ++day) {
        const auto imgs = next_day_images(s, p);
        CHECK(imgs.size() == (day < 2 ? 4u : 2u));
        std::vector<candidate> c;
        for (size_t i = 0; i < imgs.size(); ++i)
            // Everything confident and class 0, true label alternating: the cap (2) bites.
            c.push_back({imgs[i], int(i % 2), 0, i == 3 ? 0.5f : 0.9f});
        const day_record d = ingest_day(s, p, c, 0.5);
        CHECK(d.day == day + 1);
        CHECK(d.accepted + d.below_tau + d.capped == d.arrived);
        seen.insert(seen.end(), imgs.begin(), imgs.end());
    }
    CHECK(s.exhausted());
    std::sort(seen.begin(), seen.end());
    CHECK(seen == stream);     // every stream image arrives exactly once
    CHECK(s.n_accepted == 2);  // the cap
    CHECK(s.below_tau == 2);   // the 4th image of days 1 and 2
    CHECK(s.capped == 6);
    CHECK(s.per_class == std::vector<int>{2, 0});
    REQUIRE(s.buffer.size() == 2);
    CHECK(s.buffer[0].confidence == 0.9f);  // the weight is the confidence when labelled
    CHECK(s.buffer[0].day == 1);
    CHECK(precision_all(s) == Approx(0.5));  // labels 0, true labels 0 and 1
}

TEST_CASE("SSL buffer trigger retrains at the threshold, and on a final partial buffer", "[ssl]") {
    ssl_params p;
    p.retrain_threshold = 3;
    ssl_state s = make_state({1, 2, 3, 4, 5, 6, 7}, 2, 1);
    s.cursor = 2;
    s.buffer = {{1, 0, 0, 0.95f, 1}, {2, 0, 0, 0.95f, 1}};
    CHECK_FALSE(retrain_due(s, p));
    s.buffer.push_back({3, 1, 1, 0.97f, 1});
    CHECK(retrain_due(s, p));
    CHECK(commit_buffer(s) == 3);
    CHECK(s.buffer.empty());
    CHECK(s.accepted.size() == 3);
    CHECK_FALSE(retrain_due(s, p));
    // Stream exhausted with 1 waiting: the final retrain takes it unless switched off.
    s.cursor = s.stream.size();
    s.buffer.push_back({4, 1, 0, 0.99f, 2});
    CHECK(retrain_due(s, p));
    p.final_retrain = false;
    CHECK_FALSE(retrain_due(s, p));
    s.buffer.clear();
    p.final_retrain = true;
    CHECK_FALSE(retrain_due(s, p));  // nothing left to learn from
}

TEST_CASE("SSL stream order is a seeded permutation", "[ssl]") {
    std::vector<int> v(500);
    std::iota(v.begin(), v.end(), 0);
    const auto a = stream_order(v, 1), b = stream_order(v, 1), c = stream_order(v, 2);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a != v);
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == v);
}

TEST_CASE("SSL simulation state survives a JSON round trip", "[ssl]") {
    ssl_params p;
    p.images_per_day = 3;
    p.tau = 0.5;
    ssl_state s = make_state({5, 6, 7, 8, 9}, 3, 3);
    const auto imgs = next_day_images(s, p);
    ingest_day(
        s, p,
        make_candidates({0.1f, 0.8f, 0.1f, 0.6f, 0.2f, 0.2f, 0.3f, 0.3f, 0.4f}, 3, imgs, {1, 1, 2}),
        0.7);
    s.round = 1;
    s.ssl_epochs = 4;
    commit_buffer(s);
    s.rounds.push_back({});
    s.rounds.back().round = 1;
    s.rounds.back().val_acc = 0.75;
    const ssl_state r = ssl_state::from_json(nlohmann::json::parse(s.to_json().dump()));
    CHECK(r.to_json() == s.to_json());
    CHECK(r.accepted.size() == 2);
    CHECK(r.accepted[1].confidence == 0.6f);
    CHECK(r.cursor == 3);
    const ssl_params q = ssl_params::from_json(p.to_json());
    CHECK(q.to_json() == p.to_json());
}

TEST_CASE("SSL settings out of range are refused with a message", "[ssl]") {
    ssl_params p;
    CHECK_NOTHROW(p.validate());
    p.tau = 1.5;
    CHECK_THROWS_WITH(p.validate(), Catch::Contains("--tau"));
    p = {};
    p.images_per_day = 0;
    CHECK_THROWS_WITH(p.validate(), Catch::Contains("--per-day"));
    p = {};
    p.ramp_scope = "weekly";
    CHECK_THROWS_WITH(p.validate(), Catch::Contains("--ramp-scope"));
}

TEST_CASE("SSL utilisation is labeled plus accepted over the training pool", "[ssl]") {
    CHECK(utilisation(1364, 3000, 6601) == Approx(4364.0 / 6601.0));
    CHECK(utilisation(0, 0, 0) == 0.0);
}

TEST_CASE("FlexMatch thresholds are tau * M(beta) with M(x) = x / (2 - x), floored at tau_min",
          "[ssl][flexmatch]") {
    ssl_params p;
    p.method = "flexmatch";
    p.tau = 0.9;
    p.tau_min = 0.5;
    CHECK(flexmatch_map(0.0) == 0.0);
    CHECK(flexmatch_map(1.0) == 1.0);
    CHECK(flexmatch_map(0.5) == Approx(1.0 / 3.0));
    // 100 images so far: 40 confidently class 0, 20 class 1, 0 class 2, 40 not confident.
    // Denominator max(40, 100 - 60) = 40, beta = (1, 0.5, 0):
    // T = (0.9 * 1, max(0.5, 0.9 / 3), max(0.5, 0)) = (0.9, 0.5, 0.5).
    auto t = class_thresholds(p, {40, 20, 0}, 100);
    REQUIRE(t.size() == 3);
    CHECK(t[0] == Approx(0.9));
    CHECK(t[1] == Approx(0.5));
    CHECK(t[2] == Approx(0.5));
    // Warm-up: 70 of 100 not yet confident, so the denominator is 70, not the largest class (20):
    // beta = (20 / 70, 10 / 70), T_0 = 0.9 * (2/7) / (2 - 2/7) = 0.9 / 6 = 0.15 -> floor 0.5.
    p.tau_min = 0.0;
    t = class_thresholds(p, {20, 10}, 100);
    CHECK(t[0] == Approx(0.9 * (2.0 / 7.0) / (2.0 - 2.0 / 7.0)));
    CHECK(t[0] == Approx(0.15));
    CHECK(t[1] == Approx(0.9 * (1.0 / 7.0) / (2.0 - 1.0 / 7.0)));
    // Nothing seen yet: 0 / 0 is beta 0, so every class sits at tau_min.
    p.tau_min = 0.6;
    t = class_thresholds(p, {0, 0, 0}, 0);
    CHECK(t == std::vector<double>{0.6, 0.6, 0.6});
    // fixed-tau ignores the counts.
    p.method = "fixed-tau";
    CHECK(class_thresholds(p, {40, 20, 0}, 100) == std::vector<double>{0.9, 0.9, 0.9});
}

TEST_CASE("FlexMatch days accept a slow class below tau and count confident predictions",
          "[ssl][flexmatch]") {
    ssl_params p;
    p.method = "flexmatch";
    p.tau = 0.9;
    p.tau_min = 0.55;
    p.cap_per_class = 0;
    p.images_per_day = 4;
    ssl_state s = make_state({0, 1, 2, 3, 4, 5, 6, 7}, 2, 3);
    // Day 1: thresholds all at tau_min (nothing seen). Class 0 confident 3 times, class 1 once
    // at 0.6 (accepted: 0.6 >= 0.55 but not counted as confident: 0.6 < tau).
    std::vector<candidate> c1 = {{s.stream[0], 0, 0, 0.95f},
                                 {s.stream[1], 0, 0, 0.92f},
                                 {s.stream[2], 0, 0, 0.91f},
                                 {s.stream[3], 1, 1, 0.60f}};
    const day_record d1 = ingest_day(s, p, c1, 0.5);
    CHECK(d1.accepted == 4);
    CHECK(d1.threshold_min == Approx(0.55));
    CHECK(s.confident == std::vector<int64_t>{3, 0});
    // Day 2: denominator max(3, 4 - 3) = 3, beta = (1, 0): T = (0.9, 0.55). A class-0 image at
    // 0.8 is now refused, a class-1 image at 0.6 still accepted.
    std::vector<candidate> c2 = {{s.stream[4], 0, 0, 0.80f},
                                 {s.stream[5], 1, 1, 0.60f},
                                 {s.stream[6], 1, 1, 0.50f},
                                 {s.stream[7], 0, 0, 0.93f}};
    const day_record d2 = ingest_day(s, p, c2, 0.5);
    CHECK(d2.accepted == 2);
    CHECK(d2.below_tau == 2);
    CHECK(d2.threshold_min == Approx(0.55));
    CHECK(d2.threshold_mean == Approx((0.9 + 0.55) / 2));
    CHECK(s.confident == std::vector<int64_t>{4, 0});
    // The counts survive the state's JSON round trip.
    CHECK(ssl_state::from_json(s.to_json()).confident == s.confident);
}

TEST_CASE("SSL settings refuse an unknown method and tau_min above tau", "[ssl][flexmatch]") {
    ssl_params p;
    p.method = "meanteacher";
    CHECK_THROWS_AS(p.validate(), std::invalid_argument);
    p.method = "flexmatch";
    p.tau_min = 0.95;
    CHECK_THROWS_AS(p.validate(), std::invalid_argument);
    p.tau_min = 0.5;
    CHECK_NOTHROW(p.validate());
    // A state saved before method / tau_min existed reads them as the defaults.
    nlohmann::json j = ssl_params{}.to_json();
    j.erase("method");
    j.erase("tau_min");
    CHECK(ssl_params::from_json(j).method == "fixed-tau");
}

TEST_CASE("A noisy student takes its teacher's used pseudo-labels above a confidence floor",
          "[ssl][student]") {
    ssl_state t = make_state({10, 11, 12, 13, 14}, 3, 1);
    t.accepted = {{10, 2, 2, 0.95f, 1}, {11, 1, 0, 0.60f, 1}, {12, 0, 0, 0.70f, 2}};
    t.buffer = {{13, 1, 1, 0.99f, 3}};  // left by --no-final-retrain: never trained on, not used
    const auto all = student_pseudo_labels(t, 0.0);
    REQUIRE(all.size() == 3);
    CHECK(all[0].image == 10);
    CHECK(all[1].image == 11);
    CHECK(all[2].image == 12);
    const auto sure = student_pseudo_labels(t, 0.7);  // 0.70 is kept: the floor is inclusive
    REQUIRE(sure.size() == 2);
    CHECK(sure[0].image == 10);
    CHECK(sure[1].image == 12);
    CHECK(precision(sure) == 1.0);
    CHECK(precision(all) == Approx(2.0 / 3.0));
    CHECK(per_class_counts(all, 3) == std::vector<int>{1, 1, 1});
    CHECK(per_class_counts(sure, 3) == std::vector<int>{1, 0, 1});
    CHECK(student_pseudo_labels(t, 0.96).empty());
}

TEST_CASE("An ensemble teacher's verdicts are the mean of its members' softmax outputs",
          "[ssl][student]") {
    // Two members, n = 2 images, k = 3 classes (row-major), averaged by hand.
    const std::vector<float> a = {0.7f, 0.2f, 0.1f, 0.1f, 0.5f, 0.4f};
    const std::vector<float> b = {0.1f, 0.8f, 0.1f, 0.3f, 0.1f, 0.6f};
    const std::vector<float> m = mean_probabilities({a, b});
    const std::vector<float> expected = {0.4f, 0.5f, 0.1f, 0.2f, 0.3f, 0.5f};
    REQUIRE(m.size() == expected.size());
    for (size_t i = 0; i < m.size(); ++i) CHECK(m[i] == Approx(expected[i]).margin(1e-7));
    // The ensemble's verdict can be neither member's: image 0 is class 1 at 0.5 (a says 0).
    const auto c = make_candidates(m, 3, {7, 8}, {1, 2});
    CHECK(c[0].pred == 1);
    CHECK(c[0].confidence == Approx(0.5f));
    CHECK(c[1].pred == 2);
    CHECK(mean_probabilities({a}) == a);  // one member: itself
    CHECK_THROWS_WITH(mean_probabilities({}), Catch::Contains("no member"));
    CHECK_THROWS_WITH(mean_probabilities({a, {0.5f, 0.5f}}), Catch::Contains("differ in size"));
}

TEST_CASE("A balanced student keeps each predicted class's most confident stream images",
          "[ssl][student]") {
    // candidate: image, true label, predicted label, confidence (k = 3).
    const std::vector<candidate> c = {{10, 0, 0, 0.9f}, {11, 1, 0, 0.6f}, {12, 0, 0, 0.8f},
                                      {13, 1, 1, 0.5f}, {14, 2, 2, 0.7f}, {15, 2, 0, 0.8f},
                                      {16, 0, 2, 0.3f}};
    const auto images = [](const std::vector<pseudo_label> &v) {
        std::vector<int> r;
        for (const auto &p : v) r.push_back(p.image);
        return r;
    };
    // 2 per class: class 0 keeps 0.9 and the first of the two 0.8 (arrival order breaks the
    // tie); class 1 its only image; class 2 both, even the wrong 0.3.
    const auto two = balanced_pseudo_labels(c, 3, 2, 0.0);
    CHECK(images(two) == std::vector<int>{10, 12, 13, 14, 16});
    CHECK(per_class_counts(two, 3) == std::vector<int>{2, 1, 2});
    CHECK(precision(two) == Approx(4.0 / 5.0));  // 16 (true 0, labelled 2) is the wrong one
    CHECK(two[0].label == 0);
    CHECK(two[0].confidence == 0.9f);
    CHECK(two[4].label == 2);
    CHECK(two[4].true_label == 0);
    CHECK(two[0].day == 0);
    // 0 per class = all, with a floor of 0.6 (inclusive): class 1's 0.5 and class 2's 0.3 go.
    const auto floor = balanced_pseudo_labels(c, 3, 0, 0.6);
    CHECK(images(floor) == std::vector<int>{10, 12, 15, 11, 14});
    CHECK(precision(floor) == Approx(3.0 / 5.0));  // 15 and 11 are wrong
    CHECK(images(balanced_pseudo_labels(c, 3, 1, 0.0)) == std::vector<int>{10, 13, 14});
    CHECK(balanced_pseudo_labels(c, 3, 5, 0.95).empty());
    CHECK_THROWS_WITH(balanced_pseudo_labels(c, 3, -1, 0.0), Catch::Contains(">= 0"));
    CHECK_THROWS_WITH(balanced_pseudo_labels(c, 2, 2, 0.0), Catch::Contains("outside"));
}
