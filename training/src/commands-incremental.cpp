// commands-incremental.cpp: the class-incremental experiment (LibTorch): a shared base model per
// seed, every strategy through incremental_learner, evaluation on the leaf-grouped test split
// after every step, Avalanche metrics, JSON results, exported final models.
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint.h"
#include "export.h"
#include "incremental-commands.h"
#include "incremental-metrics.h"
#include "incremental-protocol.h"
#include "incremental.h"
#include "progress.h"

namespace folia::train {

void incremental_setup_runtime(int threads) {
    torch::set_num_threads(std::max(1, threads));
}

nlohmann::json incremental_options::to_json() const {
    return {{"size", data.size},
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
            {"batch", batch},
            {"lr", lr},
            {"step_lr", step_lr},
            {"weight_decay", weight_decay},
            {"warmup", warmup},
            {"step_warmup", step_warmup},
            {"min_lr_frac", min_lr_frac},
            {"class_weights", weighting},
            {"augment", !no_augment},
            {"max_steps", max_steps},
            {"lwf_alpha", lwf_alpha},
            {"lwf_temperature", lwf_temperature},
            {"ewc_lambda", ewc_lambda},
            {"fisher_samples", fisher_samples},
            {"fisher_batch", fisher_batch},
            {"memory_per_class", memory_per_class}};
}

namespace {

nlohmann::json read_json(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

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

train_config make_train_config(const incremental_options &o, int epochs, double lr, double warmup,
                               uint64_t seed) {
    train_config c;
    c.epochs = epochs;
    c.batch = o.batch;
    c.lr = lr;
    c.weight_decay = o.weight_decay;
    c.warmup_epochs = warmup;
    c.min_lr_frac = o.min_lr_frac;
    c.patience = 0;  // fixed epochs: no validation set takes part in the protocol
    c.seed = seed;
    c.augment = !o.no_augment;
    c.weighting = parse_class_weighting(o.weighting);
    c.max_steps_per_epoch = o.max_steps;
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

}  // namespace

nlohmann::json run_incremental(const incremental_options &o, const dataset &d, const data_split &s,
                               const image_cache &images) {
    std::vector<strategy_spec> specs;
    for (const auto &n : o.strategies) specs.push_back(parse_strategy(n));
    if (o.seeds.empty()) throw std::invalid_argument("no seeds given");
    std::vector<part> train_parts;
    for (const auto &p : o.train_parts) train_parts.push_back(parse_part(p));
    const auto in_parts = [&](size_t i) {
        return std::find(train_parts.begin(), train_parts.end(), s.parts[i]) != train_parts.end();
    };
    const int joint_epochs = o.joint_epochs > 0 ? o.joint_epochs : o.base_epochs;

    std::filesystem::create_directories(o.out);
    const std::string results_path = o.out + "/results.json";
    const nlohmann::json config = o.to_json();
    nlohmann::json results = {{"format", "folia-incremental-1"},
                              {"config", config},
                              {"classes", d.classes},
                              {"runs", nlohmann::json::array()}};
    if (std::filesystem::exists(results_path)) {
        nlohmann::json old = read_json(results_path);
        if (old.value("config", nlohmann::json()) != config)
            throw std::runtime_error(results_path +
                                     " was made with another configuration: pass another --out");
        results["runs"] = old.at("runs");
        fmt::print(stderr, "{}: {} finished runs kept\n", results_path, results["runs"].size());
    }
    const auto finished = [&](uint64_t seed, const std::string &name) {
        for (const auto &r : results["runs"])
            if (r.at("seed") == seed && r.at("strategy") == name) return true;
        return false;
    };
    const auto save = [&] { write_file_atomic(results_path, results.dump(1) + "\n"); };

    // Planned work for the ETA (images x epochs; LwF's teacher pass and EWC's Fisher ignored).
    eta_clock clock;
    std::vector<cil_protocol> protocols;
    for (uint64_t seed : o.seeds) {
        protocol_params pp;
        pp.first_classes = o.first_classes;
        pp.steps = o.steps;
        pp.shuffle_classes = o.shuffle_classes;
        pp.seed = seed;
        protocols.push_back(make_protocol(int(d.classes.size()), pp));
        const cil_protocol &p = protocols.back();
        std::vector<double> n(p.experiences.size(), 0);
        for (size_t i = 0; i < d.samples.size(); ++i)
            if (in_parts(i))
                n[size_t(p.experience_of_output(p.output_of[size_t(d.samples[i].label)]))] += 1;
        if (!std::filesystem::exists(fmt::format("{}/base-seed{}.pt", o.out, seed)))
            clock.planned += n[0] * o.base_epochs;
        for (const auto &sp : specs) {
            if (finished(seed, sp.name)) continue;
            if (sp.kind == "joint") {
                double all = 0;
                for (double v : n) all += v;
                clock.planned += all * joint_epochs;
            } else {
                for (size_t t = 1; t < n.size(); ++t)
                    clock.planned +=
                        (n[t] + (sp.kind == "rehearsal"
                                     ? double(p.experiences[t].first_output) * o.memory_per_class
                                     : 0)) *
                        o.step_epochs;
            }
        }
    }

    for (size_t si = 0; si < o.seeds.size(); ++si) {
        const uint64_t seed = o.seeds[si];
        const cil_protocol &p = protocols[si];
        const int T = int(p.experiences.size());
        std::vector<std::vector<train_item>> train_items, test_items;
        for (int t = 0; t < T; ++t) {
            train_items.push_back(mapped_items(d, p, experience_samples(d, s, p, t, train_parts)));
            test_items.push_back(mapped_items(d, p, experience_samples(d, s, p, t, {part::test})));
            if (train_items.back().empty())
                throw std::runtime_error(fmt::format("experience {} has no training images", t));
        }
        accuracy_matrix shape;
        for (int t = 0; t < T; ++t) shape.test_count.push_back(int(test_items[size_t(t)].size()));

        bool any_left = false;
        for (const auto &sp : specs) any_left |= !finished(seed, sp.name);
        if (!any_left) continue;

        // The base model: experience 0 learned from scratch, shared by every strategy.
        const std::string base_path = fmt::format("{}/base-seed{}.pt", o.out, seed);
        const int n0 = p.experiences[0].num_outputs_after();
        folia_net base = make_model(n0, seed);
        nlohmann::json base_meta;
        const bool need_base =
            std::any_of(specs.begin(), specs.end(), [&](const strategy_spec &sp) {
                return sp.kind != "joint" && !finished(seed, sp.name);
            });
        if (need_base) {
            if (!load_checkpoint(base_path, base, nullptr, &base_meta)) {
                fmt::print(stderr,
                           "[seed {}] base: experience 0, {} classes, {} images, {} epochs\n", seed,
                           n0, train_items[0].size(), o.base_epochs);
                trainer t(base, images, make_train_config(o, o.base_epochs, o.lr, o.warmup, seed));
                const auto hist = t.fit(train_items[0], {});
                base_meta = {{"seed", seed}, {"seconds", 0.0}};
                double secs = 0;
                for (const auto &h : hist) secs += h.seconds;
                base_meta["seconds"] = secs;
                save_checkpoint(base_path, base, nullptr, base_meta);
                clock.done += double(train_items[0].size()) * o.base_epochs;
            }
            base_meta["test_acc_exp0"] = accuracy_on(base, images, test_items[0]);
            fmt::print(stderr, "[seed {}] base model: test accuracy on experience 0 {:.2f}%\n",
                       seed, 100 * double(base_meta["test_acc_exp0"]));
        }

        for (const auto &sp : specs) {
            if (finished(seed, sp.name)) continue;
            const auto run_start = std::chrono::steady_clock::now();
            nlohmann::json run = {{"seed", seed},
                                  {"strategy", sp.name},
                                  {"kind", sp.kind},
                                  {"class_order", p.class_order},
                                  {"test_count", shape.test_count}};
            accuracy_matrix m = shape;
            folia_net final_model{nullptr};
            if (sp.kind == "joint") {
                std::vector<train_item> all;
                for (const auto &v : train_items) all.insert(all.end(), v.begin(), v.end());
                const int n_all = p.experiences.back().num_outputs_after();
                fmt::print(stderr, "[seed {} | joint] {} classes, {} images, {} epochs\n", seed,
                           n_all, all.size(), joint_epochs);
                folia_net model = make_model(n_all, seed);
                trainer t(model, images, make_train_config(o, joint_epochs, o.lr, o.warmup, seed));
                t.fit(all, {});
                clock.done += double(all.size()) * joint_epochs;
                std::vector<double> row;
                for (int j = 0; j < T; ++j)
                    row.push_back(accuracy_on(model, images, test_items[size_t(j)]));
                // Joint learns everything in one step: one row, seen = all experiences.
                accuracy_matrix jm;
                jm.test_count = shape.test_count;
                double correct = 0, total = 0;
                for (int j = 0; j < T; ++j) {
                    correct += row[size_t(j)] * shape.test_count[size_t(j)];
                    total += shape.test_count[size_t(j)];
                }
                run["acc_per_experience"] = row;
                run["metrics"] = {{"final_acc", total > 0 ? correct / total : 0.0},
                                  {"final_acc_exp_mean", [&] {
                                       double a = 0;
                                       for (double v : row) a += v;
                                       return a / T;
                                   }()}};
                fmt::print(stderr,
                           "[seed {} | joint] test accuracy {:.2f}% | per experience {} | {}\n",
                           seed, 100 * double(run["metrics"]["final_acc"]), percent_list(row),
                           clock.line());
                final_model = model;
            } else {
                incremental_config cfg;
                cfg.train = make_train_config(o, o.step_epochs, o.step_lr, o.step_warmup, seed);
                cfg.lwf_alpha = o.lwf_alpha;
                cfg.lwf_temperature = o.lwf_temperature;
                cfg.ewc_lambda = o.ewc_lambda;
                cfg.fisher_samples = o.fisher_samples;
                cfg.fisher_batch = o.fisher_batch;
                cfg.memory_per_class = o.memory_per_class;
                cfg.selection = sp.selection;
                cfg.seed = seed;
                run["incremental_config"] = cfg.to_json();
                auto learner = make_learner(sp.kind, clone_model(base), images);
                new_data first{train_items[0], n0};
                learner->consolidate(first, cfg);  // EWC's Fisher / the rehearsal memory of exp 0
                m.add_step({double(base_meta["test_acc_exp0"])});
                nlohmann::json steps = nlohmann::json::array();
                for (int t = 1; t < T; ++t) {
                    const cil_experience &e = p.experiences[size_t(t)];
                    fmt::print(stderr,
                               "[seed {} | {}] step {}/{}: +{} classes ({} -> {} outputs), {} new "
                               "images, {} epochs\n",
                               seed, sp.name, t, T - 1, e.classes.size(), e.first_output,
                               e.num_outputs_after(), train_items[size_t(t)].size(), o.step_epochs);
                    const incremental_result r = learner->learn_incremental(
                        {train_items[size_t(t)], e.num_outputs_after()}, cfg);
                    clock.done += double(r.train_images) * o.step_epochs;
                    std::vector<double> row;
                    for (int j = 0; j <= t; ++j)
                        row.push_back(accuracy_on(learner->model(), images, test_items[size_t(j)]));
                    m.add_step(row);
                    const cl_metrics cm = compute_cl_metrics(m);
                    nlohmann::json sj = r.to_json();
                    sj["test_acc"] = row;
                    steps.push_back(sj);
                    fmt::print(stderr,
                               "[seed {} | {}] after step {}: ACC {:.2f}% | per experience {} | "
                               "forgetting {:.2f} | {}\n",
                               seed, sp.name, t, 100 * cm.acc.back(), percent_list(row),
                               100 * cm.stream_forgetting.back(), clock.line());
                }
                run["matrix"] = m.acc;
                run["metrics"] = compute_cl_metrics(m).to_json();
                run["steps"] = steps;
                final_model = learner->model();
            }
            run["seconds"] =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
            if (o.export_models) {
                model_file info;
                info.labels = p.labels(d, final_model->arch.num_classes);
                info.preprocess.input_size = images.size;
                info.meta_json = nlohmann::json({{"trainer", "folia-incremental"},
                                                 {"strategy", sp.name},
                                                 {"seed", seed},
                                                 {"config", config}})
                                     .dump();
                const std::string path =
                    fmt::format("{}/models/{}-seed{}.folia", o.out, sp.name, seed);
                export_model_file(final_model, info, path);
                run["model"] = path;
            }
            results["runs"].push_back(run);
            save();
        }
    }
    return results;
}

}  // namespace folia::train
