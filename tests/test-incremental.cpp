// Incremental learning with LibTorch: Fisher diagonal, distillation loss and EWC penalty against
// hand computations, output-layer growth, native-engine parity of an incrementally updated model,
// and a CI-sized end-to-end run of every strategy on a slice of the real data ($FOLIA_DATA).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "export.h"
#include "folia.h"
#include "commands-incremental.h"
#include "file-io.h"
#include "incremental-metrics.h"
#include "incremental-protocol.h"
#include "incremental.h"

// Last, and after dropping glog's CHECK (LibTorch's logging pulls it in): CHECK must be Catch's.
#undef CHECK
#include <catch2/catch.hpp>

using namespace folia;
using namespace folia::train;

namespace {

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

// Synthetic images: class c has a bright channel c plus noise, so a few steps learn something.
image_cache synthetic_cache(int per_class, int classes, int size, uint64_t seed) {
    image_cache c;
    c.size = size;
    splitmix64 rng(seed);
    for (int k = 0; k < classes; ++k)
        for (int i = 0; i < per_class; ++i)
            for (int p = 0; p < size * size; ++p)
                for (int ch = 0; ch < 3; ++ch) {
                    const int base = ch == k % 3 ? 170 : 60;
                    c.data.push_back(
                        uint8_t(base + int(rng.below(60)) + (k >= 3 ? 20 * ((p / size) % 2) : 0)));
                }
    return c;
}

// The exported model in the native engine on the test images of the real-data slice, per
// experience by class name (first_classes, then one class each): the accuracy and how many
// images were near ties (top-2 probabilities within 1e-3, where the engine's and LibTorch's
// rounding may disagree). Counted here, independently of the protocol and metrics code.
struct engine_counts {
    std::vector<int> correct, total, near_ties;
};
// The exported model's answers in the native engine on one part of the split, per experience.
engine_counts engine_part_counts(const model_file &mf, const dataset &d, const data_split &s,
                                 const image_cache &images, int first_classes, part which) {
    std::vector<uint8_t> bytes;
    std::string err;
    REQUIRE(write_model_file(mf, &bytes, &err) == FOLIA_OK);
    folia_params params = folia_default_params();
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(bytes.data(), bytes.size(), &params, &ctx) == FOLIA_OK);
    const int k = folia_num_classes(ctx);
    const int experiences = 1 + k - first_classes;
    engine_counts c{std::vector<int>(size_t(experiences)), std::vector<int>(size_t(experiences)),
                    std::vector<int>(size_t(experiences))};
    std::vector<float> probs(static_cast<size_t>(k));
    for (size_t i = 0; i < d.samples.size(); ++i) {
        if (s.parts[i] != which) continue;
        const std::string truth = d.classes[size_t(d.samples[i].label)];
        const auto at = std::find(mf.labels.begin(), mf.labels.end(), truth);
        REQUIRE(at != mf.labels.end());
        const int e = std::max(0, int(at - mf.labels.begin()) - first_classes + 1);
        REQUIRE(folia_classify(ctx, images.image(i), images.size, images.size, images.size * 3, 3,
                               probs.data()) == FOLIA_OK);
        std::vector<float> sorted = probs;
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        const int top = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
        c.correct[size_t(e)] += std::string(folia_label(ctx, top)) == truth;
        c.total[size_t(e)] += 1;
        c.near_ties[size_t(e)] += sorted[0] - sorted[1] < 1e-3f;
    }
    folia_free(ctx);
    return c;
}

std::vector<train_item> synthetic_items(int per_class, const std::vector<int> &classes) {
    std::vector<train_item> r;
    for (int k : classes)
        for (int i = 0; i < per_class; ++i) r.push_back({k * per_class + i, k, 1.0f, 0});
    return r;
}

train_config quick_config(int epochs) {
    train_config c;
    c.epochs = epochs;
    c.batch = 8;
    c.lr = 1e-3;
    c.patience = 0;
    c.progress = false;
    c.warmup_epochs = 0;
    return c;
}

// 4 classes x 40 photos of $FOLIA_DATA at 32 px, split and cached: the real-data smoke tests'
// input. Fails (not skips) without the data folder.
struct real_slice {
    dataset d;
    data_split split;
    image_cache images;
};
real_slice real_data_slice() {
    const std::string data = env_or("FOLIA_DATA", "");
    if (data.empty() || !std::filesystem::exists(data))
        FAIL(
            "FOLIA_DATA is not set or missing: this test needs the PlantVillage folder "
            "(export FOLIA_DATA=/path/to/plantvillage)");
    real_slice r;
    r.d = subset_dataset(scan_dataset(data), 4, 40);
    r.split = make_split(r.d, split_params{});
    r.images = build_cache(r.d, 32, 2, false);
    return r;
}

// The base of an incremental test: a 2-class model (seeded) trained one epoch on classes 0 and 1.
folia_net trained_base(const image_cache &images, int per_class, uint64_t seed) {
    torch::manual_seed(seed);
    folia_net base = make_model(2, seed);
    trainer t(base, images, quick_config(1));
    t.fit(synthetic_items(per_class, {0, 1}), {});
    return base;
}

// iCaRL's class mean of `items` with the model's current features (nme_class_mean).
std::vector<float> nme_mean_of(folia_net &model, const image_cache &images,
                               const std::vector<train_item> &items) {
    std::vector<int32_t> idx;
    for (const auto &it : items) idx.push_back(it.image);
    int d = 0;
    const std::vector<float> f = extract_features(model, images, idx, &d);
    return nme_class_mean(f, int(idx.size()), d);
}

// What the balanced fine-tuning pass documents, written out: the step's config for `epochs`,
// constant lr * 0.1, no class weights, the seed mixed with 0xBF7 + 1 (the experience count
// after the consolidated base).
train_config balanced_pass_config(const train_config &step, int epochs) {
    train_config tc = step;
    tc.epochs = epochs;
    tc.lr = step.lr * 0.1;
    tc.schedule = "constant";
    tc.weighting = class_weighting::none;
    tc.seed = mix_seeds(step.seed, 0xBF7 + 1);
    return tc;
}

