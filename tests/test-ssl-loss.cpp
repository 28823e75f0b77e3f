// The seed's semi-supervised loss (training/src/ssl-loss.h) against hand-computed values.
// Reference numbers: written out by hand as -log softmax and checked with Python's math module
// (double precision); the tolerance covers f32 arithmetic.
#include <cmath>

#include "ssl-loss.h"

// Last, and after dropping glog's CHECK (LibTorch's logging pulls it in): CHECK must be Catch's.
#undef CHECK
#include <catch2/catch.hpp>

using namespace folia::train::ssl;

namespace {

torch::Tensor logits4() {
    return torch::tensor({2.0f, 0.0f, -1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.5f, -0.5f, 3.0f})
        .view({4, 3});
}

double ce(std::initializer_list<double> l, int y) {
    double s = 0;
    for (double v : l) s += std::exp(v);
    return -(*(l.begin() + y) - std::log(s));
}

}  // namespace

TEST_CASE("SSL weighted pseudo-label loss equals sum w_i CE_i / (sum w_i + 1e-8)", "[ssl]") {
    const torch::Tensor y_hat = torch::tensor({0, 2, 1, 2}, torch::kInt64);
    const torch::Tensor w = torch::tensor({0.9f, 0.95f, 0.5f, 0.99f});
    // By hand: CE = 0.169846, 1.551445, 1.098612 (= log 3), 0.106414.
    const double hand = (0.9 * ce({2, 0, -1}, 0) + 0.95 * ce({0, 1, 0}, 2) +
                         0.5 * ce({1, 1, 1}, 1) + 0.99 * ce({0.5, -0.5, 3}, 2)) /
                        (0.9 + 0.95 + 0.5 + 0.99 + 1e-8);
    CHECK(hand == Approx(0.6830508971786848).epsilon(1e-12));
    const double got = pseudo_label_loss(logits4(), y_hat, w).item<double>();
    CHECK(got == Approx(0.6830508971786848).margin(1e-6));
    // Equal weights reduce to the plain mean cross-entropy.
    const double mean = pseudo_label_loss(logits4(), y_hat, torch::full({4}, 0.7f)).item<double>();
    const double ce_mean = torch::nn::functional::cross_entropy(logits4(), y_hat).item<double>();
    CHECK(mean == Approx(ce_mean).margin(1e-6));
    // Zero weight on an item removes it.
    const double drop =
        pseudo_label_loss(logits4(), y_hat, torch::tensor({1.0f, 0.0f, 0.0f, 0.0f})).item<double>();
    CHECK(drop == Approx(ce({2, 0, -1}, 0)).margin(1e-6));
}

TEST_CASE("SSL loss is L_labeled + lambda*ramp * L_pseudo over the batch's two sources", "[ssl]") {
    // Items 0, 1 labeled (y = 0, 1; their weights must be ignored), items 2, 3 pseudo-labeled
    // (y_hat = 1, 2; confidences 0.5, 0.99); lambda * ramp = 0.3.
    const torch::Tensor y = torch::tensor({0, 1, 1, 2}, torch::kInt64);
    const torch::Tensor w = torch::tensor({0.1f, 7.0f, 0.5f, 0.99f});
    const torch::Tensor src = torch::tensor({0, 0, 1, 1}, torch::kInt64);
    const ssl_loss_terms t = ssl_loss(logits4(), y, w, src, 0.3);
    CHECK(t.labeled.item<double>() == Approx(0.36064536674416825).margin(1e-6));
    CHECK(t.pseudo.item<double>() == Approx(0.4393665121996952).margin(1e-6));
    CHECK(t.total.item<double>() == Approx(0.4924553204040768).margin(1e-6));
    // ramp 0 (first epochs): the pseudo-labels contribute nothing, not even gradient.
    torch::Tensor l = logits4().clone().requires_grad_(true);
    ssl_loss(l, y, w, src, 0.0).total.backward();
    CHECK(l.grad().index({torch::indexing::Slice(2, 4)}).abs().max().item<float>() == 0.0f);
    CHECK(l.grad().index({torch::indexing::Slice(0, 2)}).abs().max().item<float>() > 0.0f);
    // Class weights on L_labeled: c = (3, 1, 1) weights item 0's CE three times.
    const ssl_loss_terms cw =
        ssl_loss(logits4(), y, w, src, 0.3, torch::tensor({3.0f, 1.0f, 1.0f}));
    CHECK(cw.labeled.item<double>() ==
          Approx((3 * ce({2, 0, -1}, 0) + ce({0, 1, 0}, 1)) / 4).margin(1e-6));
}

TEST_CASE("SSL loss of a batch without one of the sources is finite", "[ssl]") {
    const torch::Tensor y = torch::tensor({0, 1, 1, 2}, torch::kInt64);
    const torch::Tensor w = torch::ones({4});
    const auto only_pseudo = ssl_loss(logits4(), y, w, torch::ones({4}, torch::kInt64), 1.0);
    CHECK(only_pseudo.labeled.item<double>() == 0.0);
    CHECK(std::isfinite(only_pseudo.total.item<double>()));
    const auto only_labeled = ssl_loss(logits4(), y, w, torch::zeros({4}, torch::kInt64), 1.0);
    CHECK(only_labeled.pseudo.item<double>() == 0.0);
    CHECK(only_labeled.total.item<double>() == Approx(only_labeled.labeled.item<double>()));
    CHECK(
        pseudo_label_loss(torch::zeros({0, 3}), torch::zeros({0}, torch::kInt64), torch::zeros({0}))
            .item<double>() == 0.0);
}

