// ssl-sim.cpp: the stream simulation and the supervised baselines (LibTorch).
#include "ssl-sim.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "checkpoint.h"
#include "export.h"
#include "metrics.h"
#include "progress.h"
#include "ssl-loss.h"
#include "trainer.h"
#include "workspace.h"

namespace folia::train::ssl {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

nlohmann::json sup_config::to_json() const {
    return {{"epochs", epochs},
            {"batch", batch},
            {"patience", patience},
            {"lr", lr},
            {"weight_decay", weight_decay},
            {"warmup", warmup},
            {"min_lr_frac", min_lr_frac},
            {"schedule", schedule},
            {"class_weights", weighting},
            {"max_steps", max_steps}};
}

void setup_threads(int threads) {
    torch::set_num_threads(std::max(1, threads));
}

namespace {

// Epoch numbers handed to trainer::train_epoch during the stream phase (they seed the
// augmentation, the shuffle and dropout): offset so they never repeat pre-training's.
constexpr int k_stream_epoch_offset = 100000;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

train_config make_train_config(const sup_config &c, uint64_t seed, const std::string &out_dir,
                               bool resume, bool progress) {
    train_config t;
    t.epochs = c.epochs;
    t.batch = c.batch;
    t.lr = c.lr;
    t.weight_decay = c.weight_decay;
    t.schedule = c.schedule;
    t.warmup_epochs = c.warmup;
    t.min_lr_frac = c.min_lr_frac;
    t.patience = c.patience;
    t.seed = seed;
    t.weighting = parse_class_weighting(c.weighting);
    t.max_steps_per_epoch = c.max_steps;
    t.out_dir = out_dir;
    t.resume = resume;
    t.progress = progress;
    return t;
}

std::vector<int> part_indices(const workspace &w, part p) {
    return w.split.indices({p});
}

std::vector<int> labels_of(const workspace &w, const std::vector<int> &idx) {
    std::vector<int> y;
    y.reserve(idx.size());
    for (int i : idx) y.push_back(w.data.samples[size_t(i)].label);
    return y;
}

torch::Tensor logits_of(folia_net &model, const image_cache &images, const std::vector<int> &idx) {
    const size_t per = size_t(images.size) * images.size * 3;
    std::vector<uint8_t> u8(idx.size() * per);
    for (size_t i = 0; i < idx.size(); ++i)
        std::memcpy(u8.data() + i * per, images.image(size_t(idx[i])), per);
    return predict_logits(model, u8.data(), int64_t(idx.size()), images.size);
}

double accuracy_of(folia_net &model, const workspace &w, const std::vector<int> &idx) {
    if (idx.empty()) return 0.0;
    const torch::Tensor pred = logits_of(model, w.images, idx).argmax(1);
    const auto y = labels_of(w, idx);
    int64_t ok = 0;
    auto p = pred.accessor<int64_t, 1>();
    for (size_t i = 0; i < idx.size(); ++i) ok += p[int64_t(i)] == y[i];
    return double(ok) / double(idx.size());
}

nlohmann::json data_json(const workspace &w, const data_options &d) {
    std::map<std::string, int> counts;
    for (part p : w.split.parts) counts[part_name(p)]++;
    return {{"root", w.data.root},
            {"split", w.splits.empty() ? std::string() : w.splits[0]},
            {"size", w.images.size},
            {"classes", w.data.classes.size()},
            {"images", w.data.samples.size()},
            {"max_classes", d.max_classes},
            {"per_class", d.per_class},
            {"parts", counts}};
}

nlohmann::json read_json(const std::string &path) { return read_json_file(path); }

void export_to(folia_net &model, const workspace &w, const nlohmann::json &meta,
               const std::string &path) {
    model_file info;
    info.labels = w.data.classes;
    info.preprocess.input_size = w.images.size;
    info.meta_json = meta.dump();
    export_model_file(model, info, path);
    fmt::print(stderr, "exported {} ({} classes, input {}x{})\n", path, info.labels.size(),
               w.images.size, w.images.size);
}

struct loaded_workspace {
    workspace own;
    const workspace *w = nullptr;
};

void load(loaded_workspace &lw, const data_options &d, const workspace *given) {
    if (given) {
        lw.w = given;
    } else {
        lw.own = load_workspace(d, true);
        lw.w = &lw.own;
    }
    if (lw.w->images.count() != lw.w->data.samples.size())
        throw std::runtime_error("ssl: the image cache does not match the dataset");
}

}  // namespace

nlohmann::json run_supervised(const supervised_options &o, const workspace *given) {
    if (!(o.label_frac > 0 && o.label_frac <= 1))
        throw std::invalid_argument("--label-frac must be in (0, 1]");
    const auto t0 = clock_type::now();
    loaded_workspace lw;
    load(lw, o.data, given);
    const workspace &w = *lw.w;
    const std::vector<int> labeled = part_indices(w, part::labeled);
    const std::vector<int> stream = stream_order(part_indices(w, part::stream), o.seed);
    const std::vector<int> val = part_indices(w, part::val), test = part_indices(w, part::test);
    const int pool = int(labeled.size() + stream.size());
    const int target = int(std::lround(o.label_frac * pool));
    const int extra = std::clamp(target - int(labeled.size()), 0, int(stream.size()));
    std::vector<int> train = labeled;
    train.insert(train.end(), stream.begin(), stream.begin() + extra);
    if (train.empty()) throw std::runtime_error("supervised: no training images");
    fmt::print(stderr,
               "supervised baseline: {} labeled + {} stream images with true labels = {} "
               "({:.1f} % of the pool of {}), val {}, test {}\n",
               labeled.size(), extra, train.size(), 100.0 * double(train.size()) / pool, pool,
               val.size(), test.size());

    fs::create_directories(o.out);
    const train_config cfg = make_train_config(o.cfg, o.seed, o.out, o.resume, o.progress);
    folia_net model = make_model(int(w.data.classes.size()), o.seed);
    trainer t(model, w.images, cfg);
    const auto hist = t.fit(items_for(w.data, train), items_for(w.data, val));
    // fit() leaves the best weights (by validation accuracy) in the model.
    const double val_acc = accuracy_of(model, w, val), test_acc = accuracy_of(model, w, test);
    nlohmann::json h = nlohmann::json::array();
    for (const auto &r : hist) h.push_back(r.to_json());
    nlohmann::json res = {{"kind", "supervised"},
                          {"complete", true},
                          {"command", o.command},
                          {"seed", o.seed},
                          {"label_frac", o.label_frac},
                          {"train_images", train.size()},
                          {"labeled_images", labeled.size()},
                          {"stream_images_labeled", extra},
                          {"pool", pool},
                          {"actual_frac", double(train.size()) / pool},
                          {"config", o.cfg.to_json()},
                          {"data", data_json(w, o.data)},
                          {"val_acc", val_acc},
                          {"test_acc", test_acc},
                          {"epochs_run", hist.size()},
                          {"history", h},
                          {"seconds", seconds_since(t0)}};
    write_file_atomic(o.out + "/results.json", res.dump(1) + "\n");
    if (!o.export_model.empty())
        export_to(model, w,
                  {{"trainer", "folia-ssl supervised"},
                   {"label_frac", o.label_frac},
                   {"val_acc", val_acc},
                   {"seed", o.seed}},
                  o.export_model);
    fmt::print(stderr, "supervised {:.0f} %: val acc {:.2f} %, test acc {:.2f} % ({} epochs, {})\n",
               100 * o.label_frac, 100 * val_acc, 100 * test_acc, hist.size(),
               format_duration(seconds_since(t0)));
    return res;
}

nlohmann::json run_ssl(const sim_options &o, const workspace *given) {
    o.ssl.validate();
    const auto t0 = clock_type::now();
    const std::string state_path = o.out + "/state.pt", results_path = o.out + "/results.json";
    if (!o.resume && !o.overwrite && fs::exists(state_path))
        throw std::runtime_error("'" + state_path +
                                 "' exists: pass --resume to continue it or "
                                 "--overwrite to start again");
    loaded_workspace lw;
    load(lw, o.data, given);
    const workspace &w = *lw.w;
    const int k = int(w.data.classes.size());
    const std::vector<int> labeled = part_indices(w, part::labeled);
    const std::vector<int> val = part_indices(w, part::val), test = part_indices(w, part::test);
    std::vector<int> stream_idx = part_indices(w, part::stream);
    if (labeled.empty() || stream_idx.empty())
        throw std::runtime_error("ssl: the split has no labeled or no stream images");
    const int pool = int(labeled.size() + stream_idx.size());

    fs::create_directories(o.out);
    folia_net model = make_model(k, o.seed);
    train_config rcfg = make_train_config(o.pre, o.seed, "", false, false);
    rcfg.schedule = "constant";
    rcfg.lr = o.retrain_lr;
    rcfg.epochs = o.ssl.retrain_epochs;
    rcfg.patience = 0;
    trainer t(model, w.images, rcfg);
    const std::vector<train_item> labeled_items = items_for(w.data, labeled);
    torch::Tensor class_w;  // L_labeled's class weights; undefined = plain cross-entropy
    if (o.pre.weighting != "none") class_w = t.class_weights_for(labeled_items);

    ssl_state st;
    nlohmann::json pre_info;
    double elapsed_before = 0;
    nlohmann::json meta;
    if (o.resume && load_checkpoint(state_path, model, &t.optimizer(), &meta)) {
        const ssl_params saved = ssl_params::from_json(meta.at("ssl"));
        if (saved.to_json() != o.ssl.to_json())
            throw std::runtime_error("--resume: the checkpoint was made with other SSL settings " +
                                     saved.to_json().dump() + "; pass the same flags");
        if (meta.at("seed").get<uint64_t>() != o.seed)
            throw std::runtime_error("--resume: the checkpoint was made with another --seed");
        st = ssl_state::from_json(meta.at("state"));
        if (int(st.per_class.size()) != k)
            throw std::runtime_error("--resume: the checkpoint has another class count");
        pre_info = meta.at("pretrain");
        elapsed_before = meta.at("elapsed");
        fmt::print(stderr, "resumed {} at day {} (round {}, {} pseudo-labels accepted)\n",
                   state_path, st.day, st.round, st.accepted.size());
    } else {
        st = make_state(stream_idx, k, o.seed);
        if (o.max_days > 0)
            st.stream.resize(
                std::min(st.stream.size(), size_t(o.max_days) * size_t(o.ssl.images_per_day)));
        const auto tp = clock_type::now();
        if (!o.pretrained.empty()) {
            const fs::path res = fs::path(o.pretrained).parent_path() / "results.json";
            if (fs::exists(res)) {
                const nlohmann::json r = read_json(res.string());
                const int size = r.at("data").at("size");
                if (size != w.images.size)
                    throw std::runtime_error(
                        fmt::format("--pretrained was trained at {} px, this "
                                    "run uses {} px",
                                    size, w.images.size));
            }
            if (!load_checkpoint(o.pretrained, model, nullptr, nullptr))
                throw std::runtime_error("--pretrained '" + o.pretrained + "' does not exist");
            pre_info["source"] = o.pretrained;
        } else {
            fmt::print(stderr, "pre-training on {} labeled images, validating on {}\n",
                       labeled.size(), val.size());
            const train_config pcfg =
                make_train_config(o.pre, o.seed, o.out + "/pretrain", o.resume, o.progress);
            trainer pt(model, w.images, pcfg);
            const auto hist = pt.fit(labeled_items, items_for(w.data, val));
            pre_info["source"] = "trained";
            pre_info["epochs_run"] = hist.size();
            pre_info["config"] = o.pre.to_json();
        }
        pre_info["val_acc"] = accuracy_of(model, w, val);
        pre_info["test_acc"] = accuracy_of(model, w, test);
        pre_info["seconds"] = seconds_since(tp);
        fmt::print(stderr, "supervised start: val acc {:.2f} %, test acc {:.2f} %\n",
                   100 * pre_info["val_acc"].get<double>(),
                   100 * pre_info["test_acc"].get<double>());
    }

    const auto run_start = clock_type::now();
    auto elapsed = [&] { return elapsed_before + seconds_since(run_start); };
    auto results = [&](bool complete) {
        nlohmann::json days = nlohmann::json::array(), rounds = nlohmann::json::array();
        for (const auto &d : st.days) days.push_back(d.to_json());
        for (const auto &r : st.rounds) rounds.push_back(r.to_json());
        const std::vector<int> per = accepted_per_class(st, k);
        nlohmann::json per_class = nlohmann::json::object();
        for (int c = 0; c < k; ++c) per_class[w.data.classes[size_t(c)]] = per[size_t(c)];
        const double val_acc =
            st.rounds.empty() ? pre_info.value("val_acc", 0.0) : st.rounds.back().val_acc;
        const double test_acc =
            st.rounds.empty() ? pre_info.value("test_acc", 0.0) : st.rounds.back().test_acc;
        int max_per_class = 0;
        for (int v : per) max_per_class = std::max(max_per_class, v);
        return nlohmann::json{
            {"kind", "ssl"},
            {"complete", complete},
            {"command", o.command},
            {"seed", o.seed},
            {"ssl", o.ssl.to_json()},
            {"retrain_lr", o.retrain_lr},
            {"pretrain_config", o.pre.to_json()},
            {"max_days", o.max_days},
            {"data", data_json(w, o.data)},
            {"labeled_images", labeled.size()},
            {"stream_images", st.stream.size()},
            {"pool", pool},
            {"pretrain", pre_info},
            {"days", days},
            {"rounds", rounds},
            {"final",
             {{"val_acc", val_acc},
              {"test_acc", test_acc},
              {"day", st.day},
              {"days_total", st.days_total(o.ssl.images_per_day)},
              {"rounds", st.round},
              {"arrived", st.arrived},
              {"accepted", st.n_accepted},
              {"accepted_used", st.accepted.size()},
              {"left_in_buffer", st.buffer.size()},
              {"below_tau", st.below_tau},
              {"capped", st.capped},
              {"precision", precision_all(st)},
              {"precision_used", precision(st.accepted)},
              {"accepted_per_class", per_class},
              {"max_accepted_per_class", max_per_class},
              {"utilisation", utilisation(int(labeled.size()), int(st.accepted.size()), pool)}}},
            {"seconds", elapsed()}};
    };
    auto checkpoint = [&] {
        const nlohmann::json m = {{"ssl", o.ssl.to_json()},
                                  {"seed", o.seed},
                                  {"state", st.to_json()},
                                  {"pretrain", pre_info},
                                  {"elapsed", elapsed()}};
        save_checkpoint(state_path, model, &t.optimizer(), m);
        write_file_atomic(results_path, results(false).dump(1) + "\n");
    };
    if (!(o.resume && !meta.is_null())) checkpoint();  // after pre-training: round 0

    // Stream phase. Rate of training image passes, for the ETA (measured on the retrains).
    double pass_seconds = 0, passes_done = 0;
    double current_val =
        st.rounds.empty() ? pre_info.value("val_acc", 0.0) : st.rounds.back().val_acc;
    double scale = 0;  // lambda * ramp(t) of the epoch being trained
    double sum_lab = 0, sum_pse = 0, n_steps = 0;
    t.set_loss([&](const loss_context &c) {
        const ssl_loss_terms l =
            ssl_loss(c.logits, c.batch.y, c.batch.weight, c.batch.source, scale, class_w);
        sum_lab += l.labeled.item<double>();
        sum_pse += l.pseudo.item<double>();
        n_steps += 1;
        return l.total;
    });
    const int days_total = st.days_total(o.ssl.images_per_day);
    bool stopped = false;
    while (!st.exhausted()) {
        if (o.stop_after_days > 0 && st.day >= o.stop_after_days) {
            stopped = true;
            break;
        }
        const std::vector<int> imgs = next_day_images(st, o.ssl);
        const torch::Tensor probs =
            torch::softmax(logits_of(model, w.images, imgs), 1).contiguous();
        const std::vector<float> p(probs.data_ptr<float>(),
                                   probs.data_ptr<float>() + probs.numel());
        const day_record d =
            ingest_day(st, o.ssl, make_candidates(p, k, imgs, labels_of(w, imgs)), current_val);
        const bool retrain = retrain_due(st, o.ssl);
        const double eta_s = passes_done > 0 ? remaining_passes(st, o.ssl, int(labeled.size())) *
                                                   pass_seconds / passes_done
                                             : -1;
        if (o.progress)
            fmt::print(stderr,
                       "day {:>3}/{} | buffer {:>3}/{} | accepted {} rejected {} (below tau {}, "
                       "capped {}) | pseudo precision {:.1f} % | val acc {:.2f} % | ETA {}{}\n",
                       d.day, days_total, d.buffer, o.ssl.retrain_threshold, st.n_accepted,
                       st.below_tau + st.capped, st.below_tau, st.capped, 100 * d.precision_total,
                       100 * current_val,
                       eta_s >= 0 ? format_duration(eta_s) : "(after 1st retrain)",
                       retrain ? " -> retrain" : "");
        if (!retrain) continue;
        st.days.back().retrained = true;
        const auto tr = clock_type::now();
        round_record r;
        r.round = st.round + 1;
        r.day = st.day;
        r.new_precision = precision(st.buffer);
        r.new_labels = commit_buffer(st);
        r.accepted_total = int(st.accepted.size());
        r.precision_total = precision(st.accepted);
        std::vector<train_item> items = labeled_items;
        for (const auto &pl : st.accepted) items.push_back({pl.image, pl.label, pl.confidence, 1});
        r.train_items = int(items.size());
        for (int e = 0; e < o.ssl.retrain_epochs; ++e) {
            scale = o.ssl.lambda * ramp(ramp_t(o.ssl, st.ssl_epochs, e), o.ssl.ramp_epochs);
            if (e == 0) r.ramp_first = scale;
            r.ramp_last = scale;
            sum_lab = sum_pse = n_steps = 0;
            const epoch_record er = t.train_epoch(items, k_stream_epoch_offset + st.ssl_epochs);
            ++st.ssl_epochs;
            r.loss = er.train_loss;
            passes_done += double(items.size());
            if (o.progress)
                fmt::print(stderr,
                           "  round {} epoch {}/{}: {} items ({} labeled + {} pseudo), "
                           "lambda*ramp {:.2f}, L_labeled {:.3f}, L_pseudo {:.3f}, {:.0f} img/s\n",
                           r.round, e + 1, o.ssl.retrain_epochs, items.size(), labeled.size(),
                           st.accepted.size(), scale, n_steps ? sum_lab / n_steps : 0.0,
                           n_steps ? sum_pse / n_steps : 0.0, er.images_per_s);
        }
        r.val_acc = current_val = accuracy_of(model, w, val);
        r.test_acc = accuracy_of(model, w, test);
        r.seconds = seconds_since(tr);
        pass_seconds += r.seconds;
        st.round = r.round;
        st.rounds.push_back(r);
        checkpoint();
        if (o.progress)
            fmt::print(stderr,
                       "round {} (day {}): +{} pseudo-labels (precision {:.1f} %), {} in use, "
                       "val acc {:.2f} %, test acc {:.2f} %, {}; checkpoint {}\n",
                       r.round, r.day, r.new_labels, 100 * r.new_precision, r.accepted_total,
                       100 * r.val_acc, 100 * r.test_acc, format_duration(r.seconds), state_path);
    }
    if (stopped) {
        fmt::print(stderr,
                   "stopped after day {} as asked (--stop-after-days); the last checkpoint "
                   "is round {}\n",
                   st.day, st.round);
        return results(false);
    }
    nlohmann::json res = results(true);
    write_file_atomic(results_path, res.dump(1) + "\n");
    if (!o.export_model.empty())
        export_to(model, w,
                  {{"trainer", "folia-ssl run"},
                   {"ssl", o.ssl.to_json()},
                   {"val_acc", res["final"]["val_acc"]},
                   {"seed", o.seed}},
                  o.export_model);
    fmt::print(stderr,
               "SSL done: {} days, {} retrains, {} pseudo-labels (precision {:.1f} %), "
               "val acc {:.2f} % -> {:.2f} %, test acc {:.2f} % -> {:.2f} %, {}\n",
               st.day, st.round, st.accepted.size(), 100 * precision(st.accepted),
               100 * pre_info.value("val_acc", 0.0), 100 * res["final"]["val_acc"].get<double>(),
               100 * pre_info.value("test_acc", 0.0), 100 * res["final"]["test_acc"].get<double>(),
               format_duration(res["seconds"].get<double>()));
    return res;
}

void export_ssl_state(const std::string &run_dir, const data_options &d, const std::string &out) {
    const std::string state = run_dir + "/state.pt";
    const nlohmann::json res = read_json(run_dir + "/results.json");
    workspace w;
    w.data = scan_dataset(single_data_root(d));
    if (d.max_classes > 0 || d.per_class > 0)
        w.data = subset_dataset(w.data, d.max_classes, d.per_class);
    const nlohmann::json meta = read_checkpoint_meta(state);
    folia_net model(arch_from_json(meta.at("arch")));
    if (model->arch.num_classes != int(w.data.classes.size()))
        throw std::runtime_error(fmt::format("{} has {} classes, the data folder {}", state,
                                             model->arch.num_classes, w.data.classes.size()));
    load_checkpoint(state, model, nullptr, nullptr);
    w.images.size = res.at("data").at("size");
    const nlohmann::json &f = res.at("final");
    export_to(model, w,
              {{"trainer", "folia-ssl run"},
               {"ssl", res.at("ssl")},
               {"seed", res.at("seed")},
               {"complete", res.at("complete")},
               {"day", f.at("day")},
               {"val_acc", f.at("val_acc")},
               {"test_acc", f.at("test_acc")}},
              out);
}

}  // namespace folia::train::ssl