// LibTorch eval logits of NHWC input vs the native engine on the exported model file.
double engine_vs_libtorch(folia_net &model, const model_file &mf, int n,
                          std::vector<float> *engine_out = nullptr) {
    std::vector<uint8_t> bytes;
    std::string err;
    REQUIRE(write_model_file(mf, &bytes, &err) == FOLIA_OK);
    folia_params params = folia_default_params();
    folia_context *ctx = nullptr;
    REQUIRE(folia_init_from_buffer(bytes.data(), bytes.size(), &params, &ctx) == FOLIA_OK);
    REQUIRE(folia_num_classes(ctx) == model->arch.num_classes);
    const int size = mf.preprocess.input_size;
    const golden_data g = make_golden(model, n, size);
    std::vector<float> out(size_t(n) * size_t(g.classes));
    REQUIRE(folia_logits(ctx, g.input.data(), n, out.data()) == FOLIA_OK);
    for (int i = 0; i < g.classes; ++i)
        CHECK(std::string(folia_label(ctx, i)) == mf.labels[size_t(i)]);
    folia_free(ctx);
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i)
        worst = std::max(worst, double(std::fabs(out[i] - g.logits[i])));
    if (engine_out) *engine_out = out;
    return worst;
}

}  // namespace

TEST_CASE("Fisher diagonal of a tiny softmax-regression model matches the closed form",
          "[incremental]") {
    torch::manual_seed(0);
    torch::nn::Linear lin(2, 3);
    const double W[3][2] = {{0.5, -0.2}, {0.1, 0.3}, {-0.4, 0.2}};
    const double B[3] = {0.1, 0.0, -0.1};
    {
        torch::NoGradGuard ng;
        for (int c = 0; c < 3; ++c) {
            lin->bias[c] = B[c];
            for (int k = 0; k < 2; ++k) lin->weight[c][k] = W[c][k];
        }
    }
    const double X[3][2] = {{1.0, 2.0}, {-1.0, 0.5}, {0.3, -1.5}};
    const int Y[3] = {0, 2, 1};
    const torch::Tensor x = torch::tensor({1.0f, 2.0f, -1.0f, 0.5f, 0.3f, -1.5f}).view({3, 2});
    const torch::Tensor y = torch::tensor(std::vector<int64_t>{0, 2, 1});
    named_tensors params = {{"weight", lin->weight}, {"bias", lin->bias}};
    auto nll = [&](int64_t b, int64_t e) {
        return torch::nn::functional::cross_entropy(lin(x.slice(0, b, e)), y.slice(0, b, e));
    };
    // Hand: d(-log p_y)/dz_c = p_c - [c == y]; dW[c][k] = that * x_k; db[c] = that.
    double gw[3][3][2], gb[3][3];
    for (int i = 0; i < 3; ++i) {
        double z[3], zmax = -1e9, sum = 0;
        for (int c = 0; c < 3; ++c) {
            z[c] = W[c][0] * X[i][0] + W[c][1] * X[i][1] + B[c];
            zmax = std::max(zmax, z[c]);
        }
        for (int c = 0; c < 3; ++c) sum += std::exp(z[c] - zmax);
        for (int c = 0; c < 3; ++c) {
            const double g = std::exp(z[c] - zmax) / sum - (c == Y[i] ? 1.0 : 0.0);
            gb[i][c] = g;
            for (int k = 0; k < 2; ++k) gw[i][c][k] = g * X[i][k];
        }
    }
    SECTION("per-sample (group 1): mean of squared gradients") {
        const named_tensors f = fisher_diagonal(params, 3, 1, nll);
        for (int c = 0; c < 3; ++c) {
            double eb = 0;
            for (int i = 0; i < 3; ++i) eb += gb[i][c] * gb[i][c] / 3;
            CHECK(f.at("bias")[c].item<double>() == Approx(eb).epsilon(1e-5));
            for (int k = 0; k < 2; ++k) {
                double ew = 0;
                for (int i = 0; i < 3; ++i) ew += gw[i][c][k] * gw[i][c][k] / 3;
                CHECK(f.at("weight")[c][k].item<double>() == Approx(ew).epsilon(1e-5));
            }
        }
    }
    SECTION("groups of 2 ({0,1}, {2}): mean over groups of the squared mean gradient") {
        const named_tensors f = fisher_diagonal(params, 3, 2, nll);
        for (int c = 0; c < 3; ++c) {
            const double g01 = (gb[0][c] + gb[1][c]) / 2, g2 = gb[2][c];
            CHECK(f.at("bias")[c].item<double>() ==
                  Approx((g01 * g01 + g2 * g2) / 2).epsilon(1e-5));
            for (int k = 0; k < 2; ++k) {
                const double w01 = (gw[0][c][k] + gw[1][c][k]) / 2, w2 = gw[2][c][k];
                CHECK(f.at("weight")[c][k].item<double>() ==
                      Approx((w01 * w01 + w2 * w2) / 2).epsilon(1e-5));
            }
        }
    }
    // The gradients a trainer accumulated are not touched.
    CHECK(!lin->weight.grad().defined());
}