TEST_CASE("FixMatch loss masks the strong view by the weak view's confidence per class",
          "[ssl][fixmatch]") {
    // Rows 0, 1 labeled (y = 0, 1); rows 2, 3 unlabeled (their y is never read). Weak views:
    // softmax(3, 0, 0) = (0.909443, ...) -> y_hat 0; softmax(0, 0, 4) = (..., 0.964663) -> 2.
    const torch::Tensor y = torch::tensor({0, 1, -1, -1}, torch::kInt64);
    const torch::Tensor src = torch::tensor({0, 0, 2, 2}, torch::kInt64);
    const torch::Tensor weak = torch::tensor({3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 4.0f}).view({2, 3});
    const torch::Tensor rows = torch::tensor({2, 3}, torch::kInt64);
    // tau 0.95 everywhere: only row 3 passes. L_u = CE((0.5, -0.5, 3), 2) / 2 (M = 2 rows, not
    // the 1 masked row); L_labeled = mean CE of rows 0, 1; lambda_u = 2.
    fixmatch_terms t = fixmatch_loss(logits4(), y, src, weak, rows, {0.95, 0.95, 0.95}, 2.0);
    CHECK(t.labeled.item<double>() == Approx(0.36064536674416825).margin(1e-6));
    CHECK(t.unlabeled.item<double>() == Approx(0.053207052139977895).margin(1e-6));
    CHECK(t.total.item<double>() == Approx(0.46705947102412404).margin(1e-6));
    CHECK(t.mask[0].item<bool>() == false);
    CHECK(t.mask[1].item<bool>() == true);
    CHECK(t.y_hat[0].item<int64_t>() == 0);
    CHECK(t.y_hat[1].item<int64_t>() == 2);
    CHECK(t.confidence[1].item<double>() == Approx(0.9646631559719039).margin(1e-6));
    // Class thresholds (0.9, 0.99, 0.99): now row 2 passes (0.909 >= 0.9) and row 3 does not
    // (0.965 < 0.99): L_u = CE((1, 1, 1), 0) / 2 = log(3) / 2.
    t = fixmatch_loss(logits4(), y, src, weak, rows, {0.9, 0.99, 0.99}, 2.0);
    CHECK(t.unlabeled.item<double>() == Approx(0.5493061443340548).margin(1e-6));
    CHECK(t.total.item<double>() == Approx(1.4592576554122778).margin(1e-6));
    // The target is the weak view's argmax, not the strong view's own: weak (0, 4, 0) on row 3
    // makes y_hat 1 (0.964663 >= 0.95) where the strong logits (0.5, -0.5, 3) prefer 2, so
    // L_u = CE((0.5, -0.5, 3), 1) / 2 = 1.8032 (by hand).
    const torch::Tensor weak2 = torch::tensor({3.0f, 0.0f, 0.0f, 0.0f, 4.0f, 0.0f}).view({2, 3});
    t = fixmatch_loss(logits4(), y, src, weak2, rows, {0.95, 0.95, 0.95}, 2.0);
    CHECK(t.y_hat[1].item<int64_t>() == 1);
    CHECK(t.unlabeled.item<double>() == Approx(1.803207052139978).margin(1e-6));
    // Gradient: none on a masked-out row, some on the passing one.
    torch::Tensor l = logits4().clone().requires_grad_(true);
    torch::Tensor wl = weak.clone().requires_grad_(true);
    fixmatch_loss(l, y, src, wl, rows, {0.9, 0.99, 0.99}, 2.0).total.backward();
    CHECK(l.grad()[3].abs().max().item<float>() == 0.0f);
    CHECK(l.grad()[2].abs().max().item<float>() > 0.0f);
}

TEST_CASE("FixMatch loss: a confidence equal to its threshold passes; no unlabeled rows is fine",
          "[ssl][fixmatch]") {
    // softmax(0, 0) = (0.5, 0.5) exactly: y_hat is the first maximum, 0; tau 0.5 passes it.
    const torch::Tensor one = torch::tensor({1.0f, 2.0f}).view({1, 2});
    const torch::Tensor src = torch::tensor({2}, torch::kInt64);
    const torch::Tensor y = torch::tensor({-1}, torch::kInt64);
    const torch::Tensor rows = torch::tensor({0}, torch::kInt64);
    const auto t = fixmatch_loss(one, y, src, torch::zeros({1, 2}), rows, {0.5, 0.5}, 1.0);
    CHECK(t.mask[0].item<bool>());
    // CE((1, 2), 0) = log(1 + e) = 1.313262 (by hand), and no labeled row: L_labeled = 0.
    CHECK(t.unlabeled.item<double>() == Approx(1.3132616875182228).margin(1e-6));
    CHECK(t.labeled.item<double>() == 0.0);
    const auto none = fixmatch_loss(logits4(), torch::tensor({0, 1, 1, 2}, torch::kInt64),
                                    torch::zeros({4}, torch::kInt64), {}, {}, {0.9, 0.9, 0.9}, 1.0);
    CHECK(none.unlabeled.item<double>() == 0.0);
    CHECK(none.mask.numel() == 0);
    CHECK(none.total.item<double>() == Approx(none.labeled.item<double>()));
    CHECK_THROWS_WITH(fixmatch_loss(one, y, src, torch::zeros({1, 2}), rows, {0.5}, 1.0),
                      Catch::Contains("one threshold per class"));
}
