// ssl-loss.h: the semi-supervised loss of the pseudo-labelling retrains (LibTorch):
//   L = L_labeled + lambda * ramp(t) * L_pseudo
//   L_labeled = cross-entropy on the labeled items of the batch (optionally class-weighted)
//   L_pseudo  = sum_i w_i * (-log softmax(f(x_i))[y_hat_i]) / (sum_i w_i + 1e-8)
// with w_i the confidence recorded when the pseudo-label was made.
#pragma once

#include <torch/torch.h>

namespace folia::train::ssl {

// logits (B,K) f32, y_hat (B) i64, w (B) f32 -> scalar. 0 (not NaN) for an empty batch.
torch::Tensor pseudo_label_loss(const torch::Tensor &logits, const torch::Tensor &y_hat,
                                const torch::Tensor &w);

struct ssl_loss_terms {
    torch::Tensor total, labeled, pseudo;  // scalars; labeled/pseudo are 0 when absent
};

// source (B) i64: 0 = labeled (weight ignored), 1 = pseudo-labeled (weight = confidence).
// pseudo_scale = lambda * ramp(t). class_weights (K) f32 or undefined: weights of L_labeled's
// classes (mean-normalised: sum_i c_{y_i} CE_i / sum_i c_{y_i}).
ssl_loss_terms ssl_loss(const torch::Tensor &logits, const torch::Tensor &y,
                        const torch::Tensor &weight, const torch::Tensor &source,
                        double pseudo_scale, const torch::Tensor &class_weights = {});

}  // namespace folia::train::ssl