TEST_CASE("LwF distillation loss equals a hand-computed KL divergence", "[incremental]") {
    const torch::Tensor old_logits =
        torch::tensor({1.0f, 2.0f, 0.5f, 0.0f, -1.0f, 3.0f}).view({2, 3});
    // The new model has one more output (a grown layer): it is left out of the distillation.
    torch::Tensor new_logits = torch::tensor({0.2f, 1.5f, -0.3f, 4.0f, 1.0f, 1.0f, 1.0f, -2.0f})
                                   .view({2, 4})
                                   .requires_grad_(true);
    const torch::Tensor d = distillation_loss(new_logits, old_logits, 2.0);
    // Hand (T = 2): per row sum_c q_c (log q_c - log p_c), q = softmax(old/T), p =
    // softmax(new[:3]/T), mean over the 2 rows (NumPy: 0.17472149382488772).
    double hand = 0;
    const double o[2][3] = {{1, 2, 0.5}, {0, -1, 3}}, n[2][3] = {{0.2, 1.5, -0.3}, {1, 1, 1}};
    for (int r = 0; r < 2; ++r) {
        double so = 0, sn = 0;
        for (int c = 0; c < 3; ++c) so += std::exp(o[r][c] / 2), sn += std::exp(n[r][c] / 2);
        for (int c = 0; c < 3; ++c) {
            const double q = std::exp(o[r][c] / 2) / so, p = std::exp(n[r][c] / 2) / sn;
            hand += q * (std::log(q) - std::log(p)) / 2;
        }
    }
    CHECK(hand == Approx(0.17472149382488772).epsilon(1e-12));
    CHECK(d.item<double>() == Approx(hand).epsilon(1e-5));
    d.backward();
    CHECK(new_logits.grad().slice(1, 3, 4).abs().sum().item<double>() == 0);  // grown output free
    CHECK(new_logits.grad().abs().sum().item<double>() > 0);
    // Same distributions: zero.
    CHECK(distillation_loss(old_logits, old_logits, 3.0).item<double>() == Approx(0).margin(1e-7));
}

TEST_CASE("EWC penalty equals sum F (theta - theta*)^2 and leaves grown outputs free",
          "[incremental]") {
    const named_tensors fisher = {{"w", torch::tensor({1.0f, 2.0f, 0.5f, 4.0f}).view({2, 2})},
                                  {"b", torch::tensor({3.0f, 0.0f})}};
    const named_tensors saved = {{"w", torch::tensor({0.0f, 1.0f, 1.0f, -1.0f}).view({2, 2})},
                                 {"b", torch::tensor({0.5f, 0.5f})}};
    // Current weights grew by one output row (not penalised).
    const named_tensors current = {
        {"w", torch::tensor({1.0f, 1.0f, 0.0f, 1.0f, 9.0f, 9.0f}).view({3, 2})},
        {"b", torch::tensor({1.5f, 7.0f, 9.0f})}};
    // w: 1*(1-0)^2 + 2*(1-1)^2 + 0.5*(0-1)^2 + 4*(1+1)^2 = 1 + 0 + 0.5 + 16 = 17.5
    // b: 3*(1.5-0.5)^2 + 0*(7-0.5)^2 = 3
    CHECK(ewc_penalty(current, fisher, saved).item<double>() == Approx(20.5));
    CHECK_THROWS(ewc_penalty({{"w", current.at("w")}}, fisher, saved));
}

TEST_CASE("Growing the output layer keeps the old logits unchanged", "[incremental]") {
    arch_desc a;
    a.channels = {4, 8};
    a.hidden = 16;
    a.num_classes = 3;
    torch::manual_seed(5);
    folia_net m(a);
    m->eval();
    const torch::Tensor x = torch::randn({4, 3, 16, 16});
    const torch::Tensor before = m->forward(x).detach().clone();
    m->grow_classes(6);
    m->eval();
    const torch::Tensor after = m->forward(x).detach();
    REQUIRE(after.size(1) == 6);
    CHECK(torch::equal(after.slice(1, 0, 3), before));
    CHECK(after.slice(1, 3, 6).abs().sum().item<double>() > 0);  // new outputs are initialised
    CHECK_THROWS(m->grow_classes(2));

    // Through the learner: outputs grow to the experience's count, a label beyond it is refused.
    image_cache images = synthetic_cache(8, 4, 16, 1);
    folia_net net(a);
    auto learner = make_learner("finetune", net, images);
    incremental_config cfg;
    cfg.train = quick_config(1);
    const incremental_result r = learner->learn_incremental({synthetic_items(8, {3}), 4}, cfg);
    CHECK(r.num_outputs == 4);
    CHECK(learner->model()->arch.num_classes == 4);
    CHECK_THROWS_AS(learner->learn_incremental({synthetic_items(8, {3}), 3}, cfg),
                    std::invalid_argument);
    std::vector<train_item> bad = synthetic_items(8, {3});
    bad[0].label = 4;
    CHECK_THROWS_AS(learner->learn_incremental({bad, 4}, cfg), std::invalid_argument);
}

TEST_CASE("An incrementally updated model exports and gives LibTorch's logits in the native engine",
          "[incremental][engine]") {
    const int size = 32, per = 12;
    image_cache images = synthetic_cache(per, 4, size, 2);
    folia_net base = trained_base(images, per, 11);
    incremental_config cfg;
    cfg.train = quick_config(1);
    cfg.fisher_samples = 8;
    cfg.memory_per_class = 4;
    const std::vector<std::string> names = {"c0", "c1", "c2", "c3"};
    for (const std::string strategy : {"finetune", "lwf", "ewc", "rehearsal"}) {
        DYNAMIC_SECTION(strategy) {
            auto learner = make_learner(strategy, clone_model(base), images);
            learner->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
            learner->learn_incremental({synthetic_items(per, {2}), 3}, cfg);
            const incremental_result r =
                learner->learn_incremental({synthetic_items(per, {3}), 4}, cfg);
            REQUIRE(learner->model()->arch.num_classes == 4);
            if (strategy == "rehearsal") {
                CHECK(r.memory_size == 4 * 4);
                CHECK(r.train_images == per + 3 * 4);
            }
            if (strategy == "lwf") CHECK(r.extra.at("mean_distillation_loss").get<double>() > 0);
            if (strategy == "ewc") CHECK(r.extra.at("mean_penalty").get<double>() > 0);
            model_file info;
            info.labels = names;
            info.preprocess.input_size = size;
            const model_file mf = to_model_file(learner->model(), info);
            const double diff = engine_vs_libtorch(learner->model(), mf, 3);
            INFO("max |engine - LibTorch| = " << diff);
            CHECK(diff <= 1e-4);
        }
    }
}

