// reference-model.h: an independent, deliberately plain implementation of folia-cnn4 for the
// engine tests. It shares only the model file parser with the engine: NCHW layout, BatchNorm
// applied unfolded from the PyTorch tensors, every sum accumulated in double.
#pragma once

#include <vector>

#include "folia/model-file.h"

namespace folia_test {

// x is (batch, S, S, 3) f32 NHWC normalised input (the engine's input); returns
// (batch, num_classes) logits.
std::vector<double> reference_logits(const folia::model_file &model, const float *x, int batch);

}  // namespace folia_test
