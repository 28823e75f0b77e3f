// export.h: trained model -> Folia model file, plus the golden file the engine tests compare
// against. Both are written atomically.
//
// Golden file layout (little-endian):
//   0   char[8] magic "FOLIAGLD"
//   8   u32     version (1)
//   12  u32     N (batch), 16 u32 S (height = width), 20 u32 C (3), 24 u32 K (classes)
//   28  u32     reserved (0)
//   32  f32     input[N*S*S*C]   normalised NHWC, the layout of folia_logits()
//   ..  f32     logits[N*K]      LibTorch's logits (eval mode) for that input
// The input is SYNTHETIC (golden_input(): smooth deterministic patterns plus hash noise,
// covering the normalised range of real images): nothing derived from dataset images
// is committed.
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace folia::train {

// Labels, preprocessing constants and calibration are taken from `info` (its tensors and
// arch are replaced by the model's).
model_file to_model_file(folia_net &model, const model_file &info);
void export_model_file(folia_net &model, const model_file &info, const std::string &path);

struct golden_data {
    int n = 0, size = 0, classes = 0;
    std::vector<float> input;   // (N, S, S, 3) normalised NHWC
    std::vector<float> logits;  // (N, K)
};

// n synthetic NHWC images of size x size (deterministic, no RNG state involved).
std::vector<float> golden_input(int n, int size);
golden_data make_golden(folia_net &model, int n, int size);
void write_golden(const golden_data &g, const std::string &path);
golden_data read_golden(const std::string &path);  // throws on a malformed file

}  // namespace folia::train