TEST_CASE("CI-sized class-incremental run of every strategy on a slice of the real data",
          "[incremental][data]") {
    const real_slice slice = real_data_slice();
    const dataset &d = slice.d;
    const data_split &split = slice.split;
    const image_cache &images = slice.images;
    incremental_options o;
    o.data.size = 32;
    o.out = env_or("FOLIA_BINARY_DIR", std::filesystem::temp_directory_path().string()) +
            "/test-incremental-e2e";
    std::filesystem::remove_all(o.out);
    o.seeds = {3};
    o.first_classes = 2;
    o.steps = 2;
    o.base_epochs = 3;
    o.step_epochs = 1;
    o.fit.batch = 16;
    o.fisher_samples = 16;
    o.memory_per_class = 5;
    o.progress = false;
    const nlohmann::json r = run_incremental(o, d, split, images);
    REQUIRE(r.at("runs").size() == o.strategies.size());
    for (const auto &run : r.at("runs")) {
        const std::string name = run.at("strategy");
        INFO(name);
        const auto test_count = run.at("test_count").get<std::vector<int>>();
        REQUIRE(test_count.size() == 3);
        for (int c : test_count) CHECK(c > 0);
        if (name == "joint") {
            CHECK(run.at("acc_per_experience").size() == 3);
        } else {
            // The matrix is lower-triangular and its metrics are the Avalanche ones.
            accuracy_matrix m;
            m.test_count = test_count;
            const auto rows = run.at("matrix").get<std::vector<std::vector<double>>>();
            REQUIRE(rows.size() == 3);
            for (const auto &row : rows) {
                for (double v : row) CHECK((v >= 0 && v <= 1));
                m.add_step(row);
            }
            const cl_metrics cm = compute_cl_metrics(m);
            CHECK(run.at("metrics").at("mean_forgetting").get<double>() ==
                  Approx(cm.mean_forgetting));
            CHECK(run.at("metrics").at("final_acc").get<double>() == Approx(cm.final_acc));
            const auto &steps = run.at("steps");
            REQUIRE(steps.size() == 2);
            CHECK(steps[1].at("num_outputs") == 4);
            if (run.at("kind") == "rehearsal") {
                CHECK(steps[0].at("memory_size") == 3 * 5);  // 2 base classes + 1 new, 5 each
                CHECK(steps[1].at("memory_size") == 4 * 5);
            }
        }
        // The exported model runs in the native engine with the protocol's labels.
        const std::vector<uint8_t> bytes = read_file_bytes(run.at("model").get<std::string>());
        model_file mf;
        REQUIRE(parse_model_file(bytes.data(), bytes.size(), &mf) == FOLIA_OK);
        CHECK(mf.labels == std::vector<std::string>(d.classes.begin(), d.classes.begin() + 4));
        CHECK(mf.preprocess.input_size == 32);
        folia_net back = model_from_file(mf);
        CHECK(engine_vs_libtorch(back, mf, 2) <= 1e-4);
        // The final accuracies against the exported model's answers, counted by hand: per
        // experience, and the sample-weighted final ACC over all of them.
        // On the test part (the reported figures) and on the val part (where knobs are chosen).
        for (const part which : {part::test, part::val}) {
            const bool val = which == part::val;
            INFO((val ? "val" : "test"));
            const engine_counts ec =
                engine_part_counts(mf, d, split, images, o.first_classes, which);
            CHECK(ec.total == run.at(val ? "val_count" : "test_count").get<std::vector<int>>());
            for (int c : ec.total) REQUIRE(c > 0);
            const std::string rows_key = val ? "val_matrix" : "matrix";
            const std::vector<double> last =
                name == "joint" ? run.at(val ? "val_acc_per_experience" : "acc_per_experience")
                                      .get<std::vector<double>>()
                                : run.at(rows_key).back().get<std::vector<double>>();
            REQUIRE(last.size() == 3);
            int correct = 0, total = 0, ties = 0;
            for (size_t j = 0; j < 3; ++j) {
                CHECK(last[j] == Approx(double(ec.correct[j]) / ec.total[j])
                                     .margin(double(ec.near_ties[j]) / ec.total[j] + 1e-9));
                correct += ec.correct[j];
                total += ec.total[j];
                ties += ec.near_ties[j];
            }
            CHECK(run.at(val ? "val_metrics" : "metrics").at("final_acc").get<double>() ==
                  Approx(double(correct) / total).margin(double(ties) / total + 1e-9));
        }
        if (name != "joint") {
            // Forgetting by its definition: mean over j < 2 of R[j][j] - R[2][j].
            const auto rows = run.at("matrix").get<std::vector<std::vector<double>>>();
            const double forgetting = ((rows[0][0] - rows[2][0]) + (rows[1][1] - rows[2][1])) / 2;
            CHECK(run.at("metrics").at("mean_forgetting").get<double>() == Approx(forgetting));
        }
    }
    // Every run is finished: a second call trains nothing and returns the same results.
    const nlohmann::json again = run_incremental(o, d, split, images);
    CHECK(again.at("runs") == r.at("runs"));
    // Another configuration in the same folder is refused rather than mixed in.
    o.step_epochs = 2;
    CHECK_THROWS(run_incremental(o, d, split, images));
}

