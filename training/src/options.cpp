// options.cpp: the shared options' JSON (options.h).
#include "options.h"

namespace folia::train {

nlohmann::json fit_options::to_json() const {
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

}  // namespace folia::train
