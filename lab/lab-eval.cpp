// lab-eval.cpp: a model on a labelled folder: confusion matrix, confidence histograms of right
// and wrong answers, reliability bins (ECE), per-class accuracy, "not sure" rates.
#include "lab-eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "lab-state.h"

namespace folia_lab {

namespace {

void init_result(eval_result &r, const loaded_model &m) {
    r = eval_result();
    r.classes = m.classes;
    r.labels = m.labels;
    r.confusion.assign(size_t(m.classes) * size_t(m.classes), 0);
    r.hist_right.assign(k_conf_bins, 0);
    r.hist_wrong.assign(k_conf_bins, 0);
    r.bin_conf.assign(k_conf_bins, 0);
    r.bin_acc.assign(k_conf_bins, 0);
    r.bin_count.assign(k_conf_bins, 0);
    r.per_class_total.assign(size_t(m.classes), 0);
    r.per_class_right.assign(size_t(m.classes), 0);
}

// One answer: the photo's true class y, the model's top-1 and its calibrated p.
void add_answer(eval_result &r, int y, int pred, float p, float threshold) {
    const bool right = pred == y;
    const int bin = std::clamp(int(p * k_conf_bins), 0, k_conf_bins - 1);
    ++r.images;
    r.correct += right;
    r.confusion[size_t(y) * size_t(r.classes) + size_t(pred)]++;
    (right ? r.hist_right : r.hist_wrong)[size_t(bin)]++;
    r.bin_conf[size_t(bin)] += p;
    r.bin_acc[size_t(bin)] += right;
    r.bin_count[size_t(bin)]++;
    r.per_class_total[size_t(y)]++;
    r.per_class_right[size_t(y)] += right;
    if (p < threshold) {
        ++r.not_sure;
        (right ? r.not_sure_right : r.not_sure_wrong)++;
    }
}

// Sums to means, and the expected calibration error sum_b n_b / N |acc_b - conf_b|.
void finish_result(eval_result &r) {
    r.ece = 0;
    for (int b = 0; b < k_conf_bins; ++b) {
        const int n = r.bin_count[size_t(b)];
        if (n == 0) continue;
        r.bin_conf[size_t(b)] /= n;
        r.bin_acc[size_t(b)] /= n;
        r.ece += double(n) / r.images * std::abs(r.bin_acc[size_t(b)] - r.bin_conf[size_t(b)]);
    }
}

}  // namespace

nlohmann::json eval_json(const eval_result &r) {
    nlohmann::json per_class = nlohmann::json::object();
    for (int c = 0; c < r.classes; ++c)
        if (r.per_class_total[size_t(c)] > 0)
            per_class[r.labels[size_t(c)]] =
                double(r.per_class_right[size_t(c)]) / r.per_class_total[size_t(c)];
    return {{"classes", r.classes},
            {"images", r.images},
            {"correct", r.correct},
            {"accuracy", r.accuracy()},
            {"not_sure_rate", r.not_sure_rate()},
            {"not_sure_right", r.not_sure_right},
            {"not_sure_wrong", r.not_sure_wrong},
            {"skipped", r.skipped},
            {"ece", r.ece},
            {"hist_right", r.hist_right},
            {"hist_wrong", r.hist_wrong},
            {"per_class_accuracy", per_class},
            {"seconds", r.seconds}};
}

void run_evaluation(eval_job &job) {
    const auto t0 = std::chrono::steady_clock::now();
    auto fail = [&](const std::string &e) {
        std::lock_guard<std::mutex> lock(job.mutex);
        job.error = e;
        job.running = false;
        job.finished = true;
    };
    std::vector<labelled_image> photos;
    std::string error;
    if (!platform_list_labelled_images(job.data_dir, job.per_class, &photos, &error))
        return fail(error);
    loaded_model m;
    if (!load_model(job.model_path, 1, &m, &error)) return fail(error);
    std::map<std::string, int> index;
    for (int c = 0; c < m.classes; ++c) index[m.labels[size_t(c)]] = c;
    eval_result r;
    init_result(r, m);
    job.total = int(photos.size());
    std::vector<float> probs(size_t(m.classes));
    std::vector<uint8_t> bytes;
    for (const labelled_image &ph : photos) {
        if (job.cancel) return fail("cancelled");
        const auto it = index.find(ph.label);
        int pred = -1;
        if (it != index.end() && platform_read_file(ph.path, &bytes, &error) &&
            folia_classify_image(m.ctx.get(), bytes.data(), bytes.size(), probs.data()) ==
                FOLIA_OK) {
            pred = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
            add_answer(r, it->second, pred, probs[size_t(pred)], m.abstain_threshold);
        } else {
            ++r.skipped;
        }
        r.predictions.push_back(pred);
        ++job.done;
    }
    finish_result(r);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(job.mutex);
    job.result = std::move(r);
    job.running = false;
    job.finished = true;
}

}  // namespace folia_lab
