// commands-train.cpp: train and export subcommands (LibTorch).
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint.h"
#include "export.h"
#include "trainer.h"
#include "workspace.h"

namespace folia::train {

void setup_runtime(int threads) {
    // LibTorch picks 1 thread on this VM (cpuinfo sees one core): always set it explicitly.
    torch::set_num_threads(std::max(1, threads));
}

nlohmann::json read_json_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

int cmd_train(const train_options &o) {
    workspace w = load_workspace(o.data, true);
    std::vector<int> train_idx, val_idx;
    for (size_t i = 0; i < w.split.parts.size(); ++i) {
        const std::string p = part_name(w.split.parts[i]);
        if (std::find(o.parts.begin(), o.parts.end(), p) != o.parts.end()) train_idx.push_back(int(i));
        if (w.split.parts[i] == part::val) val_idx.push_back(int(i));
    }
    if (train_idx.empty()) throw std::runtime_error("no training images in parts " + fmt::format("{}", fmt::join(o.parts, ",")));

    train_config cfg;
    cfg.epochs = o.epochs;
    cfg.batch = o.batch;
    cfg.lr = o.lr;
    cfg.weight_decay = o.weight_decay;
    cfg.schedule = o.schedule;
    cfg.warmup_epochs = o.warmup;
    cfg.min_lr_frac = o.min_lr_frac;
    cfg.patience = o.patience;
    cfg.seed = o.seed;
    cfg.augment = !o.no_augment;
    cfg.weighting = parse_class_weighting(o.weighting);
    cfg.max_steps_per_epoch = o.max_steps;
    cfg.out_dir = o.out;
    cfg.resume = o.resume;

    // run.json: what export/eval/calibrate need to rebuild the context of this run.
    const nlohmann::json run = {{"classes", w.data.classes},
                                {"data", w.data.root},
                                {"split", o.data.split},
                                {"size", o.data.size},
                                {"max_classes", o.data.max_classes},
                                {"per_class", o.data.per_class},
                                {"parts", o.parts},
                                {"init", o.init},
                                {"train_images", train_idx.size()},
                                {"val_images", val_idx.size()},
                                {"config", cfg.to_json()}};
    std::filesystem::create_directories(o.out);
    write_file_atomic(o.out + "/run.json", run.dump(1) + "\n");

    folia_net model = make_model(int(w.data.classes.size()), o.seed);
    if (!o.init.empty()) {
        // Progressive resizing: the network is size-agnostic (global pooling), so weights
        // trained at a lower resolution are a cheap starting point for the full one.
        if (!load_checkpoint(o.init, model, nullptr, nullptr))
            throw std::runtime_error("--init checkpoint '" + o.init + "' does not exist");
        fmt::print(stderr, "initialised from {}\n", o.init);
    }
    trainer t(model, w.images, cfg);
    fmt::print(stderr, "training on {} images ({}), validating on {}, {} epochs, batch {}, lr {}\n",
               train_idx.size(), fmt::join(o.parts, "+"), val_idx.size(), o.epochs, o.batch, o.lr);
    const auto hist = t.fit(items_for(w.data, train_idx), items_for(w.data, val_idx));
    double best = 0;
    for (const auto &h : hist) best = std::max(best, h.val_acc);
    fmt::print("trained {} epochs; best val acc {:.2f}%; checkpoints in {}\n", hist.size(),
               100 * best, o.out);
    return 0;
}

int cmd_export(const export_options &o) {
    const nlohmann::json run = read_json_file(o.run + "/run.json");
    const std::string ckpt = o.checkpoint.empty() ? o.run + "/best.pt" : o.checkpoint;
    const nlohmann::json meta = read_checkpoint_meta(ckpt);
    folia_net model(arch_from_json(meta.at("arch")));
    load_checkpoint(ckpt, model, nullptr, nullptr);
    model_file info;
    info.labels = run.at("classes").get<std::vector<std::string>>();
    info.preprocess.input_size = run.at("size");
    const std::string cal_path = o.run + "/calibration.json";
    if (std::filesystem::exists(cal_path)) {
        const nlohmann::json cal = read_json_file(cal_path);
        info.calibration.temperature = cal.at("temperature");
        info.calibration.abstain_threshold = cal.at("abstain_threshold");
    }
    nlohmann::json m = {{"trainer", fmt::format("folia-train (LibTorch {}.{}.{})", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)},
                        {"checkpoint_epoch", meta.value("epoch", -1)},
                        {"val_acc", meta.value("val_acc", 0.0)},
                        {"split", run.at("split")},
                        {"train_parts", run.at("parts")},
                        {"config", run.at("config")}};
    info.meta_json = m.dump();
    export_model_file(model, info, o.out);
    fmt::print("wrote {} ({} classes, T = {:.4f}, abstain below p = {:.4f})\n", o.out,
               info.labels.size(), info.calibration.temperature, info.calibration.abstain_threshold);
    if (!o.golden.empty()) {
        const golden_data g = make_golden(model, 1, info.preprocess.input_size);
        write_golden(g, o.golden);
        fmt::print("wrote {} (synthetic input (1,{},{},3), LibTorch logits)\n", o.golden, g.size, g.size);
    }
    return 0;
}

}  // namespace folia::train
