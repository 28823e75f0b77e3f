// random-model.h: He-initialised model files of the shipped architecture, for tests and
// benchmarks (and as a same-shape stand-in whenever the shipped model is absent).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "folia/model-file.h"

namespace folia_cli {

struct random_model_options {
    int num_classes = 38;
    std::vector<std::string> labels;  // empty: class_0, class_1, ...
    uint64_t seed = 1;
    // Identity BatchNorm (gamma 1, beta 0, mean 0, var 1) is what a fresh PyTorch model holds;
    // random_bn draws non-trivial statistics so BN folding is actually exercised.
    bool random_bn = false;
    float temperature = 1.0f;
    float abstain_threshold = 0.0f;
    // Architecture; empty channels = the shipped one (32, 64, 128, 256), hidden 256, input 128.
    // Small ones make fast fuzzing seeds and test models.
    std::vector<int> channels;
    int hidden = 0;
    int input_size = 0;
};

// Conv and FC weights ~ N(0, 2 / fan_in) (He, fan-in mode), biases 0. Deterministic in seed.
folia::model_file make_random_model(const random_model_options &opts);

// Multiply-adds x 2 of one forward pass at the model's input size (convolutions and FCs).
double forward_flops(const folia::model_file &model);

}  // namespace folia_cli
