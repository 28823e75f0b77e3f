// commands-incremental.cpp: the class-incremental experiment (LibTorch): a shared base model per
// seed, every strategy through incremental_learner, evaluation on the leaf-grouped test split
// after every step (the reported figures) and on its val part (for choosing knobs), Avalanche
// metrics, JSON results, exported final models; and folia-incremental's command (data loading,
// summary table).
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "checkpoint.h"
#include "export.h"
#include "commands-incremental.h"
#include "file-io.h"
#include "incremental-metrics.h"
#include "incremental-protocol.h"
#include "incremental.h"
#include "progress.h"
#include "workspace.h"

namespace folia::train {

nlohmann::json incremental_options::to_json() const {
    nlohmann::json j = {{"size", data.size},
                        {"split", data.split},
                        {"max_classes", data.max_classes},
                        {"per_class", data.per_class},
                        {"train_parts", train_parts},
                        {"first_classes", first_classes},
                        {"steps", steps},
                        {"shuffle_classes", shuffle_classes},
                        {"base_epochs", base_epochs},
                        {"step_epochs", step_epochs},
                        {"joint_epochs", joint_epochs > 0 ? joint_epochs : base_epochs},
                        {"batch", fit.batch},
                        {"lr", fit.lr},
                        {"step_lr", step_lr},
                        {"weight_decay", fit.weight_decay},
                        {"warmup", fit.warmup},
                        {"step_warmup", step_warmup},
                        {"min_lr_frac", fit.min_lr_frac},
                        {"class_weights", fit.weighting},
                        {"augment", !no_augment},
                        {"max_steps", fit.max_steps},
                        {"lwf_alpha", lwf_alpha},
                        {"lwf_temperature", lwf_temperature},
                        {"ewc_lambda", ewc_lambda},
                        {"fisher_samples", fisher_samples},
                        {"fisher_batch", fisher_batch},
                        {"memory_per_class", memory_per_class}};
    // Only when set, so results.json files made before the option still resume.
    if (memory_total > 0) j["memory_total"] = memory_total;
    if (weight_aligning) j["weight_aligning"] = true;
    if (rehearsal_distill > 0) j["rehearsal_distill"] = rehearsal_distill;
    if (balanced_finetune > 0) {
        j["balanced_finetune"] = balanced_finetune;
        j["balanced_finetune_lr_frac"] = balanced_finetune_lr_frac;
        if (balanced_finetune_distill > 0)
            j["balanced_finetune_distill"] = balanced_finetune_distill;
    }
    if (logit_adjust > 0) j["logit_adjust"] = logit_adjust;
    return j;
}

nlohmann::json incremental_options::base_config() const {
    return {{"size", data.size},
            {"split", data.split},
            {"max_classes", data.max_classes},
            {"per_class", data.per_class},
            {"train_parts", train_parts},
            {"first_classes", first_classes},
            {"shuffle_classes", shuffle_classes},
            {"base_epochs", base_epochs},
            {"batch", fit.batch},
            {"lr", fit.lr},
            {"weight_decay", fit.weight_decay},
            {"warmup", fit.warmup},
            {"min_lr_frac", fit.min_lr_frac},
            {"class_weights", fit.weighting},
            {"augment", !no_augment},
            {"max_steps", fit.max_steps}};
}

namespace {

struct strategy_spec {
    std::string name;  // as given
    std::string kind;  // joint, finetune, lwf, ewc, rehearsal
    exemplar_selection selection = exemplar_selection::herding;
};

strategy_spec parse_strategy(const std::string &s) {
    strategy_spec r{s, s};
    if (s.rfind("rehearsal", 0) == 0) {
        r.kind = "rehearsal";
        if (s.size() > 9) {
            if (s[9] != '-') throw std::invalid_argument("unknown strategy '" + s + "'");
            r.selection = parse_exemplar_selection(s.substr(10));
        }
        return r;
    }
    if (s != "joint" && s != "finetune" && s != "lwf" && s != "ewc")
        throw std::invalid_argument("unknown strategy '" + s +
                                    "' (joint, finetune, lwf, ewc, rehearsal-herding, "
                                    "rehearsal-random, rehearsal-distance)");
    return r;
}

// A phase's train_config: the shared knobs with this phase's epochs, peak LR and warmup, no
// early stopping (the val part is only evaluated after each step, for choosing knobs).
train_config make_train_config(const incremental_options &o, int epochs, double lr, double warmup,
                               uint64_t seed) {
    train_config c = config_from_options(o.fit);
    c.epochs = epochs;
    c.lr = lr;
    c.warmup_epochs = warmup;
    c.patience = 0;
    c.seed = seed;
    c.augment = !o.no_augment;
    c.progress = o.progress;
    return c;
}

std::vector<train_item> mapped_items(const dataset &d, const cil_protocol &p,
                                     const std::vector<int> &idx) {
    std::vector<train_item> r;
    for (int i : idx) r.push_back({i, p.output_of[size_t(d.samples[size_t(i)].label)], 1.0f, 0});
    return r;
}

double accuracy_on(folia_net &model, const image_cache &images,
                   const std::vector<train_item> &items) {
    if (items.empty()) return 0;
    std::vector<int32_t> idx;
    for (const auto &it : items) idx.push_back(it.image);
    const size_t per = size_t(images.size) * images.size * 3;
    std::vector<uint8_t> u8(idx.size() * per);
    for (size_t i = 0; i < idx.size(); ++i)
        std::memcpy(u8.data() + i * per, images.image(size_t(idx[i])), per);
    const torch::Tensor pred =
        predict_logits(model, u8.data(), int64_t(idx.size()), images.size).argmax(1);
    int64_t correct = 0;
    const auto pa = pred.accessor<int64_t, 1>();
    for (size_t i = 0; i < items.size(); ++i) correct += pa[int64_t(i)] == items[i].label;
    return double(correct) / double(items.size());
}

// Rough planned work (images x epochs) for the ETA line.
struct eta_clock {
    double planned = 0, done = 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::string line() const {
        const double e = elapsed();
        const double eta = done > 0 ? e * std::max(0.0, planned - done) / done : 0;
        return fmt::format("elapsed {}, ETA {}", format_duration(e), format_duration(eta));
    }
};

std::string percent_list(const std::vector<double> &v) {
    std::string s;
    for (double x : v) s += fmt::format("{}{:.1f}", s.empty() ? "" : " ", 100 * x);
    return s;
}

// One run_incremental call: the data, the strategies, the results so far and the ETA clock.
struct incremental_run {
    const incremental_options &o;
    const dataset &d;
    const data_split &s;
    const image_cache &images;
    std::vector<strategy_spec> specs;
    std::vector<part> train_parts;
    int joint_epochs = 0;
    nlohmann::json config, results;
    std::string results_path;
    eta_clock clock;
    bool finished(uint64_t seed, const std::string &name) const {
        for (const auto &r : results.at("runs"))
            if (r.at("seed") == seed && r.at("strategy") == name) return true;
        return false;
    }
    bool in_train_parts(size_t i) const {
        return std::find(train_parts.begin(), train_parts.end(), s.parts[i]) != train_parts.end();
    }
    void save() const { write_file_atomic(results_path, results.dump(1) + "\n"); }
    std::string base_path(uint64_t seed) const {
        return fmt::format("{}/base-seed{}.pt", o.base_dir.empty() ? o.out : o.base_dir, seed);
    }
};

// One seed: its protocol, the items of every experience, the shared base model.
struct seed_run {
    uint64_t seed = 0;
    const cil_protocol *p = nullptr;
    int T = 0;  // experiences
    // val: the split's val part (no leaf shared with the training or test parts), evaluated
    // like test so that knobs can be chosen on it; empty in slices that have none.
    std::vector<std::vector<train_item>> train_items, test_items, val_items;
    std::vector<int> test_count, val_count;
    bool has_val() const {
        for (int n : val_count)
            if (n > 0) return true;
        return false;
    }
    folia_net base{nullptr};
    nlohmann::json base_meta;
};

// The options checked, and the finished runs of <out>/results.json (made with the same
// configuration) kept.
void start_results(incremental_run &r) {
    const incremental_options &o = r.o;
    for (const auto &n : o.strategies) r.specs.push_back(parse_strategy(n));
    if (o.seeds.empty()) throw std::invalid_argument("no seeds given");
    for (const auto &p : o.train_parts) r.train_parts.push_back(parse_part(p));
    r.joint_epochs = o.joint_epochs > 0 ? o.joint_epochs : o.base_epochs;
    std::filesystem::create_directories(o.out);
    r.results_path = o.out + "/results.json";
    r.config = o.to_json();
    r.results = {{"format", "folia-incremental-1"},
                 {"config", r.config},
                 {"classes", r.d.classes},
                 {"runs", nlohmann::json::array()}};
    if (!std::filesystem::exists(r.results_path)) return;
    const nlohmann::json old = read_json_file(r.results_path);
    if (old.value("config", nlohmann::json()) != r.config)
        throw std::runtime_error(r.results_path +
                                 " was made with another configuration: pass another --out");
    r.results["runs"] = old.at("runs");
    fmt::print(stderr, "{}: {} finished runs kept\n", r.results_path, r.results["runs"].size());
}

// Every seed's protocol, and the planned work of the unfinished runs for the ETA (images x
// epochs; LwF's teacher pass and EWC's Fisher ignored).
std::vector<cil_protocol> plan_protocols(incremental_run &r) {
    const incremental_options &o = r.o;
    std::vector<cil_protocol> protocols;
    for (uint64_t seed : o.seeds) {
        protocol_params pp;
        pp.first_classes = o.first_classes;
        pp.steps = o.steps;
        pp.shuffle_classes = o.shuffle_classes;
        pp.seed = seed;
        protocols.push_back(make_protocol(int(r.d.classes.size()), pp));
        const cil_protocol &p = protocols.back();
        std::vector<double> n(p.experiences.size(), 0);
        for (size_t i = 0; i < r.d.samples.size(); ++i)
            if (r.in_train_parts(i))
                n[size_t(p.experience_of_output(p.output_of[size_t(r.d.samples[i].label)]))] += 1;
        if (!std::filesystem::exists(r.base_path(seed))) r.clock.planned += n[0] * o.base_epochs;
        for (const auto &sp : r.specs) {
            if (r.finished(seed, sp.name)) continue;
            if (sp.kind == "joint") {
                double all = 0;
                for (double v : n) all += v;
                r.clock.planned += all * r.joint_epochs;
                continue;
            }
            for (size_t t = 1; t < n.size(); ++t) {
                const double memory = sp.kind != "rehearsal" ? 0
                                      : o.memory_total > 0   ? double(o.memory_total)
                                                           : double(p.experiences[t].first_output) *
                                                                 o.memory_per_class;
                r.clock.planned += (n[t] + memory) * o.step_epochs;
            }
        }
    }
    return protocols;
}

seed_run seed_items(const incremental_run &r, uint64_t seed, const cil_protocol &p) {
    seed_run sr;
    sr.seed = seed;
    sr.p = &p;
    sr.T = int(p.experiences.size());
    for (int t = 0; t < sr.T; ++t) {
        sr.train_items.push_back(
            mapped_items(r.d, p, experience_samples(r.d, r.s, p, t, r.train_parts)));
        sr.test_items.push_back(
            mapped_items(r.d, p, experience_samples(r.d, r.s, p, t, {part::test})));
        if (sr.train_items.back().empty())
            throw std::runtime_error(fmt::format("experience {} has no training images", t));
        sr.test_count.push_back(int(sr.test_items.back().size()));
        sr.val_items.push_back(
            mapped_items(r.d, p, experience_samples(r.d, r.s, p, t, {part::val})));
        sr.val_count.push_back(int(sr.val_items.back().size()));
    }
    return sr;
}

// The base model: experience 0 learned from scratch once per seed (<out>/base-seed<s>.pt) and
// shared by every strategy but joint.
void train_base(incremental_run &r, seed_run &sr) {
    const incremental_options &o = r.o;
    const std::string base_path = r.base_path(sr.seed);
    const int n0 = sr.p->experiences[0].num_outputs_after();
    sr.base = make_model(n0, sr.seed);
    const bool need_base =
        std::any_of(r.specs.begin(), r.specs.end(), [&](const strategy_spec &sp) {
            return sp.kind != "joint" && !r.finished(sr.seed, sp.name);
        });
    if (!need_base) return;
    if (load_checkpoint(base_path, sr.base, nullptr, &sr.base_meta)) {
        // Made before base_config was recorded: trusted (its folder's results.json config
        // matched); otherwise it must be this configuration's base.
        if (sr.base_meta.contains("base_config") && sr.base_meta["base_config"] != o.base_config())
            throw std::runtime_error(
                fmt::format("{} was trained with other base settings ({}; these: {}): pass another "
                            "--base-dir",
                            base_path, sr.base_meta["base_config"].dump(), o.base_config().dump()));
        fmt::print(stderr, "[seed {}] base model from {}\n", sr.seed, base_path);
    } else {
        fmt::print(stderr, "[seed {}] base: experience 0, {} classes, {} images, {} epochs\n",
                   sr.seed, n0, sr.train_items[0].size(), o.base_epochs);
        trainer t(sr.base, r.images,
                  make_train_config(o, o.base_epochs, o.fit.lr, o.fit.warmup, sr.seed));
        const auto hist = t.fit(sr.train_items[0], {});
        sr.base_meta = {{"seed", sr.seed}, {"seconds", 0.0}, {"base_config", o.base_config()}};
        double secs = 0;
        for (const auto &h : hist) secs += h.seconds;
        sr.base_meta["seconds"] = secs;
        std::filesystem::create_directories(std::filesystem::path(base_path).parent_path());
        save_checkpoint(base_path, sr.base, nullptr, sr.base_meta);
        r.clock.done += double(sr.train_items[0].size()) * o.base_epochs;
    }
    sr.base_meta["test_acc_exp0"] = accuracy_on(sr.base, r.images, sr.test_items[0]);
    sr.base_meta["val_acc_exp0"] = accuracy_on(sr.base, r.images, sr.val_items[0]);
    fmt::print(stderr, "[seed {}] base model: accuracy on experience 0: test {:.2f}%{}\n", sr.seed,
               100 * double(sr.base_meta["test_acc_exp0"]),
               sr.val_count[0] > 0
                   ? fmt::format(", val {:.2f}%", 100 * double(sr.base_meta["val_acc_exp0"]))
                   : "");
}

// Accuracy on experiences 0..t: items_of[j] are experience j's evaluation items.
std::vector<double> accuracy_row(folia_net &model, const image_cache &images,
                                 const std::vector<std::vector<train_item>> &items_of, int t) {
    std::vector<double> row;
    for (int j = 0; j <= t; ++j) row.push_back(accuracy_on(model, images, items_of[size_t(j)]));
    return row;
}

// One row's final ACC (sample-weighted by count) and its mean over experiences.
nlohmann::json joint_metrics(const std::vector<double> &row, const std::vector<int> &count) {
    double correct = 0, total = 0, mean = 0;
    for (size_t j = 0; j < row.size(); ++j) {
        correct += row[j] * count[j];
        total += count[j];
        mean += row[j];
    }
    return {{"final_acc", total > 0 ? correct / total : 0.0},
            {"final_acc_exp_mean", row.empty() ? 0.0 : mean / double(row.size())}};
}

// Joint (the upper bound): every experience's data at once, evaluated in one row.
folia_net run_joint(incremental_run &r, const seed_run &sr, nlohmann::json &run) {
    const incremental_options &o = r.o;
    std::vector<train_item> all;
    for (const auto &v : sr.train_items) all.insert(all.end(), v.begin(), v.end());
    const int n_all = sr.p->experiences.back().num_outputs_after();
    fmt::print(stderr, "[seed {} | joint] {} classes, {} images, {} epochs\n", sr.seed, n_all,
               all.size(), r.joint_epochs);
    folia_net model = make_model(n_all, sr.seed);
    trainer t(model, r.images,
              make_train_config(o, r.joint_epochs, o.fit.lr, o.fit.warmup, sr.seed));
    t.fit(all, {});
    r.clock.done += double(all.size()) * r.joint_epochs;
    const std::vector<double> row = accuracy_row(model, r.images, sr.test_items, sr.T - 1);
    run["acc_per_experience"] = row;
    run["metrics"] = joint_metrics(row, sr.test_count);
    if (sr.has_val()) {
        const std::vector<double> val = accuracy_row(model, r.images, sr.val_items, sr.T - 1);
        run["val_acc_per_experience"] = val;
        run["val_metrics"] = joint_metrics(val, sr.val_count);
    }
    fmt::print(stderr, "[seed {} | joint] test accuracy {:.2f}% | per experience {} | {}\n",
               sr.seed, 100 * double(run["metrics"]["final_acc"]), percent_list(row),
               r.clock.line());
    return model;
}

incremental_config strategy_config(const incremental_options &o, const strategy_spec &sp,
                                   uint64_t seed) {
    incremental_config cfg;
    cfg.train = make_train_config(o, o.step_epochs, o.step_lr, o.step_warmup, seed);
    cfg.lwf_alpha = o.lwf_alpha;
    cfg.lwf_temperature = o.lwf_temperature;
    cfg.ewc_lambda = o.ewc_lambda;
    cfg.fisher_samples = o.fisher_samples;
    cfg.fisher_batch = o.fisher_batch;
    cfg.memory_per_class = o.memory_per_class;
    cfg.memory_total = o.memory_total;
    cfg.weight_aligning = o.weight_aligning;
    cfg.rehearsal_distill = o.rehearsal_distill;
    cfg.balanced_finetune_epochs = o.balanced_finetune;
    cfg.balanced_finetune_lr_frac = o.balanced_finetune_lr_frac;
    cfg.balanced_finetune_distill = o.balanced_finetune_distill;
    cfg.logit_adjust = o.logit_adjust;
    cfg.selection = sp.selection;
    cfg.seed = seed;
    return cfg;
}

// The log lines after step t: test ACC, per experience, forgetting, val ACC (where the split has
// a val part) and, where there is one, the NME classifier's ACC.
void print_after_step(const seed_run &sr, const strategy_spec &sp, int t, const accuracy_matrix &m,
                      const accuracy_matrix &vm, const accuracy_matrix *nme,
                      const std::string &clock) {
    const cl_metrics cm = compute_cl_metrics(m);
    const std::string val =
        sr.has_val() ? fmt::format(" | val ACC {:.2f}%", 100 * compute_cl_metrics(vm).acc.back())
                     : "";
    fmt::print(stderr,
               "[seed {} | {}] after step {}: ACC {:.2f}% | per experience {} | forgetting "
               "{:.2f}{} | {}\n",
               sr.seed, sp.name, t, 100 * cm.acc.back(), percent_list(m.acc.back()),
               100 * cm.stream_forgetting.back(), val, clock);
    if (nme)
        fmt::print(stderr, "[seed {} | {}] after step {}: NME ACC {:.2f}% | per experience {}\n",
                   sr.seed, sp.name, t, 100 * compute_cl_metrics(*nme).acc.back(),
                   percent_list(nme->acc.back()));
}

// An incremental strategy from the base model: one step per later experience, the test (and
// val) accuracy on every experience seen so far after each, the Avalanche metrics of the
// matrices.
folia_net run_steps(incremental_run &r, seed_run &sr, const strategy_spec &sp,
                    nlohmann::json &run) {
    const incremental_options &o = r.o;
    const incremental_config cfg = strategy_config(o, sp, sr.seed);
    run["incremental_config"] = cfg.to_json();
    auto learner = make_learner(sp.kind, clone_model(sr.base), r.images);
    const int n0 = sr.p->experiences[0].num_outputs_after();
    learner->consolidate({sr.train_items[0], n0}, cfg);  // EWC's Fisher / the memory of exp 0
    accuracy_matrix m, nme, vm;  // nme: iCaRL's nearest-mean classifier, where there is one
    m.test_count = nme.test_count = sr.test_count;
    vm.test_count = sr.val_count;  // vm: the softmax on the val part
    m.add_step({double(sr.base_meta["test_acc_exp0"])});
    vm.add_step({double(sr.base_meta["val_acc_exp0"])});
    const bool has_nme = !learner->nme_means().empty();
    auto nme_row = [&](int t) {
        std::vector<double> row;
        for (int j = 0; j <= t; ++j)
            row.push_back(nme_accuracy(learner->model(), r.images, learner->nme_means(),
                                       sr.test_items[size_t(j)]));
        nme.add_step(row);
        return row;
    };
    if (has_nme) nme_row(0);
    nlohmann::json steps = nlohmann::json::array();
    for (int t = 1; t < sr.T; ++t) {
        const cil_experience &e = sr.p->experiences[size_t(t)];
        fmt::print(stderr,
                   "[seed {} | {}] step {}/{}: +{} classes ({} -> {} outputs), {} new "
                   "images, {} epochs\n",
                   sr.seed, sp.name, t, sr.T - 1, e.classes.size(), e.first_output,
                   e.num_outputs_after(), sr.train_items[size_t(t)].size(), o.step_epochs);
        const incremental_result res =
            learner->learn_incremental({sr.train_items[size_t(t)], e.num_outputs_after()}, cfg);
        r.clock.done += double(res.train_images) * o.step_epochs;
        const std::vector<double> row = accuracy_row(learner->model(), r.images, sr.test_items, t);
        m.add_step(row);
        vm.add_step(accuracy_row(learner->model(), r.images, sr.val_items, t));
        const cl_metrics cm = compute_cl_metrics(m);
        nlohmann::json sj = res.to_json();
        sj["test_acc"] = row;
        if (sr.has_val()) sj["val_acc"] = vm.acc.back();
        if (has_nme) sj["nme_test_acc"] = nme_row(t);
        steps.push_back(sj);
        print_after_step(sr, sp, t, m, vm, has_nme ? &nme : nullptr, r.clock.line());
        emit_progress("experience", {{"seed", sr.seed},
                                     {"strategy", sp.name},
                                     {"step", t},
                                     {"steps", sr.T - 1},
                                     {"acc", cm.acc.back()},
                                     {"test_acc", row},
                                     {"forgetting", cm.stream_forgetting.back()}});
    }
    run["matrix"] = m.acc;
    run["metrics"] = compute_cl_metrics(m).to_json();
    if (sr.has_val()) {
        run["val_matrix"] = vm.acc;
        run["val_metrics"] = compute_cl_metrics(vm).to_json();
    }
    if (has_nme) {
        run["nme_matrix"] = nme.acc;
        run["nme_metrics"] = compute_cl_metrics(nme).to_json();
    }
    run["steps"] = steps;
    return learner->model();
}

// <out>/models/<strategy>-seed<s>.folia: the final model with the protocol's labels.
std::string export_final(const incremental_run &r, const seed_run &sr, const strategy_spec &sp,
                         folia_net &model) {
    model_file info;
    info.labels = sr.p->labels(r.d, model->arch.num_classes);
    info.preprocess.input_size = r.images.size;
    info.meta_json = nlohmann::json({{"trainer", "folia-incremental"},
                                     {"strategy", sp.name},
                                     {"seed", sr.seed},
                                     {"config", r.config}})
                         .dump();
    const std::string path = fmt::format("{}/models/{}-seed{}.folia", r.o.out, sp.name, sr.seed);
    export_model_file(model, info, path);
    return path;
}

// One (seed, strategy) run, appended to the results (written at once).
void run_strategy(incremental_run &r, seed_run &sr, const strategy_spec &sp) {
    const auto run_start = std::chrono::steady_clock::now();
    nlohmann::json run = {{"seed", sr.seed},
                          {"strategy", sp.name},
                          {"kind", sp.kind},
                          {"class_order", sr.p->class_order},
                          {"test_count", sr.test_count},
                          {"val_count", sr.val_count}};
    folia_net final_model = sp.kind == "joint" ? run_joint(r, sr, run) : run_steps(r, sr, sp, run);
    run["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    if (r.o.export_models) run["model"] = export_final(r, sr, sp, final_model);
    r.results["runs"].push_back(run);
    r.save();
}

}  // namespace

nlohmann::json run_incremental(const incremental_options &o, const dataset &d, const data_split &s,
                               const image_cache &images) {
    incremental_run r{o, d, s, images};
    start_results(r);
    const std::vector<cil_protocol> protocols = plan_protocols(r);
    for (size_t si = 0; si < o.seeds.size(); ++si) {
        seed_run sr = seed_items(r, o.seeds[si], protocols[si]);
        bool any_left = false;
        for (const auto &sp : r.specs) any_left |= !r.finished(sr.seed, sp.name);
        if (!any_left) continue;
        train_base(r, sr);
        for (const auto &sp : r.specs)
            if (!r.finished(sr.seed, sp.name)) run_strategy(r, sr, sp);
    }
    return r.results;
}

int cmd_incremental(const incremental_options &o) {
    const workspace w = load_workspace(o.data, true);
    const nlohmann::json r = run_incremental(o, w.data, w.split, w.images);
    // Summary: final ACC, mean forgetting and (rehearsal) NME final ACC per strategy, averaged
    // over seeds.
    struct sums {
        int runs = 0, nme_runs = 0;
        double acc = 0, forgetting = 0, nme = 0;
    };
    std::map<std::string, sums> by;
    for (const auto &run : r.at("runs")) {
        const auto &m = run.at("metrics");
        sums &s = by[run.at("strategy")];
        ++s.runs;
        s.acc += m.at("final_acc").get<double>();
        s.forgetting += m.value("mean_forgetting", 0.0);
        if (run.contains("nme_metrics")) {
            ++s.nme_runs;
            s.nme += run.at("nme_metrics").at("final_acc").get<double>();
        }
    }
    fmt::print("{:<20} {:>6} {:>10} {:>12} {:>10}\n", "strategy", "runs", "final ACC", "forgetting",
               "NME ACC");
    for (const auto &[name, s] : by)
        fmt::print("{:<20} {:>6} {:>9.2f}% {:>11.2f}% {:>10}\n", name, s.runs, 100 * s.acc / s.runs,
                   100 * s.forgetting / s.runs,
                   s.nme_runs ? fmt::format("{:.2f}%", 100 * s.nme / s.nme_runs) : "-");
    fmt::print("results: {}/results.json\n", o.out);
    return 0;
}

}  // namespace folia::train
