// commands-train.cpp: train and export subcommands (LibTorch).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "checkpoint.h"
#include "dist.h"
#include "export.h"
#include "trainer.h"
#include "workspace.h"
#include "file-io.h"
#include "incremental-exemplars.h"
#include "folia/augment.h"

namespace folia::train {

namespace {

// folia-train's train_config: the shared knobs plus seed, augmentation, label smoothing and the
// run folder.
train_config train_config_of(const train_options &o) {
    train_config cfg = config_from_options(o.fit);
    cfg.seed = o.seed;
    // --augment: one recipe for every folder, or one per --data folder ("lab,field").
    std::vector<std::string> recipes;
    std::stringstream ss(o.no_augment ? std::string("none") : o.augment);
    for (std::string r; std::getline(ss, r, ',');) recipes.push_back(r);
    auto params_of = [](const std::string &r) {
        if (r != "lab" && r != "field" && r != "none")
            throw std::runtime_error("--augment takes lab, field or none (per data folder), not '" +
                                     r + "'");
        augment_params p = r == "field" ? field_augment_params() : augment_params{};
        if (r == "none") p = augment_params{0, 0, 0, 0, 0, 0, 0, 0};
        return p;
    };
    cfg.augment = std::any_of(recipes.begin(), recipes.end(),
                              [](const std::string &r) { return r != "none"; });
    cfg.aug = params_of(recipes.empty() ? "lab" : recipes[0]);
    if (recipes.size() > 1)
        for (const auto &r : recipes) cfg.aug_by_source.push_back(params_of(r));
    cfg.label_smoothing = o.label_smoothing;
    cfg.out_dir = o.out;
    cfg.resume = o.resume;
    return cfg;
}

// Starts from a model file's weights (e.g. the shipped 35-class model for a 37-class run):
// every tensor is copied, and fc2's rows are copied by label name; rows of labels the file
// does not know keep their fresh initialisation.
void init_from_model_file(folia_net &model, const std::string &path,
                          const std::vector<std::string> &labels) {
    const std::vector<uint8_t> bytes = read_file_bytes(path);
    model_file m;
    std::string err;
    if (parse_model_file(bytes.data(), bytes.size(), &m, &err) != FOLIA_OK)
        throw std::runtime_error("--init-model '" + path + "': " + err);
    folia_net src = model_from_file(m);
    torch::NoGradGuard ng;
    auto dst_params = model->named_parameters(true);
    auto dst_buffers = model->named_buffers(true);
    for (const auto &p : src->named_parameters(true)) {
        if (p.key().rfind("fc2.", 0) == 0) continue;
        dst_params[p.key()].copy_(p.value());
    }
    for (const auto &b : src->named_buffers(true)) dst_buffers[b.key()].copy_(b.value());
    int copied = 0;
    for (size_t r = 0; r < labels.size(); ++r) {
        const auto it = std::find(m.labels.begin(), m.labels.end(), labels[r]);
        if (it == m.labels.end()) continue;
        const int64_t from = it - m.labels.begin();
        model->fc2->weight[int64_t(r)].copy_(src->fc2->weight[from]);
        model->fc2->bias[int64_t(r)].copy_(src->fc2->bias[from]);
        ++copied;
    }
    fmt::print(stderr, "initialised from {} ({} of {} classes known to it)\n", path, copied,
               labels.size());
}

// Training items of the given parts, each root's images repeated --oversample times.
std::vector<train_item> training_items(const workspace &w, const train_options &o,
                                       std::vector<int> *train_idx) {
    std::vector<train_item> items;
    for (size_t i = 0; i < w.split.parts.size(); ++i) {
        const std::string p = part_name(w.split.parts[i]);
        if (std::find(o.parts.begin(), o.parts.end(), p) == o.parts.end()) continue;
        train_idx->push_back(int(i));
        const size_t d = size_t(w.domain[i]);
        const int times = d < o.oversample.size() ? std::max(1, o.oversample[d]) : 1;
        for (int k = 0; k < times; ++k)
            items.push_back(
                {int32_t(i), w.data.samples[i].label, 1.0f, int32_t(d)});  // source: folder
    }
    return items;
}

// Trunk features (after global pooling) of every training image of the run, eval mode, then
// per class the `per_class` herding exemplars (iCaRL): tensors exemplars.features (M, C_last)
// and exemplars.labels (M) for the model file. The trunk is frozen when teaching, so these
// stay the exact features of those images.
void add_exemplars(folia_net &model, const nlohmann::json &run, const export_options &o,
                   model_file *info) {
    const data_options d = run_data_options(run, o.data);
    const workspace w = load_workspace(d, true);
    if (w.data.classes != info->labels)
        throw std::runtime_error("export: the data folders' classes differ from the run's");
    const std::vector<int> idx = w.split.indices({part::labeled, part::stream});
    const int64_t c = model->arch.channels.back();
    model->eval();
    torch::NoGradGuard ng;
    std::vector<float> feat(idx.size() * size_t(c));
    const size_t per = size_t(d.size) * d.size * 3;
    for (size_t b = 0; b < idx.size(); b += 64) {
        const size_t n = std::min<size_t>(64, idx.size() - b);
        std::vector<uint8_t> u8(n * per);
        for (size_t i = 0; i < n; ++i)
            std::memcpy(u8.data() + i * per, w.images.image(size_t(idx[b + i])), per);
        const torch::Tensor f =
            model->features(normalize_u8_batch(u8.data(), int64_t(n), d.size)).contiguous();
        std::memcpy(feat.data() + b * size_t(c), f.data_ptr<float>(),
                    n * size_t(c) * sizeof(float));
    }
    tensor_f32 ef, el;
    for (int k = 0; k < int(info->labels.size()); ++k) {
        std::vector<float> fk;
        for (size_t i = 0; i < idx.size(); ++i)
            if (w.data.samples[size_t(idx[i])].label == k)
                fk.insert(fk.end(), feat.begin() + long(i) * c, feat.begin() + long(i + 1) * c);
        const int n = int(fk.size() / size_t(c));
        for (int r : select_exemplars(fk, n, int(c), o.exemplars, exemplar_selection::herding)) {
            ef.data.insert(ef.data.end(), fk.begin() + long(r) * c, fk.begin() + long(r + 1) * c);
            el.data.push_back(float(k));
        }
    }
    ef.shape = {int64_t(el.data.size()), c};
    el.shape = {int64_t(el.data.size())};
    info->tensors[k_exemplar_features] = std::move(ef);
    info->tensors[k_exemplar_labels] = std::move(el);
    fmt::print(stderr,
               "exemplars: {} trunk features ({} per class, herding) from {} training images\n",
               info->tensors[k_exemplar_labels].data.size(), o.exemplars, idx.size());
}

}  // namespace

int cmd_train(const train_options &o) {
    const dist_options dist = resolve_dist_options(o.dist);
    workspace w = load_workspace(o.data, true);
    std::vector<int> train_idx;
    const std::vector<train_item> train = training_items(w, o, &train_idx);
    const std::vector<int> val_idx = w.split.indices({part::val});
    if (train_idx.empty())
        throw std::runtime_error("no training images in parts " +
                                 fmt::format("{}", fmt::join(o.parts, ",")));
    train_config cfg = train_config_of(o);
    // Ranks meet after loading their data (which may build the image cache: minutes).
    std::shared_ptr<dist_group> group;
    if (dist.world_size > 1) {
        group = dist_group::connect(dist);
        cfg.progress = dist.rank == 0;
        fmt::print(stderr, "rank {} of {} joined at {} (batch {} per rank, {} global)\n", dist.rank,
                   dist.world_size, dist.master, cfg.batch, cfg.batch * dist.world_size);
    }
    const bool writer = !group || group->rank() == 0;

    // run.json: what export/eval/calibrate need to rebuild the context of this run.
    const nlohmann::json run = {{"classes", w.data.classes},
                                {"data", w.roots},
                                {"split", w.splits},
                                {"domains", w.domain_names},
                                {"size", o.data.size},
                                {"max_classes", o.data.max_classes},
                                {"per_class", o.data.per_class},
                                {"parts", o.parts},
                                {"init", o.init},
                                {"init_model", o.init_model},
                                {"oversample", o.oversample},
                                {"augment", o.no_augment ? "none" : o.augment},
                                {"train_images", train_idx.size()},
                                {"train_items", train.size()},
                                {"val_images", val_idx.size()},
                                {"world_size", dist.world_size},
                                {"sync_bn", dist.sync_bn},
                                {"config", cfg.to_json()}};
    if (writer) {
        std::filesystem::create_directories(o.out);
        write_file_atomic(o.out + "/run.json", run.dump(1) + "\n");
    }

    folia_net model = make_model(int(w.data.classes.size()), o.seed);
    if (!o.init.empty()) {
        // Progressive resizing: the network is size-agnostic (global pooling), so weights
        // trained at a lower resolution are a cheap starting point for the full one.
        if (!load_checkpoint(o.init, model, nullptr, nullptr))
            throw std::runtime_error("--init checkpoint '" + o.init + "' does not exist");
        fmt::print(stderr, "initialised from {}\n", o.init);
    }
    if (!o.init_model.empty()) init_from_model_file(model, o.init_model, w.data.classes);
    trainer t(model, w.images, cfg);
    if (writer)
        fmt::print(
            stderr,
            "training on {} images ({} items, {}), validating on {}, {} epochs, batch {}, lr {}\n",
            train_idx.size(), train.size(), fmt::join(o.parts, "+"), val_idx.size(), o.fit.epochs,
            o.fit.batch * dist.world_size, o.fit.lr);
    std::vector<epoch_record> hist;
    if (!group) {
        hist = t.fit(train, items_for(w.data, val_idx));
    } else {
        try {
            t.set_distributed(group, dist.sync_bn);
            hist = t.fit(train, items_for(w.data, val_idx));
        } catch (const std::exception &e) {
            // c10::Error's what() carries a C++ backtrace; the message alone names the peer.
            const auto *c10e = dynamic_cast<const c10::Error *>(&e);
            const std::string what = c10e ? c10e->what_without_backtrace() : e.what();
            // A lost rank: name it and leave at once. Unwinding would destroy the process
            // group, whose destructor can wait on collectives that will never complete.
            fmt::print(stderr, "folia-train: {}\n", group->lost_ranks_message(what));
            std::fflush(stdout);
            std::fflush(stderr);
            std::_Exit(1);
        }
    }
    double best = 0;
    for (const auto &h : hist) best = std::max(best, h.val_acc);
    if (writer)
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
    nlohmann::json m = {
        {"trainer", fmt::format("folia-train (LibTorch {}.{}.{})", TORCH_VERSION_MAJOR,
                                TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)},
        {"checkpoint_epoch", meta.value("epoch", -1)},
        {"val_acc", meta.value("val_acc", 0.0)},
        {"split", run.at("split")},
        {"train_parts", run.at("parts")},
        {"config", run.at("config")}};
    if (o.exemplars > 0) {
        add_exemplars(model, run, o, &info);
        m["exemplars"] = {{"per_class", o.exemplars},
                          {"selection", "herding"},
                          {"from", "training parts (labeled + stream), unaugmented"}};
    }
    info.meta_json = m.dump();
    export_model_file(model, info, o.out);
    fmt::print("wrote {} ({} classes, T = {:.4f}, abstain below p = {:.4f})\n", o.out,
               info.labels.size(), info.calibration.temperature,
               info.calibration.abstain_threshold);
    if (!o.golden.empty()) {
        const golden_data g = make_golden(model, 1, info.preprocess.input_size);
        write_golden(g, o.golden);
        fmt::print("wrote {} (synthetic input (1,{},{},3), LibTorch logits)\n", o.golden, g.size,
                   g.size);
    }
    return 0;
}

}  // namespace folia::train
