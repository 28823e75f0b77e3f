// ssl-sim.cpp: the stream simulation and the supervised baselines (LibTorch).
#include "ssl-sim.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "checkpoint.h"
#include "export.h"
#include "file-io.h"
#include "metrics.h"
#include "progress.h"
#include "split.h"
#include "ssl-common.h"
#include "ssl-loss.h"
#include "trainer.h"
#include "workspace.h"

namespace folia::train::ssl {

namespace fs = std::filesystem;

namespace {

// Epoch numbers handed to trainer::train_epoch during the stream phase (they seed the
// augmentation, the shuffle and dropout): offset so they never repeat pre-training's.
constexpr int k_stream_epoch_offset = 100000;

}  // namespace

namespace detail {

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

train_config make_train_config(const sup_config &c, uint64_t seed, const std::string &out_dir,
                               bool resume, bool progress) {
    train_config t = config_from_options(c);
    t.seed = seed;
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

void load_start_checkpoint(const std::string &path, folia_net &model, int size) {
    const fs::path res = fs::path(path).parent_path() / "results.json";
    if (fs::exists(res)) {
        const int trained = read_json_file(res.string()).at("data").at("size");
        if (trained != size)
            throw std::runtime_error(fmt::format(
                "--pretrained was trained at {} px, this run uses {} px", trained, size));
    }
    if (!load_checkpoint(path, model, nullptr, nullptr))
        throw std::runtime_error("--pretrained '" + path + "' does not exist");
}

}  // namespace detail

using namespace detail;

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

namespace {

// A finished SSL run that a student learns from: its results.json and its stream state.
struct teacher_run {
    nlohmann::json results;
    ssl_state state;
};

// Read before the data is loaded, so that a wrong --teacher fails at once.
teacher_run load_teacher(const std::string &dir) {
    const std::string res_path = dir + "/results.json", state_path = dir + "/state.pt";
    if (dir.empty() || !fs::exists(res_path) || !fs::exists(state_path))
        throw std::runtime_error("--teacher '" + dir +
                                 "' has no results.json and state.pt: pass a folia-ssl run folder");
    teacher_run t;
    t.results = read_json_file(res_path);
    if (t.results.value("kind", "") != "ssl" || !t.results.value("complete", false))
        throw std::runtime_error("--teacher: '" + res_path + "' is not a complete SSL run");
    t.state = ssl_state::from_json(read_checkpoint_meta(state_path).at("state"));
    return t;
}

// The teacher must have run on this data: same input size, classes and split.
void check_teacher(const teacher_run &t, const workspace &w) {
    const int size = t.results.at("data").at("size");
    if (size != w.images.size)
        throw std::runtime_error(
            fmt::format("--teacher ran at {} px, this run uses {} px", size, w.images.size));
    if (t.state.per_class.size() != w.data.classes.size())
        throw std::runtime_error(fmt::format("--teacher has {} classes, the data {}",
                                             t.state.per_class.size(), w.data.classes.size()));
    std::vector<char> in_stream(w.data.samples.size(), 0);
    for (int i : part_indices(w, part::stream)) in_stream[size_t(i)] = 1;
    for (const auto &p : t.state.accepted)
        if (p.image < 0 || size_t(p.image) >= in_stream.size() || !in_stream[size_t(p.image)])
            throw std::runtime_error(fmt::format(
                "--teacher pseudo-labelled image {}, which is not a stream image of this split",
                p.image));
}

// Where a student's pseudo-labels come from, and how its results JSON names the teacher.
struct student_source {
    std::vector<pseudo_label> pls;
    nlohmann::json teacher;   // results.json "teacher"
    nlohmann::json pretrain;  // the chain's supervised start, for the gain over the 20 % model
    std::string method;       // noisy-student or balanced-student
    std::string name;         // the teacher, for the progress line
};

student_source run_source(const student_options &o, const teacher_run &t) {
    const nlohmann::json &tr = t.results;
    return {student_pseudo_labels(t.state, o.min_confidence),
            {{"run", o.teacher},
             {"method", tr.value("method", "fixed-tau")},
             {"seed", tr.at("seed")},
             {"val_acc", tr.at("val_acc")},
             {"test_acc", tr.at("test_acc")}},
            tr.at("pretrain"),
            "noisy-student",
            o.teacher};
}

// A teacher's (or its ensemble's) eval-mode softmax on the clean cached images of the stream,
// validation and test parts; each (n, k) f32 row-major.
struct teacher_probs {
    std::vector<float> stream, val, test;
};

std::vector<float> softmax_of(folia_net &net, const workspace &w, const std::vector<int> &idx) {
    const torch::Tensor p = torch::softmax(logits_of(net, w.images, idx), 1).contiguous();
    return {p.data_ptr<float>(), p.data_ptr<float>() + p.numel()};
}

// The mean over the checkpoints (one: itself) of each part's softmax.
teacher_probs ensemble_probs(const std::vector<std::string> &models, const workspace &w,
                             uint64_t seed) {
    const int k = int(w.data.classes.size());
    std::vector<std::vector<float>> stream, val, test;
    for (const std::string &m : models) {
        folia_net net = make_model(k, seed);
        load_start_checkpoint(m, net, w.images.size);
        stream.push_back(softmax_of(net, w, part_indices(w, part::stream)));
        val.push_back(softmax_of(net, w, part_indices(w, part::val)));
        test.push_back(softmax_of(net, w, part_indices(w, part::test)));
    }
    return {mean_probabilities(stream), mean_probabilities(val), mean_probabilities(test)};
}

// Top-1 accuracy of (n, k) probabilities against the part's labels.
double accuracy_of_probs(const std::vector<float> &probs, const workspace &w, part p) {
    const std::vector<int> idx = part_indices(w, p);
    const auto c = make_candidates(probs, int(w.data.classes.size()), idx, labels_of(w, idx));
    const auto ok = std::count_if(c.begin(), c.end(),
                                  [](const candidate &x) { return x.pred == x.true_label; });
    return c.empty() ? 0.0 : double(ok) / double(c.size());
}

// A teacher checkpoint that is no student's is the chain's start itself: its own accuracy (not
// its ensemble's, when it has fellow members) is what the student's gain is measured from.
nlohmann::json own_start(const student_options &o, const workspace &w, const nlohmann::json &t) {
    double val_acc = t.at("val_acc"), test_acc = t.at("test_acc");
    if (!o.ensemble_with.empty()) {
        folia_net net = make_model(int(w.data.classes.size()), o.seed);
        load_start_checkpoint(o.teacher_model, net, w.images.size);
        val_acc = accuracy_of(net, w, part_indices(w, part::val));
        test_acc = accuracy_of(net, w, part_indices(w, part::test));
    }
    return {{"source", o.teacher_model}, {"val_acc", val_acc}, {"test_acc", test_acc}};
}

// --teacher-model (and --ensemble-with): the verdicts on every stream image, balanced per class.
student_source model_source(const student_options &o, const workspace &w) {
    const int k = int(w.data.classes.size());
    std::vector<std::string> models = {o.teacher_model};
    models.insert(models.end(), o.ensemble_with.begin(), o.ensemble_with.end());
    const teacher_probs tp = ensemble_probs(models, w, o.seed);
    const std::vector<int> stream = part_indices(w, part::stream);
    const auto cands = make_candidates(tp.stream, k, stream, labels_of(w, stream));
    const double val_acc = accuracy_of_probs(tp.val, w, part::val);
    const double test_acc = accuracy_of_probs(tp.test, w, part::test);
    // The checkpoint's run folder says what it is: a supervised baseline, or a student (whose
    // own start is then the chain's start).
    const fs::path res = fs::path(o.teacher_model).parent_path() / "results.json";
    const nlohmann::json tr =
        fs::exists(res) ? read_json_file(res.string()) : nlohmann::json::object();
    nlohmann::json teacher = {{"model", o.teacher_model},
                              {"method", tr.value("method", tr.value("kind", "model"))},
                              {"per_class", o.top_per_class},
                              {"val_acc", val_acc},
                              {"test_acc", test_acc}};
    if (!o.ensemble_with.empty()) teacher["ensemble_with"] = o.ensemble_with;
    if (tr.contains("seed")) teacher["seed"] = tr["seed"];
    return {balanced_pseudo_labels(cands, k, o.top_per_class, o.min_confidence), teacher,
            tr.contains("pretrain") ? tr["pretrain"] : own_start(o, w, teacher), "balanced-student",
            o.teacher_model};
}

// The student's results JSON (the fields plot-ssl.py's methods table reads, as run_ssl's).
nlohmann::json student_json(const student_options &o, const workspace &w, const student_source &src,
                            size_t train_images, const std::vector<epoch_record> &hist,
                            double val_acc, double test_acc, double seconds) {
    const std::vector<pseudo_label> &pls = src.pls;
    const size_t labeled = part_indices(w, part::labeled).size();
    const int pool = int(labeled + part_indices(w, part::stream).size());
    nlohmann::json h = nlohmann::json::array(), per_class = nlohmann::json::object();
    for (const auto &r : hist) h.push_back(r.to_json());
    const std::vector<int> per = per_class_counts(pls, int(w.data.classes.size()));
    for (size_t c = 0; c < per.size(); ++c) per_class[w.data.classes[c]] = per[c];
    return {{"kind", "ssl"},
            {"method", src.method},
            {"complete", true},
            {"selection", "best validation epoch"},
            {"command", o.command},
            {"seed", o.seed},
            {"teacher", src.teacher},
            {"lambda", o.lambda},
            {"min_confidence", o.min_confidence},
            {"config", o.cfg.to_json()},
            {"data", data_json(w, o.data)},
            {"labeled_images", labeled},
            {"train_images", train_images},
            {"pool", pool},
            {"pretrain", src.pretrain},
            {"final",
             {{"accepted_used", pls.size()},
              {"precision_used", precision(pls)},
              {"accepted_per_class", per_class},
              {"utilisation", utilisation(int(labeled), int(pls.size()), pool)}}},
            {"val_acc", val_acc},
            {"test_acc", test_acc},
            {"epochs_run", hist.size()},
            {"history", h},
            {"seconds", seconds}};
}

void check_student_options(const student_options &o) {
    if (!(o.lambda >= 0)) throw std::invalid_argument("--lambda must be >= 0");
    if (!(o.min_confidence >= 0 && o.min_confidence <= 1))
        throw std::invalid_argument("--min-confidence must be in [0, 1]");
    if (o.teacher.empty() == o.teacher_model.empty())
        throw std::invalid_argument(
            "pass one of --teacher (an SSL run folder) and --teacher-model (a checkpoint)");
    if (o.top_per_class < 0)
        throw std::invalid_argument("--top-per-class must be >= 0 (0: every image)");
    if (o.top_per_class != 0 && o.teacher_model.empty())
        throw std::invalid_argument("--top-per-class needs --teacher-model");
    if (!o.teacher_model.empty() && !fs::exists(o.teacher_model))
        throw std::runtime_error("--teacher-model '" + o.teacher_model + "' does not exist");
    if (!o.ensemble_with.empty() && o.teacher_model.empty())
        throw std::invalid_argument("--ensemble-with needs --teacher-model");
    for (const std::string &m : o.ensemble_with)
        if (!fs::exists(m)) throw std::runtime_error("--ensemble-with '" + m + "' does not exist");
}

}  // namespace

nlohmann::json run_student(const student_options &o, const workspace *given) {
    check_student_options(o);
    const auto t0 = clock_type::now();
    std::optional<teacher_run> teacher;
    if (!o.teacher.empty()) teacher = load_teacher(o.teacher);  // before the data: fails at once
    loaded_workspace lw;
    load(lw, o.data, given);
    const workspace &w = *lw.w;
    if (teacher) check_teacher(*teacher, w);
    const student_source src = teacher ? run_source(o, *teacher) : model_source(o, w);
    const std::vector<int> labeled = part_indices(w, part::labeled);
    const std::vector<int> val = part_indices(w, part::val), test = part_indices(w, part::test);
    const std::vector<train_item> labeled_items = items_for(w.data, labeled);
    std::vector<train_item> items = labeled_items;
    for (const auto &p : src.pls) items.push_back({p.image, p.label, p.confidence, 1});
    fmt::print(stderr,
               "{} of {}: {} labeled + {} pseudo-labels (precision {:.1f} %), val {}, test {}\n",
               src.method, src.name, labeled.size(), src.pls.size(), 100 * precision(src.pls),
               val.size(), test.size());

    fs::create_directories(o.out);
    folia_net model = make_model(int(w.data.classes.size()), o.seed);
    trainer t(model, w.images, make_train_config(o.cfg, o.seed, o.out, o.resume, o.progress));
    torch::Tensor class_w;  // undefined = plain cross-entropy on the labeled items
    if (o.cfg.weighting != "none") class_w = t.class_weights_for(labeled_items);
    t.set_loss([&](const loss_context &c) {
        return ssl_loss(c.logits, c.batch.y, c.batch.weight, c.batch.source, o.lambda, class_w)
            .total;
    });
    const auto hist = t.fit(items, items_for(w.data, val));
    // fit() leaves the best weights (by validation accuracy) in the model.
    const double val_acc = accuracy_of(model, w, val), test_acc = accuracy_of(model, w, test);
    const nlohmann::json res =
        student_json(o, w, src, items.size(), hist, val_acc, test_acc, seconds_since(t0));
    write_file_atomic(o.out + "/results.json", res.dump(1) + "\n");
    if (!o.export_model.empty())
        export_to(model, w,
                  {{"trainer", "folia-ssl student"}, {"val_acc", val_acc}, {"seed", o.seed}},
                  o.export_model);
    fmt::print(stderr, "student: val acc {:.2f} %, test acc {:.2f} % ({} epochs, {})\n",
               100 * val_acc, 100 * test_acc, hist.size(), format_duration(seconds_since(t0)));
    return res;
}

namespace {

// One run_ssl call: the data, the model and its retrain trainer, the stream state, and the
// figures the progress lines and the results JSON report.
struct ssl_run {
    ssl_run(const sim_options &options, const workspace &ws);
    double elapsed() const { return elapsed_before + seconds_since(run_start); }

