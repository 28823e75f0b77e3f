// ssl-common.h: helpers shared by the folia-ssl commands' implementations (ssl-sim.cpp,
// ssl-fixmatch.cpp); defined in ssl-sim.cpp. Internal: LibTorch types, not for the CLI.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "options.h"
#include "split.h"
#include "ssl-sim.h"
#include "trainer.h"
#include "workspace.h"

namespace folia::train::ssl::detail {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0);
train_config make_train_config(const sup_config &c, uint64_t seed, const std::string &out_dir,
                               bool resume, bool progress);
std::vector<int> part_indices(const workspace &w, part p);
std::vector<int> labels_of(const workspace &w, const std::vector<int> &idx);
// (n, K) f32 logits of cached images, eval mode.
torch::Tensor logits_of(folia_net &model, const image_cache &images, const std::vector<int> &idx);
double accuracy_of(folia_net &model, const workspace &w, const std::vector<int> &idx);
nlohmann::json data_json(const workspace &w, const data_options &d);
void export_to(folia_net &model, const workspace &w, const nlohmann::json &meta,
               const std::string &path);

// --pretrained: load a checkpoint's weights, refusing one trained at another input size (read
// from the results.json beside it, when there is one).
void load_start_checkpoint(const std::string &path, folia_net &model, int size);

// The workspace a command runs on: the tests' (given) or one loaded from the data options.
struct loaded_workspace {
    workspace own;
    const workspace *w = nullptr;
};
void load(loaded_workspace &lw, const data_options &d, const workspace *given);

}  // namespace folia::train::ssl::detail
