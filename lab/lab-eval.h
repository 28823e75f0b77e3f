// lab-eval.h: a model evaluated on a labelled folder (<dir>/<label>/<photo>): the figures the
// Evaluate and Compare panels draw. Runs on a worker; the UI reads a copy under the mutex.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace folia_lab {

constexpr int k_conf_bins = 10;  // confidence histograms and the reliability diagram

struct eval_result {
    int classes = 0;
    std::vector<std::string> labels;  // the model's
    int images = 0, correct = 0, not_sure = 0, not_sure_right = 0, not_sure_wrong = 0;
    int skipped = 0;  // photos whose folder names no class of the model, or refused photos
    std::vector<int> confusion;               // (classes, classes) row = true, column = predicted
    std::vector<int> hist_right, hist_wrong;  // (k_conf_bins) top-1 p of right / wrong answers
    std::vector<double> bin_conf, bin_acc;    // (k_conf_bins) mean p and accuracy per bin
    std::vector<int> bin_count;               // (k_conf_bins)
    std::vector<int> per_class_total, per_class_right;  // (classes)
    std::vector<int> predictions;                       // per photo in listing order (-1: skipped)
    double ece = 0, seconds = 0;
    double accuracy() const { return images ? double(correct) / images : 0; }
    double not_sure_rate() const { return images ? double(not_sure) / images : 0; }
};
nlohmann::json eval_json(const eval_result &r);

struct eval_job {
    std::string model_path, data_dir;
    int per_class = 20;
    std::atomic<int> done{0}, total{0};
    std::atomic<bool> cancel{false};
    std::mutex mutex;
    bool running = false, finished = false;
    std::string error;
    eval_result result;
};

// Lists the folder, loads the model and classifies every photo (on the calling thread: the
// panels call it through platform_run_async).
void run_evaluation(eval_job &job);

}  // namespace folia_lab