    const sim_options &o;
    const workspace &w;
    const int k;  // classes
    const std::vector<int> labeled, val, test;
    const int pool;  // labeled + stream images
    const std::string state_path, results_path;
    folia_net model;
    trainer t;  // the retrains: constant LR, o.ssl.retrain_epochs epochs, no early stopping
    const std::vector<train_item> labeled_items;
    torch::Tensor class_w;  // L_labeled's class weights; undefined = plain cross-entropy
    ssl_state st;
    nlohmann::json pre_info;    // the supervised start: source, val/test accuracy, seconds
    double elapsed_before = 0;  // seconds the run took before a --resume
    clock_type::time_point run_start = clock_type::now();
    double current_val = 0;  // validation accuracy of the model now
    // The loss of the epoch being trained (lambda * ramp(t)) and its running sums.
    double scale = 0, sum_lab = 0, sum_pse = 0, n_steps = 0;
    double pass_seconds = 0, passes_done = 0;  // retrain image passes, for the ETA
    std::vector<int64_t> control_steps;        // control runs: optimiser steps per round
    bool control() const { return !o.control_of.empty(); }
};

train_config retrain_config(const sim_options &o) {
    train_config c = make_train_config(o.pre, o.seed, "", false, false);
    c.schedule = "constant";
    c.lr = o.retrain_lr;
    c.epochs = o.ssl.retrain_epochs;
    c.patience = 0;
    return c;
}

ssl_run::ssl_run(const sim_options &options, const workspace &ws)
    : o(options),
      w(ws),
      k(int(w.data.classes.size())),
      labeled(part_indices(w, part::labeled)),
      val(part_indices(w, part::val)),
      test(part_indices(w, part::test)),
      pool(int(labeled.size() + part_indices(w, part::stream).size())),
      state_path(o.out + "/state.pt"),
      results_path(o.out + "/results.json"),
      model(make_model(k, o.seed)),
      t(model, w.images, retrain_config(o)),
      labeled_items(items_for(w.data, labeled)) {
    if (o.pre.weighting != "none") class_w = t.class_weights_for(labeled_items);
}

// --resume: model, Adam and stream state from <out>/state.pt; false when there is none.
bool resume_run(ssl_run &r) {
    nlohmann::json meta;
    if (!r.o.resume || !load_checkpoint(r.state_path, r.model, &r.t.optimizer(), &meta))
        return false;
    const ssl_params saved = ssl_params::from_json(meta.at("ssl"));
    if (saved.to_json() != r.o.ssl.to_json())
        throw std::runtime_error("--resume: the checkpoint was made with other SSL settings " +
                                 saved.to_json().dump() + "; pass the same flags");
    if (meta.at("seed").get<uint64_t>() != r.o.seed)
        throw std::runtime_error("--resume: the checkpoint was made with another --seed");
    r.st = ssl_state::from_json(meta.at("state"));
    if (int(r.st.per_class.size()) != r.k)
        throw std::runtime_error("--resume: the checkpoint has another class count");
    r.pre_info = meta.at("pretrain");
    r.elapsed_before = meta.at("elapsed");
    fmt::print(stderr, "resumed {} at day {} (round {}, {} pseudo-labels accepted)\n", r.state_path,
               r.st.day, r.st.round, r.st.accepted.size());
    return true;
}

// --pretrained: the starting weights from a checkpoint trained at the same input size.
void load_pretrained(ssl_run &r) {
    load_start_checkpoint(r.o.pretrained, r.model, r.w.images.size);
    r.pre_info["source"] = r.o.pretrained;
}

// A fresh run: the seeded stream order, then the supervised start (--pretrained, or
// pre-training on the labeled pool, resumable in <out>/pretrain).
void start_run(ssl_run &r, const std::vector<int> &stream_idx) {
    const sim_options &o = r.o;
    r.st = make_state(stream_idx, r.k, o.seed);
    if (o.max_days > 0)
        r.st.stream.resize(
            std::min(r.st.stream.size(), size_t(o.max_days) * size_t(o.ssl.images_per_day)));
    const auto tp = clock_type::now();
    if (!o.pretrained.empty()) {
        load_pretrained(r);
    } else {
        fmt::print(stderr, "pre-training on {} labeled images, validating on {}\n",
                   r.labeled.size(), r.val.size());
        const train_config pcfg =
            make_train_config(o.pre, o.seed, o.out + "/pretrain", o.resume, o.progress);
        trainer pt(r.model, r.w.images, pcfg);
        const auto hist = pt.fit(r.labeled_items, items_for(r.w.data, r.val));
        r.pre_info["source"] = "trained";
        r.pre_info["epochs_run"] = hist.size();
        r.pre_info["config"] = o.pre.to_json();
    }
    r.pre_info["val_acc"] = accuracy_of(r.model, r.w, r.val);
    r.pre_info["test_acc"] = accuracy_of(r.model, r.w, r.test);
    r.pre_info["seconds"] = seconds_since(tp);
    fmt::print(stderr, "supervised start: val acc {:.2f} %, test acc {:.2f} %\n",
               100 * r.pre_info["val_acc"].get<double>(),
               100 * r.pre_info["test_acc"].get<double>());
}

nlohmann::json final_json(const ssl_run &r) {
    const ssl_state &st = r.st;
    const std::vector<int> per = accepted_per_class(st, r.k);
    nlohmann::json per_class = nlohmann::json::object();
    for (int c = 0; c < r.k; ++c) per_class[r.w.data.classes[size_t(c)]] = per[size_t(c)];
    int max_per_class = 0;
    for (int v : per) max_per_class = std::max(max_per_class, v);
    const bool none = st.rounds.empty();
    // The selection rule (ssl-sim.h): the best validation accuracy over the start and the rounds.
    int best = 0;
    double best_val = r.pre_info.value("val_acc", 0.0),
           best_test = r.pre_info.value("test_acc", 0.0);
    for (const auto &x : st.rounds)
        if (x.val_acc > best_val) {
            best = x.round;
            best_val = x.val_acc;
            best_test = x.test_acc;
        }
    return {{"val_acc", none ? r.pre_info.value("val_acc", 0.0) : st.rounds.back().val_acc},
            {"test_acc", none ? r.pre_info.value("test_acc", 0.0) : st.rounds.back().test_acc},
            {"best_round", best},
            {"best_val_acc", best_val},
            {"best_test_acc", best_test},
            {"day", st.day},
            {"days_total", st.days_total(r.o.ssl.images_per_day)},
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
            {"utilisation", utilisation(int(r.labeled.size()), int(st.accepted.size()), r.pool)}};
}

// The results JSON ("complete": false at every checkpoint, true at the end).
nlohmann::json results_json(const ssl_run &r, bool complete) {
    nlohmann::json days = nlohmann::json::array(), rounds = nlohmann::json::array();
    for (const auto &d : r.st.days) days.push_back(d.to_json());
    for (const auto &x : r.st.rounds) rounds.push_back(x.to_json());
    const sim_options &o = r.o;
    const nlohmann::json f = final_json(r);
    return {{"kind", r.control() ? "control" : "ssl"},
            {"method", r.control() ? "control" : o.ssl.method},
            {"complete", complete},
            {"selection", "best validation accuracy over the start (round 0) and the rounds"},
            {"val_acc", f["best_val_acc"]},
            {"test_acc", f["best_test_acc"]},
            {"last_val_acc", f["val_acc"]},
            {"last_test_acc", f["test_acc"]},
            {"control_of", o.control_of},
            {"command", o.command},
            {"seed", o.seed},
            {"ssl", o.ssl.to_json()},
            {"retrain_lr", o.retrain_lr},
            {"pretrain_config", o.pre.to_json()},
            {"max_days", o.max_days},
            {"data", data_json(r.w, o.data)},
            {"labeled_images", r.labeled.size()},
            {"stream_images", r.st.stream.size()},
            {"pool", r.pool},
            {"pretrain", r.pre_info},
            {"days", days},
            {"rounds", rounds},
            {"final", f},
            {"seconds", r.elapsed()}};
}

// <out>/state.pt (model, Adam, stream state) and <out>/results.json, atomically.
void checkpoint(ssl_run &r) {
    const nlohmann::json m = {{"ssl", r.o.ssl.to_json()},
                              {"seed", r.o.seed},
                              {"state", r.st.to_json()},
                              {"pretrain", r.pre_info},
                              {"elapsed", r.elapsed()}};
    save_checkpoint(r.state_path, r.model, &r.t.optimizer(), m);
    write_file_atomic(r.results_path, results_json(r, false).dump(1) + "\n");
}

// The retrains' loss: CE on the labeled items + r.scale * weighted CE on the pseudo-labels.
void install_ssl_loss(ssl_run &r) {
    r.t.set_loss([&r](const loss_context &c) {
        const ssl_loss_terms l =
            ssl_loss(c.logits, c.batch.y, c.batch.weight, c.batch.source, r.scale, r.class_w);
        r.sum_lab += l.labeled.item<double>();
        r.sum_pse += l.pseudo.item<double>();
        r.n_steps += 1;
        return l.total;
    });
}

// One simulated day: its images pseudo-labelled by the model now; true when a retrain is due.
bool simulate_day(ssl_run &r, int days_total) {
    const sim_options &o = r.o;
    ssl_state &st = r.st;
    const std::vector<int> imgs = next_day_images(st, o.ssl);
    const torch::Tensor probs =
        torch::softmax(logits_of(r.model, r.w.images, imgs), 1).contiguous();
    const std::vector<float> p(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    const day_record d =
        ingest_day(st, o.ssl, make_candidates(p, r.k, imgs, labels_of(r.w, imgs)), r.current_val);
    const bool retrain = retrain_due(st, o.ssl);
    const double eta_s = r.passes_done > 0 ? remaining_passes(st, o.ssl, int(r.labeled.size())) *
                                                 r.pass_seconds / r.passes_done
                                           : -1;
    if (o.progress)
        fmt::print(stderr,
                   "day {:>3}/{} | buffer {:>3}/{} | accepted {} rejected {} (below tau {}, "
                   "capped {}) | pseudo precision {:.1f} % | val acc {:.2f} % | ETA {}{}\n",
                   d.day, days_total, d.buffer, o.ssl.retrain_threshold, st.n_accepted,
                   st.below_tau + st.capped, st.below_tau, st.capped, 100 * d.precision_total,
                   100 * r.current_val, eta_s >= 0 ? format_duration(eta_s) : "(after 1st retrain)",
                   retrain ? " -> retrain" : "");
    if (o.progress)
        emit_progress("day", {{"day", d.day},
                              {"days", days_total},
                              {"arrived", d.arrived},
                              {"accepted", d.accepted},
                              {"correct", d.correct},
                              {"day_precision", d.accepted ? double(d.correct) / d.accepted : 0.0},
                              {"buffer", d.buffer},
                              {"accepted_total", d.accepted_total},
                              {"precision", d.precision_total},
                              {"val_acc", r.current_val},
                              {"retrain", retrain},
                              {"eta_s", eta_s}});
    return retrain;
}

// A round's end, SSL or control: the model's accuracy on validation and test, the time taken.
void evaluate_round(ssl_run &r, round_record &rr, clock_type::time_point started) {
    rr.val_acc = r.current_val = accuracy_of(r.model, r.w, r.val);
    rr.test_acc = accuracy_of(r.model, r.w, r.test);
    rr.seconds = seconds_since(started);
}

// The round goes into the state and the state to disk (a kill after this resumes past it).
void record_round(ssl_run &r, const round_record &rr) {
    r.st.round = rr.round;
    r.st.rounds.push_back(rr);
    checkpoint(r);
}

// A retrain: the buffer joins the accepted pseudo-labels, o.ssl.retrain_epochs epochs on
// labeled + accepted, evaluation, checkpoint.
void retrain_round(ssl_run &r) {
    const sim_options &o = r.o;
    ssl_state &st = r.st;
    st.days.back().retrained = true;
    const auto tr = clock_type::now();
    round_record rr;
    rr.round = st.round + 1;
    rr.day = st.day;
    rr.new_precision = precision(st.buffer);
    rr.new_labels = commit_buffer(st);
    rr.accepted_total = int(st.accepted.size());
    rr.precision_total = precision(st.accepted);
    std::vector<train_item> items = r.labeled_items;
    for (const auto &pl : st.accepted) items.push_back({pl.image, pl.label, pl.confidence, 1});
    rr.train_items = int(items.size());
    for (int e = 0; e < o.ssl.retrain_epochs; ++e) {
        r.scale = o.ssl.lambda * ramp(ramp_t(o.ssl, st.ssl_epochs, e), o.ssl.ramp_epochs);
        if (e == 0) rr.ramp_first = r.scale;
        rr.ramp_last = r.scale;
        r.sum_lab = r.sum_pse = r.n_steps = 0;
        const epoch_record er = r.t.train_epoch(items, k_stream_epoch_offset + st.ssl_epochs);
        ++st.ssl_epochs;
        rr.loss = er.train_loss;
        r.passes_done += double(items.size());
        if (o.progress)
            fmt::print(stderr,
                       "  round {} epoch {}/{}: {} items ({} labeled + {} pseudo), "
                       "lambda*ramp {:.2f}, L_labeled {:.3f}, L_pseudo {:.3f}, {:.0f} img/s\n",
                       rr.round, e + 1, o.ssl.retrain_epochs, items.size(), r.labeled.size(),
                       st.accepted.size(), r.scale, r.n_steps ? r.sum_lab / r.n_steps : 0.0,
                       r.n_steps ? r.sum_pse / r.n_steps : 0.0, er.images_per_s);
    }
    evaluate_round(r, rr, tr);
    r.pass_seconds += rr.seconds;
    record_round(r, rr);
    if (o.progress)
        fmt::print(stderr,
                   "round {} (day {}): +{} pseudo-labels (precision {:.1f} %), {} in use, "
                   "val acc {:.2f} %, test acc {:.2f} %, {}; checkpoint {}\n",
                   rr.round, rr.day, rr.new_labels, 100 * rr.new_precision, rr.accepted_total,
                   100 * rr.val_acc, 100 * rr.test_acc, format_duration(rr.seconds), r.state_path);
    if (o.progress)
        emit_progress("round", {{"round", rr.round},
                                {"day", rr.day},
                                {"new_labels", rr.new_labels},
                                {"new_precision", rr.new_precision},
                                {"accepted", rr.accepted_total},
                                {"precision", rr.precision_total},
                                {"loss", rr.loss},
                                {"val_acc", rr.val_acc},
                                {"test_acc", rr.test_acc},
                                {"seconds", rr.seconds}});
}

// A control round: the steps the SSL run's round took, on the labeled images only, in whole
// shuffled epochs over them and a last partial one (a seeded subset), each a distinct epoch
// number so that shuffles and augmentation never repeat.
void control_round(ssl_run &r, int64_t steps) {
    const sim_options &o = r.o;
    ssl_state &st = r.st;
    const auto tr = clock_type::now();
    round_record rr;
    rr.round = st.round + 1;
    const int64_t bs = o.pre.batch, per_epoch = int64_t(r.labeled_items.size()) / bs;
    if (per_epoch < 1) throw std::runtime_error("control: fewer labeled images than one batch");
    r.scale = 0;
    for (int64_t left = steps; left > 0;) {
        // train_epoch drops a last partial batch, so a whole epoch is per_epoch steps.
        const int64_t now = std::min(left, per_epoch);
        std::vector<train_item> items = r.labeled_items;
        if (now < per_epoch) {
            splitmix64 rng(mix_seeds(o.seed, 0xC047201ull + uint64_t(st.ssl_epochs)));
            for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
            items.resize(size_t(now * bs));
        }
        const epoch_record er = r.t.train_epoch(items, k_stream_epoch_offset + st.ssl_epochs);
        ++st.ssl_epochs;
        left -= now;
        rr.loss = er.train_loss;
        rr.train_items += int(now * bs);  // images the optimiser saw
    }
    evaluate_round(r, rr, tr);
    record_round(r, rr);
    if (o.progress)
        fmt::print(stderr,
                   "control round {}/{}: {} steps on labeled images, val acc {:.2f} %, "
                   "test acc {:.2f} %, {}\n",
                   rr.round, r.control_steps.size(), steps, 100 * rr.val_acc, 100 * rr.test_acc,
                   format_duration(rr.seconds));
}

// The stream's end: the complete results JSON, the exported model, a summary line.
nlohmann::json finish_run(ssl_run &r) {
    const sim_options &o = r.o;
    nlohmann::json res = results_json(r, true);
    write_file_atomic(r.results_path, res.dump(1) + "\n");
    if (!o.export_model.empty())
        export_to(r.model, r.w,
                  {{"trainer", "folia-ssl run"},
                   {"ssl", o.ssl.to_json()},
                   {"val_acc", res["final"]["val_acc"]},
                   {"seed", o.seed}},
                  o.export_model);
    fmt::print(stderr,
               "SSL done: {} days, {} retrains, {} pseudo-labels (precision {:.1f} %), "
               "val acc {:.2f} % -> {:.2f} %, test acc {:.2f} % -> {:.2f} %, {}\n",
               r.st.day, r.st.round, r.st.accepted.size(), 100 * precision(r.st.accepted),
               100 * r.pre_info.value("val_acc", 0.0), 100 * res["final"]["val_acc"].get<double>(),
               100 * r.pre_info.value("test_acc", 0.0),
               100 * res["final"]["test_acc"].get<double>(),
               format_duration(res["seconds"].get<double>()));
    return res;
}

}  // namespace

nlohmann::json run_ssl(const sim_options &o, const workspace *given) {
    o.ssl.validate();
    if (!o.resume && !o.overwrite && fs::exists(o.out + "/state.pt"))
        throw std::runtime_error("'" + o.out +
                                 "/state.pt' exists: pass --resume to continue it or "
                                 "--overwrite to start again");
    loaded_workspace lw;
    load(lw, o.data, given);
    const std::vector<int> stream_idx = part_indices(*lw.w, part::stream);
    if (part_indices(*lw.w, part::labeled).empty() || stream_idx.empty())
        throw std::runtime_error("ssl: the split has no labeled or no stream images");
    fs::create_directories(o.out);
    ssl_run r(o, *lw.w);
    if (r.control()) r.control_steps = control_schedule(read_json_file(o.control_of));
    const bool resumed = resume_run(r);
    if (!resumed) start_run(r, stream_idx);
    r.run_start = clock_type::now();
    if (!resumed) checkpoint(r);  // after pre-training: round 0
    r.current_val =
        r.st.rounds.empty() ? r.pre_info.value("val_acc", 0.0) : r.st.rounds.back().val_acc;
    install_ssl_loss(r);
    if (r.control()) {
        while (size_t(r.st.round) < r.control_steps.size())
            control_round(r, r.control_steps[size_t(r.st.round)]);
        return finish_run(r);
    }
    const int days_total = r.st.days_total(o.ssl.images_per_day);
    while (!r.st.exhausted()) {
        if (o.stop_after_days > 0 && r.st.day >= o.stop_after_days) {
            fmt::print(stderr,
                       "stopped after day {} as asked (--stop-after-days); the last checkpoint "
                       "is round {}\n",
                       r.st.day, r.st.round);
            return results_json(r, false);
        }
        if (simulate_day(r, days_total)) retrain_round(r);
    }
    return finish_run(r);
}

std::vector<int64_t> control_schedule(const nlohmann::json &res) {
    if (res.value("kind", "") != "ssl" || !res.value("complete", false))
        throw std::runtime_error("--control needs a complete SSL run's results.json");
    const int64_t bs = res.at("pretrain_config").at("batch");
    const int64_t epochs = res.at("ssl").at("retrain_epochs");
    std::vector<int64_t> steps;
    for (const auto &x : res.at("rounds")) {
        const int64_t n = x.at("train_items");
        steps.push_back(epochs * (n >= bs ? n / bs : (n >= 2 ? 1 : 0)));
    }
    if (steps.empty()) throw std::runtime_error("--control: that SSL run made no retrain");
    return steps;
}

void export_ssl_state(const std::string &run_dir, const data_options &d, const std::string &out) {
    const std::string state = run_dir + "/state.pt";
    const nlohmann::json res = read_json_file(run_dir + "/results.json");
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
