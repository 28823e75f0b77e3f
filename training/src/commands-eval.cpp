// commands-eval.cpp: eval and calibrate subcommands (LibTorch for the logits only).
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "calibration.h"
#include "checkpoint.h"
#include "metrics.h"
#include "workspace.h"
#include "file-io.h"

namespace folia::train {

namespace {

struct run_logits {
    std::vector<std::string> classes;
    std::vector<float> logits;  // (N, K)
    std::vector<int> labels;
    std::vector<int> domain;  // per image: index into domain_names
    std::vector<std::string> domain_names;
    int k = 0;
    nlohmann::json run;
    nlohmann::json ckpt_meta;
};

// Logits of the run's checkpoint on one split part, at the run's input size.
run_logits logits_on(const std::string &run_dir, const std::string &checkpoint, data_options data,
                     part which) {
    run_logits r;
    r.run = read_json_file(run_dir + "/run.json");
    data = run_data_options(r.run, data);
    workspace w = load_workspace(data, true);
    r.classes = r.run.at("classes").get<std::vector<std::string>>();
    if (r.classes != w.data.classes)
        throw std::runtime_error("the data folders' classes differ from the run's");
    r.domain_names = w.domain_names;
    const std::string ckpt = checkpoint.empty() ? run_dir + "/best.pt" : checkpoint;
    r.ckpt_meta = read_checkpoint_meta(ckpt);
    folia_net model(arch_from_json(r.ckpt_meta.at("arch")));
    load_checkpoint(ckpt, model, nullptr, nullptr);
    r.k = model->arch.num_classes;
    const std::vector<int> idx = w.split.indices({which});
    const size_t per = size_t(data.size) * data.size * 3;
    std::vector<uint8_t> u8(idx.size() * per);
    for (size_t i = 0; i < idx.size(); ++i) {
        std::memcpy(u8.data() + i * per, w.images.image(size_t(idx[i])), per);
        r.labels.push_back(w.data.samples[size_t(idx[i])].label);
        r.domain.push_back(w.domain[size_t(idx[i])]);
    }
    const torch::Tensor l = predict_logits(model, u8.data(), int64_t(idx.size()), data.size);
    r.logits.assign(l.data_ptr<float>(), l.data_ptr<float>() + l.numel());
    return r;
}

// Learning curves of a run and, if it was initialised from another run's checkpoint
// (progressive resizing), of that run first.
nlohmann::json learning_curves(const std::string &run_dir) {
    nlohmann::json stages = nlohmann::json::array();
    std::vector<std::string> dirs = {run_dir};
    for (int guard = 0; guard < 4; ++guard) {
        const nlohmann::json run = read_json_file(dirs.front() + "/run.json");
        const std::string init = run.value("init", "");
        if (init.empty()) break;
        dirs.insert(dirs.begin(), std::filesystem::path(init).parent_path().string());
    }
    for (const auto &d : dirs) {
        const std::string h = d + "/history.json";
        if (!std::filesystem::exists(h)) continue;
        const nlohmann::json hist = read_json_file(h);
        const nlohmann::json run = read_json_file(d + "/run.json");
        stages.push_back({{"run", d},
                          {"size", run.at("size")},
                          {"best_epoch", hist.at("best_epoch")},
                          {"epochs", hist.at("epochs")}});
    }
    return stages;
}

// The rows of one domain (data folder); domain -1: all rows.
run_logits rows_of(const run_logits &r, int domain) {
    if (domain < 0) return r;
    run_logits o;
    o.classes = r.classes;
    o.k = r.k;
    for (size_t i = 0; i < r.labels.size(); ++i) {
        if (r.domain[i] != domain) continue;
        o.labels.push_back(r.labels[i]);
        o.domain.push_back(domain);
        o.logits.insert(o.logits.end(), r.logits.begin() + long(i) * r.k,
                        r.logits.begin() + long(i + 1) * r.k);
    }
    return o;
}

// Metrics, and with a calibration its effect and the "not sure" rates, of some rows.
nlohmann::json report_rows(const run_logits &r, const nlohmann::json *cal,
                           const std::string &part_name) {
    nlohmann::json out;
    out["metrics"] = evaluate_logits(r.logits, r.labels, r.k).to_json(r.classes);
    if (!cal) return out;
    const double t = cal->at("temperature");
    const double thr = cal->at("abstain_threshold");
    const auto probs = softmax_rows(r.logits, r.k, t);
    const auto calibrated = evaluate_logits(r.logits, r.labels, r.k, t);
    out["calibration"] = {{"temperature", t},
                          {"ece_before", out["metrics"]["ece"]},
                          {"ece_after", calibrated.ece},
                          {"nll_before", out["metrics"]["nll"]},
                          {"nll_after", calibrated.nll},
                          {"abstain", abstain_rates(probs, r.labels, r.k, thr).to_json()}};
    out["reliability"] = {
        {"part", part_name},
        {"temperature", t},
        {"before", reliability_json(softmax_rows(r.logits, r.k, 1.0), r.labels, r.k)},
        {"after", reliability_json(probs, r.labels, r.k)}};
    return out;
}

}  // namespace

int cmd_eval(const eval_options &o) {
    const part which = parse_part(o.part);
    const run_logits r = logits_on(o.run, o.checkpoint, o.data, which);
    const std::string cal_path = o.run + "/calibration.json";
    nlohmann::json cal;
    if (std::filesystem::exists(cal_path)) cal = read_json_file(cal_path);
    const nlohmann::json *calp = cal.is_null() ? nullptr : &cal;
    nlohmann::json out = report_rows(r, calp, o.part);
    out["run"] = o.run;
    out["part"] = o.part;
    out["checkpoint_epoch"] = r.ckpt_meta.value("epoch", -1);
    if (r.domain_names.size() > 1) {
        // Per data folder (lab and field photos are reported apart).
        for (size_t d = 0; d < r.domain_names.size(); ++d)
            out["domains"][r.domain_names[d]] = report_rows(rows_of(r, int(d)), calp, o.part);
    }
    out["learning_curves"] = learning_curves(o.run);
    const std::string path = o.out.empty() ? o.run + "/eval-" + o.part + ".json" : o.out;
    write_file_atomic(path, out.dump(1) + "\n");
    const auto &m = out["metrics"];
    fmt::print("{} on {} ({} images): top-1 {:.2f}%, top-3 {:.2f}%, macro F1 {:.4f}, ECE {:.4f}\n",
               o.run, o.part, int(m["n"]), 100 * double(m["accuracy"]),
               100 * double(m["top3_accuracy"]), double(m["macro_f1"]), double(m["ece"]));
    if (out.contains("calibration")) {
        const auto &c = out["calibration"];
        fmt::print(
            "calibrated (T = {:.3f}): ECE {:.4f}; abstain below p = {:.3f} flags {:.1f}% of "
            "wrong and {:.1f}% of right answers\n",
            double(c["temperature"]), double(c["ece_after"]), double(c["abstain"]["threshold"]),
            100 * double(c["abstain"]["flagged_wrong_rate"]),
            100 * double(c["abstain"]["flagged_right_rate"]));
    }
    if (out.contains("domains")) {
        for (const auto &[name, d] : out["domains"].items()) {
            const auto &dm = d["metrics"];
            fmt::print("  {} ({} images): top-1 {:.2f}%, top-3 {:.2f}%", name, int(dm["n"]),
                       100 * double(dm["accuracy"]), 100 * double(dm["top3_accuracy"]));
            if (d.contains("calibration"))
                fmt::print("; not sure on {:.1f}% of wrong, {:.1f}% of right",
                           100 * double(d["calibration"]["abstain"]["flagged_wrong_rate"]),
                           100 * double(d["calibration"]["abstain"]["flagged_right_rate"]));
            fmt::print("\n");
        }
    }
    fmt::print("wrote {}\n", path);
    return 0;
}

int cmd_calibrate(const calibrate_options &o) {
    const run_logits r = logits_on(o.run, o.checkpoint, o.data, part::val);
    const double t = fit_temperature(r.logits, r.labels, r.k);
    const auto before = evaluate_logits(r.logits, r.labels, r.k, 1.0);
    const auto after = evaluate_logits(r.logits, r.labels, r.k, t);
    // The threshold may be chosen on one data folder's validation rows (the field photos, where
    // "not sure" matters); the temperature is always fitted on all of them.
    int dom = -1;
    if (!o.abstain_domain.empty()) {
        const auto it = std::find(r.domain_names.begin(), r.domain_names.end(), o.abstain_domain);
        if (it == r.domain_names.end())
            throw std::runtime_error("--abstain-domain '" + o.abstain_domain +
                                     "' is not one of the run's data folders");
        dom = int(it - r.domain_names.begin());
    }
    const run_logits ra = rows_of(r, dom);
    const auto probs = softmax_rows(ra.logits, ra.k, t);
    const abstain_choice a = choose_abstain_threshold(probs, ra.labels, ra.k, o.max_right_flagged);
    const nlohmann::json cal = {
        {"temperature", t},
        {"abstain_threshold", a.threshold},
        {"fitted_on", "val"},
        {"val_images", r.labels.size()},
        {"val_accuracy", before.accuracy},
        {"ece_before", before.ece},
        {"ece_after", after.ece},
        {"nll_before", before.nll},
        {"nll_after", after.nll},
        {"max_right_flagged", o.max_right_flagged},
        {"abstain_fitted_on", o.abstain_domain.empty() ? "val" : "val of " + o.abstain_domain},
        {"abstain", a.to_json()}};
    write_file_atomic(o.run + "/calibration.json", cal.dump(1) + "\n");
    fmt::print(
        "val ({} images, top-1 {:.2f}%): T = {:.4f}; NLL {:.4f} -> {:.4f}; ECE {:.4f} -> {:.4f}\n",
        r.labels.size(), 100 * before.accuracy, t, before.nll, after.nll, before.ece, after.ece);
    fmt::print(
        "abstain below p = {:.4f}: flags {:.1f}% of wrong ({}), {:.1f}% of right ({}) answers\n",
        a.threshold, 100 * a.flagged_wrong, a.wrong, 100 * a.flagged_right, a.right);
    fmt::print("wrote {}/calibration.json\n", o.run);
    if (!o.model.empty()) {
        const std::vector<uint8_t> bytes = read_file_bytes(o.model);
        model_file m;
        std::string err;
        if (parse_model_file(bytes.data(), bytes.size(), &m, &err) != FOLIA_OK)
            throw std::runtime_error("'" + o.model + "': " + err);
        m.calibration.temperature = float(t);
        m.calibration.abstain_threshold = float(a.threshold);
        std::vector<uint8_t> outb;
        if (write_model_file(m, &outb, &err) != FOLIA_OK) throw std::runtime_error(err);
        write_file_atomic(o.model, outb.data(), outb.size());
        fmt::print("updated the calibration section of {}\n", o.model);
    }
    return 0;
}

}  // namespace folia::train
