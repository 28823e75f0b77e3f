// checkpoint.h: atomic checkpoints (temporary file + rename: a kill -9 mid-write leaves the
// previous checkpoint intact). A checkpoint holds the model, optionally the optimiser (Adam
// moments and step counts), the CPU generator state (dropout), a JSON object for everything
// else (epoch, best accuracy, history, the caller's own state: SSL buffer, day...) and named
// extra tensors (e.g. EWC's Fisher diagonal, an old model's parameters).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "model.h"

namespace folia::train {

void save_checkpoint(const std::string &path, folia_net &model, torch::optim::Optimizer *optimizer,
                     const nlohmann::json &meta,
                     const std::map<std::string, torch::Tensor> &extra = {});

// Returns false if path does not exist; throws on a corrupt or mismatched checkpoint. The
// model must have the architecture the checkpoint was made with (meta["arch"] holds it:
// see arch_from_checkpoint to build one). Restores the CPU generator state.
bool load_checkpoint(const std::string &path, folia_net &model, torch::optim::Optimizer *optimizer,
                     nlohmann::json *meta, std::map<std::string, torch::Tensor> *extra = nullptr);

// Reads only the JSON part (cheap enough: the file is loaded once).
nlohmann::json read_checkpoint_meta(const std::string &path);

nlohmann::json arch_to_json(const arch_desc &a);
arch_desc arch_from_json(const nlohmann::json &j);

}  // namespace folia::train