TEST_CASE("Weight Aligning scales the new output rows to the old rows' mean norm",
          "[incremental][wa]") {
    arch_desc a;
    a.channels = {4, 8};
    a.hidden = 2;
    a.num_classes = 4;
    folia_net m(a);
    {
        torch::NoGradGuard ng;
        // Old rows |(3,4)| = 5, |(0,1)| = 1: mean 3. New rows |(6,8)| = 10, |(0,2)| = 2: mean 6.
        m->fc2->weight.copy_(torch::tensor({3.f, 4.f, 0.f, 1.f, 6.f, 8.f, 0.f, 2.f}).view({4, 2}));
        m->fc2->bias.copy_(torch::tensor({1.f, -1.f, 4.f, -2.f}));
    }
    m->eval();
    const torch::Tensor x = torch::randn({3, 3, 8, 8});
    const torch::Tensor before = m->forward(x).detach().clone();
    CHECK(weight_align(m, 2) == Approx(0.5));  // gamma = 3 / 6
    const torch::Tensor w = m->fc2->weight, b = m->fc2->bias;
    CHECK(torch::allclose(w, torch::tensor({3.f, 4.f, 0.f, 1.f, 3.f, 4.f, 0.f, 1.f}).view({4, 2})));
    CHECK(torch::allclose(b, torch::tensor({1.f, -1.f, 2.f, -1.f})));
    // Old logits unchanged, new logits halved.
    const torch::Tensor after = m->forward(x).detach();
    CHECK(torch::equal(after.slice(1, 0, 2), before.slice(1, 0, 2)));
    CHECK(torch::allclose(after.slice(1, 2, 4), 0.5 * before.slice(1, 2, 4), 1e-5, 1e-6));
    // Nothing to align: no old or no new outputs.
    CHECK(weight_align(m, 0) == 1.0);
    CHECK(weight_align(m, 4) == 1.0);
    CHECK(torch::equal(m->fc2->weight, w));

    // Through rehearsal: the step's gamma is recorded and the new rows end at the old mean norm.
    image_cache images = synthetic_cache(10, 3, 16, 2);
    arch_desc a2;
    a2.channels = {4, 8};
    a2.hidden = 16;
    a2.num_classes = 2;
    auto learner = make_learner("rehearsal", folia_net(a2), images);
    incremental_config cfg;
    cfg.train = quick_config(2);
    cfg.memory_per_class = 3;
    cfg.weight_aligning = true;
    learner->consolidate({synthetic_items(10, {0, 1}), 2}, cfg);
    const incremental_result r = learner->learn_incremental({synthetic_items(10, {2}), 3}, cfg);
    REQUIRE(r.extra.contains("wa_gamma"));
    CHECK(r.extra["wa_gamma"].get<double>() > 0);
    const torch::Tensor n = learner->model()->fc2->weight.norm(2, 1);
    CHECK(n[2].item<double>() == Approx(n.slice(0, 0, 2).mean().item<double>()).epsilon(1e-5));
    CHECK(cfg.to_json()["weight_aligning"] == true);
}

TEST_CASE("Rehearsal with distillation keeps the old outputs closer to the model before the step",
          "[incremental][kd]") {
    const int per = 10;
    image_cache images = synthetic_cache(per, 3, 16, 4);
    folia_net base = trained_base(images, per, 21);
    const std::vector<train_item> old_items = synthetic_items(per, {0, 1});
    auto old_logits_of = [&](folia_net &m) {
        std::vector<int> idx;
        for (const auto &it : old_items) idx.push_back(it.image);
        const std::vector<uint8_t> u8 = [&] {
            const size_t n = size_t(images.size) * images.size * 3;
            std::vector<uint8_t> v(idx.size() * n);
            for (size_t i = 0; i < idx.size(); ++i)
                std::memcpy(v.data() + i * n, images.image(size_t(idx[i])), n);
            return v;
        }();
        return predict_logits(m, u8.data(), int64_t(idx.size()), images.size).slice(1, 0, 2);
    };
    const torch::Tensor before = old_logits_of(base);
    auto drift_after_step = [&](double alpha, nlohmann::json *extra) {
        auto learner = make_learner("rehearsal", clone_model(base), images);
        incremental_config cfg;
        cfg.train = quick_config(3);
        cfg.train.lr = 5e-3;
        cfg.memory_per_class = 4;
        cfg.rehearsal_distill = alpha;
        learner->consolidate({old_items, 2}, cfg);
        const incremental_result r =
            learner->learn_incremental({synthetic_items(per, {2}), 3}, cfg);
        *extra = r.extra;
        // KL(softmax(before / T) || softmax(after / T)) over the old outputs, T = 2.
        return distillation_loss(old_logits_of(learner->model()), before, 2.0).item<double>();
    };
    nlohmann::json plain, kd;
    const double drift_plain = drift_after_step(0, &plain), drift_kd = drift_after_step(50, &kd);
    CHECK(!plain.contains("mean_distillation_loss"));
    REQUIRE(kd.contains("mean_distillation_loss"));
    CHECK(kd["distill_alpha"] == 50.0);
    CHECK(std::isfinite(kd["mean_distillation_loss"].get<double>()));
    CHECK(drift_kd < 0.5 * drift_plain);
}

TEST_CASE(
    "A fixed total memory is shared by the seen classes and old sets keep their herding prefix",
    "[incremental]") {
    const int size = 16, per = 12;
    image_cache images = synthetic_cache(per, 4, size, 3);
    folia_net base = trained_base(images, per, 13);
    incremental_config cfg;
    cfg.train = quick_config(1);
    cfg.memory_total = 7;
    auto learner = make_learner("rehearsal", clone_model(base), images);
    learner->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
    const auto after0 = learner->exemplar_sets();
    REQUIRE(after0.size() == 2);
    CHECK(after0.at(0).size() == 4);  // 7 over 2 classes: 4, 3
    CHECK(after0.at(1).size() == 3);
    const incremental_result r1 = learner->learn_incremental({synthetic_items(per, {2}), 3}, cfg);
    CHECK(r1.train_images == per + 7);  // replayed with the budget of before the step
    CHECK(r1.memory_size == 7);         // 3, 2, 2
    const auto after1 = learner->exemplar_sets();
    auto same_images = [](const std::vector<train_item> &a, const std::vector<train_item> &b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i].image != b[i].image || a[i].label != b[i].label) return false;
        return true;
    };
    CHECK(same_images(after1.at(0), reduce_exemplar_set(after0.at(0), 3)));
    CHECK(same_images(after1.at(1), reduce_exemplar_set(after0.at(1), 2)));
    CHECK(after1.at(2).size() == 2);
    const incremental_result r2 = learner->learn_incremental({synthetic_items(per, {3}), 4}, cfg);
    CHECK(r2.memory_size == 7);  // 2, 2, 2, 1
    const auto after2 = learner->exemplar_sets();
    CHECK(same_images(after2.at(2), reduce_exemplar_set(after1.at(2), 2)));
    CHECK(after2.at(3).size() == 1);
    for (const auto &[label, mem] : after2)
        for (const auto &it : mem) CHECK(it.label == label);

    // NME: the fresh class's mean is over all its training images, older ones' over their
    // exemplars, both with the current model's features.
    const auto &means = learner->nme_means();
    REQUIRE(means.size() == 4);
    auto mean_of = [&](const std::vector<train_item> &items) {
        return nme_mean_of(learner->model(), images, items);
    };
    auto close = [](const std::vector<float> &a, const std::vector<float> &b) {
        if (a.size() != b.size() || a.empty()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (std::fabs(a[i] - b[i]) > 1e-5f) return false;
        return true;
    };
    CHECK(close(means[3], mean_of(synthetic_items(per, {3}))));
    for (int c = 0; c < 3; ++c) CHECK(close(means[size_t(c)], mean_of(after2.at(c))));
    CHECK(!close(means[0], mean_of(synthetic_items(per, {0}))));  // the exemplars, not all
    const double acc = nme_accuracy(learner->model(), images, means, synthetic_items(per, {0, 3}));
    CHECK((acc >= 0 && acc <= 1));
    // Other strategies have no NME classifier.
    CHECK(make_learner("finetune", clone_model(base), images)->nme_means().empty());
}

