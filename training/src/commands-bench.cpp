// bench.cpp: training throughput, ours vs PyTorch, measured side by side in one run.
// Both sides: the same network, batch, input size, thread count, Adam, cross-entropy, a
// synthetic batch (no data loading), warm-up steps excluded. PyTorch runs
// tools/bench-pytorch-train.py (channels_last, its best CPU setting) as a child process after
// ours, with the same malloc settings we use (env MALLOC_MMAP_MAX_/MALLOC_TRIM_THRESHOLD_), so
// neither side pays glibc's mmap churn. We also time our full trainer step (batch assembly
// from u8 images + shared augmentation + normalisation, prefetched) for reference, and profile
// it (data wait, forward, loss, backward, optimiser).
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "dataset.h"
#include "split.h"
#include "trainer.h"
#include "file-io.h"

namespace folia::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double bench_ours_step(const bench_options &o) {
    folia_net model = make_model(o.classes, 0);
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-4).weight_decay(1e-4));
    const torch::Tensor x =
        torch::randn({o.batch, 3, o.size, o.size}).contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor y = torch::randint(0, o.classes, {o.batch}, torch::kLong);
    auto step = [&] {
        opt.zero_grad();
        torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
        loss.backward();
        opt.step();
        return loss.item<float>();
    };
    for (int i = 0; i < o.warmup; ++i) step();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.steps; ++i) step();
    return double(o.batch) * o.steps / seconds_since(t0);
}

// Synthetic u8 images stand in for the cache (same sizes, no dataset needed), one item each.
void synthetic_data(const bench_options &o, image_cache *images, std::vector<train_item> *items) {
    images->size = o.size;
    const int n = o.batch * (o.steps + o.warmup);
    images->data.resize(size_t(n) * o.size * o.size * 3);
    splitmix64 rng(7);
    for (auto &b : images->data) b = uint8_t(rng.next() >> 56);
    for (int i = 0; i < n; ++i) items->push_back({i, i % o.classes, 1.0f, 0});
}

double bench_ours_trainer(const bench_options &o) {
    image_cache images;
    std::vector<train_item> items;
    synthetic_data(o, &images, &items);
    train_config cfg;
    cfg.batch = o.batch;
    cfg.epochs = 1;
    cfg.progress = false;
    cfg.max_steps_per_epoch = o.warmup;
    trainer t(make_model(o.classes, 0), images, cfg);
    t.train_epoch(items, 0);  // warm-up
    t.train_epoch(items, 0);
    const auto rec = [&] {
        train_config c2 = cfg;
        c2.max_steps_per_epoch = o.steps;
        trainer t2(t.model(), images, c2);
        return t2.train_epoch(items, 1);
    }();
    return rec.images_per_s;
}

// Where a full trainer step's time goes (ms per step, mean over the timed steps): waiting for
// the prefetch worker's batch, forward, loss, backward (zero_grad included), optimiser step;
// and, timed apart on this thread, what building one batch costs (the worker overlaps it).
nlohmann::json bench_profile(const bench_options &o) {
    image_cache images;
    std::vector<train_item> items;
    synthetic_data(o, &images, &items);
    train_config cfg;
    cfg.batch = o.batch;
    cfg.progress = false;
    trainer t(make_model(o.classes, 0), images, cfg);
    folia_net &model = t.model();
    model->train();
    const std::vector<train_item> order = t.epoch_order(items, 0);
    const int64_t steps = o.steps + o.warmup;
    double wait = 0, fwd = 0, loss_t = 0, bwd = 0, opt = 0;
    auto lap = [](std::chrono::steady_clock::time_point &t0) {
        const auto now = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(now - t0).count();
        t0 = now;
        return s;
    };
    const auto start = std::chrono::steady_clock::now();
    auto timed_start = start;
    {
        const auto batches = t.epoch_batches(order, 0, steps);
        for (int64_t k = 0; k < steps; ++k) {
            const bool timed = k >= o.warmup;
            if (k == o.warmup) timed_start = std::chrono::steady_clock::now();
            auto t0 = std::chrono::steady_clock::now();
            const train_batch b = batches->next();
            const double w = lap(t0);
            const torch::Tensor logits = model->forward(b.x);
            const double f = lap(t0);
            torch::Tensor loss = torch::nn::functional::cross_entropy(logits, b.y);
            const double l = lap(t0);
            t.optimizer().zero_grad();
            loss.backward();
            const double bk = lap(t0);
            t.optimizer().step();
            loss.item<float>();
            const double op = lap(t0);
            if (timed) wait += w, fwd += f, loss_t += l, bwd += bk, opt += op;
        }
    }
    const double total = seconds_since(timed_start);
    const auto b0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) t.make_batch(order, 0, size_t(o.batch), i);
    const double make = seconds_since(b0) / 3;
    const double ms = 1000.0 / o.steps;
    return {{"images_per_s", double(o.batch) * o.steps / total},
            {"ms_per_step", total * ms},
            {"data_wait_ms", wait * ms},
            {"forward_ms", fwd * ms},
            {"loss_ms", loss_t * ms},
            {"backward_ms", bwd * ms},
            {"optimizer_ms", opt * ms},
            {"make_batch_ms", make * 1000}};
}

}  // namespace