TEST_CASE("Balanced fine-tuning is a fit on the memory alone after the step, then fresh NME means",
          "[incremental][bft]") {
    const int per = 10;
    image_cache images = synthetic_cache(per, 3, 16, 5);
    folia_net base = trained_base(images, per, 31);
    incremental_config cfg;
    cfg.train = quick_config(2);
    cfg.memory_per_class = 3;
    // The reference: rehearsal without it, then by hand what the option documents: a fresh
    // trainer on the memory (3 classes x 3 = 9 exemplars), constant lr * 0.1, no class
    // weights, the seed mixed with 0xBF7 + the experience count (1: the base was consolidated).
    auto plain = make_learner("rehearsal", clone_model(base), images);
    plain->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
    plain->learn_incremental({synthetic_items(per, {2}), 3}, cfg);
    std::vector<train_item> memory;
    for (const auto &[label, mem] : plain->exemplar_sets())
        memory.insert(memory.end(), mem.begin(), mem.end());
    REQUIRE(memory.size() == 9);
    trainer by_hand(plain->model(), images, balanced_pass_config(cfg.train, 3));
    by_hand.fit(memory, {});

    cfg.balanced_finetune_epochs = 3;
    auto bft = make_learner("rehearsal", clone_model(base), images);
    bft->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
    const incremental_result r = bft->learn_incremental({synthetic_items(per, {2}), 3}, cfg);
    // 3 epochs x floor(9 / batch 8) steps; the same weights as the hand-made pass.
    CHECK(r.extra["balanced_finetune_steps"] == 3);
    const auto pa = plain->model()->parameters(), pb = bft->model()->parameters();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) CHECK(torch::allclose(pa[i], pb[i], 1e-5, 1e-6));
    // The means are the fine-tuned model's: the new class over all its images, the old ones
    // over their exemplars.
    auto mean_of = [&](const std::vector<train_item> &items) {
        return nme_mean_of(bft->model(), images, items);
    };
    const auto &means = bft->nme_means();
    REQUIRE(means.size() == 3);
    for (int c = 0; c < 2; ++c) {
        const auto ref = mean_of(bft->exemplar_sets().at(c));
        REQUIRE(means[size_t(c)].size() == ref.size());
        for (size_t i = 0; i < ref.size(); ++i)
            CHECK(means[size_t(c)][i] == Approx(ref[i]).margin(1e-5));
    }
    const auto ref2 = mean_of(synthetic_items(per, {2}));
    for (size_t i = 0; i < ref2.size(); ++i) CHECK(means[2][i] == Approx(ref2[i]).margin(1e-5));
    CHECK(cfg.to_json()["balanced_finetune_epochs"] == 3);
    // Not after the base: consolidating experience 0 trains nothing.
    auto base_only = make_learner("rehearsal", clone_model(base), images);
    base_only->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
    const auto p0 = base->parameters(), p1 = base_only->model()->parameters();
    for (size_t i = 0; i < p0.size(); ++i) CHECK(torch::equal(p0[i], p1[i]));
}

TEST_CASE("Balanced fine-tuning with EEIL's distillation adds KL on the new outputs only",
          "[incremental][bft]") {
    const int per = 10;
    image_cache images = synthetic_cache(per, 4, 16, 6);
    folia_net base = trained_base(images, per, 37);
    incremental_config cfg;
    cfg.train = quick_config(2);
    cfg.memory_per_class = 3;
    cfg.balanced_finetune_epochs = 2;
    cfg.lwf_temperature = 3.0;
    // Two new classes (2, 3): with one, a softmax over its single logit is 1 and the term is 0.
    // The reference by hand: the step without the pass, then a fresh trainer on the memory
    // (4 x 3 = 12 exemplars) whose extra loss is alpha * KL(softmax(frozen[:, 2:4] / T) ||
    // softmax(live[:, 2:4] / T)), batchmean, the frozen copy taken before the pass.
    incremental_config no_pass = cfg;
    no_pass.balanced_finetune_epochs = 0;
    auto plain = make_learner("rehearsal", clone_model(base), images);
    plain->consolidate({synthetic_items(per, {0, 1}), 2}, no_pass);
    plain->learn_incremental({synthetic_items(per, {2, 3}), 4}, no_pass);
    std::vector<train_item> memory;
    for (const auto &[label, mem] : plain->exemplar_sets())
        memory.insert(memory.end(), mem.begin(), mem.end());
    REQUIRE(memory.size() == 12);
    folia_net frozen = clone_model(plain->model());
    frozen->eval();
    trainer by_hand(plain->model(), images, balanced_pass_config(cfg.train, 2));
    double kl_sum = 0;
    int kl_steps = 0;
    by_hand.add_extra_loss([&](const loss_context &ctx) {
        torch::Tensor q;
        {
            torch::NoGradGuard ng;
            q = torch::softmax(frozen->forward(ctx.batch.x).slice(1, 2, 4) / 3.0, 1);
        }
        const torch::Tensor log_p = torch::log_softmax(ctx.logits.slice(1, 2, 4) / 3.0, 1);
        // KL(q || p) = sum q (log q - log p), averaged over the batch's rows.
        const torch::Tensor kl = (q * (q.log() - log_p)).sum(1).mean();
        kl_sum += kl.item<double>();
        ++kl_steps;
        return 0.5 * kl;
    });
    by_hand.fit(memory, {});
    CHECK(kl_steps == 2 * 1);  // 2 epochs x floor(12 / batch 8)
    CHECK(kl_sum > 0);         // the pass moves the new logits, or the test shows nothing

    incremental_config with = cfg;
    with.balanced_finetune_distill = 0.5;
    auto eeil = make_learner("rehearsal", clone_model(base), images);
    eeil->consolidate({synthetic_items(per, {0, 1}), 2}, with);
    eeil->learn_incremental({synthetic_items(per, {2, 3}), 4}, with);
    const auto pa = plain->model()->parameters(), pb = eeil->model()->parameters();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) CHECK(torch::allclose(pa[i], pb[i], 1e-5, 1e-6));
    // And it is not the pass without the term.
    incremental_config without = cfg;
    auto bft = make_learner("rehearsal", clone_model(base), images);
    bft->consolidate({synthetic_items(per, {0, 1}), 2}, without);
    bft->learn_incremental({synthetic_items(per, {2, 3}), 4}, without);
    bool differs = false;
    const auto pc = bft->model()->parameters();
    for (size_t i = 0; i < pa.size(); ++i) differs |= !torch::allclose(pa[i], pc[i], 1e-5, 1e-6);
    CHECK(differs);
    CHECK(with.to_json()["balanced_finetune_distill"] == 0.5);
    CHECK(!cfg.to_json().contains("balanced_finetune_distill"));
}

TEST_CASE("Logit adjustment's class prior and loss match hand-computed values",
          "[incremental][la]") {
    // Labels 0, 0, 1, 2 over 4 outputs: counts 2, 1, 1 and 0 clamped to 1, of 5.
    const torch::Tensor lp =
        class_log_prior({{0, 0, 1.0f, 0}, {1, 0, 1.0f, 0}, {2, 1, 1.0f, 2}, {3, 2, 1.0f, 0}}, 4);
    REQUIRE(lp.size(0) == 4);
    CHECK(lp[0].item<double>() == Approx(std::log(2.0 / 5)).margin(1e-6));
    for (int c = 1; c < 4; ++c)
        CHECK(lp[c].item<double>() == Approx(std::log(1.0 / 5)).margin(1e-6));

    // logits (2, 3), prior (1/2, 1/4, 1/4), tau 1. Row 0, y = 0: the adjusted exponentials are
    // e/2, 1/4, 1/4, so CE = -log(e / (e + 1)) = log(1 + 1/e). Row 1, y = 1: 1/2, e^2/4, 1/4,
    // so CE = log(1 + 3/e^2).
    torch::Tensor logits = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 2.0f, 0.0f}).reshape({2, 3});
    logits.requires_grad_(true);
    const torch::Tensor y = torch::tensor({0, 1}, torch::kLong);
    const torch::Tensor prior = torch::tensor({0.5f, 0.25f, 0.25f}).log();
    const double e = std::exp(1.0), ce0 = std::log(1 + 1 / e), ce1 = std::log(1 + 3 / (e * e));
    torch::Tensor loss = logit_adjusted_loss(logits, y, torch::ones({2}), prior, 1.0);
    CHECK(loss.item<double>() == Approx((ce0 + ce1) / 2).margin(1e-6));
    // d loss / d logits of row 0 = (softmax(adjusted) - onehot) / 2 = (e/(e+1) - 1, 1/(2(e+1)),
    // 1/(2(e+1))) / 2.
    loss.backward();
    const torch::Tensor g = logits.grad();
    CHECK(g[0][0].item<double>() == Approx((e / (e + 1) - 1) / 2).margin(1e-6));
    CHECK(g[0][1].item<double>() == Approx(1 / (2 * (e + 1)) / 2).margin(1e-6));
    // Item weights 1 and 3: (ce0 + 3 ce1) / 4.
    CHECK(logit_adjusted_loss(logits, y, torch::tensor({1.0f, 3.0f}), prior, 1.0).item<double>() ==
          Approx((ce0 + 3 * ce1) / 4).margin(1e-6));
    // tau 0 is plain cross-entropy: log(1 + 2/e) and log(1 + 2/e^2).
    CHECK(logit_adjusted_loss(logits, y, torch::ones({2}), prior, 0.0).item<double>() ==
          Approx((std::log(1 + 2 / e) + std::log(1 + 2 / (e * e))) / 2).margin(1e-6));
}