int cmd_bench(const bench_options &o) {
    fmt::print(
        "training throughput, batch {}, {}x{}, {} threads, {} timed steps after {} warm-up\n",
        o.batch, o.size, o.size, o.threads, o.steps, o.warmup);
    const double ours = bench_ours_step(o);
    fmt::print("  ours (LibTorch C++, channels-last)       {:8.1f} images/s\n", ours);
    const double ours_full = bench_ours_trainer(o);
    fmt::print("  ours, full trainer step (+augmentation)  {:8.1f} images/s\n", ours_full);
    const nlohmann::json prof = bench_profile(o);
    fmt::print(
        "  profiled trainer step                    {:8.1f} images/s: {:.1f} ms = data wait "
        "{:.1f} + forward {:.1f} + loss {:.1f} + backward {:.1f} + Adam {:.1f} (a batch takes "
        "{:.1f} ms to build, on the prefetch worker)\n",
        prof["images_per_s"].get<double>(), prof["ms_per_step"].get<double>(),
        prof["data_wait_ms"].get<double>(), prof["forward_ms"].get<double>(),
        prof["loss_ms"].get<double>(), prof["backward_ms"].get<double>(),
        prof["optimizer_ms"].get<double>(), prof["make_batch_ms"].get<double>());
    nlohmann::json out = {{"batch", o.batch},
                          {"size", o.size},
                          {"threads", o.threads},
                          {"steps", o.steps},
                          {"ours_images_per_s", ours},
                          {"ours_trainer_images_per_s", ours_full},
                          {"profile", prof}};
    if (!o.skip_pytorch) {
        const std::string cmd = fmt::format(
            "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 '{}' '{}' --batch {} --size {} "
            "--steps {} --warmup {} --threads {} --classes {}",
            o.python, o.script, o.batch, o.size, o.steps, o.warmup, o.threads, o.classes);
        std::FILE *p = ::popen(cmd.c_str(), "r");
        if (!p) throw std::runtime_error("cannot run " + cmd);
        std::string text;
        char buf[4096];
        while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
        if (::pclose(p) != 0) throw std::runtime_error("the PyTorch benchmark failed: " + cmd);
        const nlohmann::json py = nlohmann::json::parse(text.substr(text.rfind('{')));
        const double theirs = py.at("images_per_s");
        fmt::print("  PyTorch {} (python, channels_last)  {:8.1f} images/s\n",
                   py.at("framework").get<std::string>().substr(8), theirs);
        fmt::print("  ratio ours / PyTorch                     {:8.2f}x\n", ours / theirs);
        out["pytorch"] = py;
        out["pytorch_images_per_s"] = theirs;
        out["ratio"] = ours / theirs;
    }
    if (!o.json.empty()) write_file_atomic(o.json, out.dump(1) + "\n");
    return 0;
}

}  // namespace folia::train