TEST_CASE("Logit adjustment trains a step on logits + tau * log prior of new data and exemplars",
          "[incremental][la]") {
    const int per = 10;
    image_cache images = synthetic_cache(per, 3, 16, 7);
    folia_net base = trained_base(images, per, 41);
    incremental_config cfg;
    cfg.train = quick_config(2);
    cfg.memory_per_class = 3;
    // The reference by hand: the memory of the consolidated base (3 + 3 exemplars), the step's
    // training set as rehearsal builds it (10 new images of class 2, then the exemplars), the
    // model grown as learn_incremental grows it, and a trainer whose loss is written out:
    // -sum_i w_i log softmax(logits_i + 0.7 log(3/16, 3/16, 10/16))[y_i] / sum_i w_i.
    auto memory_of = make_learner("rehearsal", clone_model(base), images);
    memory_of->consolidate({synthetic_items(per, {0, 1}), 2}, cfg);
    std::vector<train_item> items = synthetic_items(per, {2});
    for (const auto &[label, mem] : memory_of->exemplar_sets())
        items.insert(items.end(), mem.begin(), mem.end());
    REQUIRE(items.size() == 16);
    folia_net model = clone_model(base);
    torch::manual_seed(mix_seeds(cfg.seed, 0x6E0 + 1));
    model->grow_classes(3);
    const torch::Tensor log_prior =
        torch::tensor({std::log(3.0 / 16), std::log(3.0 / 16), std::log(10.0 / 16)})
            .to(torch::kFloat);
    trainer by_hand(model, images, cfg.train);
    by_hand.set_loss([&](const loss_context &ctx) {
        const torch::Tensor logp = torch::log_softmax(ctx.logits + 0.7 * log_prior, 1);
        const torch::Tensor w = ctx.batch.weight;
        return -(w * logp.gather(1, ctx.batch.y.unsqueeze(1)).squeeze(1)).sum() / w.sum();
    });
    by_hand.fit(items, {});

    auto run = [&](double tau, class_weighting weighting) {
        incremental_config c = cfg;
        c.logit_adjust = tau;
        c.train.weighting = weighting;
        auto l = make_learner("rehearsal", clone_model(base), images);
        l->consolidate({synthetic_items(per, {0, 1}), 2}, c);
        const incremental_result r = l->learn_incremental({synthetic_items(per, {2}), 3}, c);
        CHECK(r.train_images == 16);
        if (tau > 0) CHECK(r.extra["logit_adjust"] == tau);
        return l;
    };
    auto same_weights = [](folia_net &a, folia_net &b) {
        const auto pa = a->parameters(), pb = b->parameters();
        REQUIRE(pa.size() == pb.size());
        bool same = true;
        for (size_t i = 0; i < pa.size(); ++i) same &= torch::allclose(pa[i], pb[i], 1e-5, 1e-6);
        return same;
    };
    // The option's weights are the hand-made ones, whatever class weighting is configured.
    CHECK(same_weights(run(0.7, class_weighting::sqrt_inverse)->model(), model));
    CHECK(same_weights(run(0.7, class_weighting::none)->model(), model));
    // And it is neither the default loss nor plain unweighted cross-entropy.
    CHECK(!same_weights(run(0, class_weighting::sqrt_inverse)->model(), model));
    CHECK(!same_weights(run(0, class_weighting::none)->model(), model));
    incremental_config c = cfg;
    c.logit_adjust = 0.7;
    CHECK(c.to_json()["logit_adjust"] == 0.7);
    CHECK(!cfg.to_json().contains("logit_adjust"));
}

TEST_CASE(
    "folia-incremental with a total memory and a shared base folder on a slice of the real data",
    "[incremental][data]") {
    const real_slice slice = real_data_slice();
    const dataset &d = slice.d;
    const data_split &split = slice.split;
    const image_cache &images = slice.images;
    const std::string root =
        env_or("FOLIA_BINARY_DIR", std::filesystem::temp_directory_path().string()) +
        "/test-incremental-total";
    std::filesystem::remove_all(root);
    incremental_options o;
    o.data.size = 32;
    o.out = root + "/total";
    o.base_dir = root + "/base";
    o.strategies = {"rehearsal-herding"};
    o.seeds = {3};
    o.first_classes = 2;
    o.steps = 2;
    o.base_epochs = 2;
    o.step_epochs = 1;
    o.fit.batch = 16;
    o.memory_total = 7;
    o.export_models = false;
    o.progress = false;
    const nlohmann::json r = run_incremental(o, d, split, images);
    REQUIRE(r.at("runs").size() == 1);
    const auto &run = r.at("runs")[0];
    CHECK(r.at("config").at("memory_total") == 7);
    CHECK(run.at("incremental_config").at("memory_total") == 7);
    const auto &steps = run.at("steps");
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].at("memory_size") == 7);  // 3 classes: 3, 2, 2
    CHECK(steps[1].at("memory_size") == 7);  // 4 classes: 2, 2, 2, 1
    CHECK(steps[0].at("train_images").get<int>() > 7);
    // NME next to the softmax accuracies: a lower-triangular matrix and its metrics.
    const auto nme = run.at("nme_matrix").get<std::vector<std::vector<double>>>();
    REQUIRE(nme.size() == 3);
    accuracy_matrix m;
    m.test_count = run.at("test_count").get<std::vector<int>>();
    for (size_t t = 0; t < 3; ++t) {
        CHECK(nme[t].size() == t + 1);
        for (double v : nme[t]) CHECK((v >= 0 && v <= 1));
        m.add_step(nme[t]);
    }
    CHECK(run.at("nme_metrics").at("final_acc").get<double>() ==
          Approx(compute_cl_metrics(m).final_acc));
    CHECK(steps[1].at("nme_test_acc").get<std::vector<double>>() == nme[2]);
    CHECK(run.at("metrics").at("acc").size() == 3);  // the softmax figures are still there

    // A second folder (per-class memory) shares the base: not retrained, same base accuracy.
    const std::string base_file = o.base_dir + "/base-seed3.pt";
    REQUIRE(std::filesystem::exists(base_file));
    const auto stamp = std::filesystem::last_write_time(base_file);
    incremental_options o2 = o;
    o2.out = root + "/per-class";
    o2.memory_total = 0;
    o2.memory_per_class = 2;
    const nlohmann::json r2 = run_incremental(o2, d, split, images);
    CHECK(std::filesystem::last_write_time(base_file) == stamp);
    CHECK(r2.at("runs")[0].at("matrix")[0] == run.at("matrix")[0]);
    CHECK(!r2.at("config").contains("memory_total"));
    CHECK(r2.at("runs")[0].at("steps")[1].at("memory_size") == 4 * 2);
    // A base trained with other settings is refused, not reused.
    incremental_options o3 = o;
    o3.out = root + "/other";
    o3.base_epochs = 3;
    CHECK_THROWS_WITH(run_incremental(o3, d, split, images),
                      Catch::Contains("other base settings"));
}
