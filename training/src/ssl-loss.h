// ssl-loss.h: the semi-supervised loss of the pseudo-labelling retrains (LibTorch):
//   L = L_labeled + lambda * ramp(t) * L_pseudo
//   L_labeled = cross-entropy on the labeled items of the batch (optionally class-weighted)
//   L_pseudo  = sum_i w_i * (-log softmax(f(x_i))[y_hat_i]) / (sum_i w_i + 1e-8)
// with w_i the confidence recorded when the pseudo-label was made.
#pragma once

#include <torch/torch.h>

#include <vector>

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

// FixMatch (Sohn et al. 2020): on the unlabeled rows, the pseudo-label is the weakly
// augmented view's argmax, kept when its softmax confidence reaches its class's threshold:
//   L = L_labeled + lambda_u * L_u
//   L_labeled = mean cross-entropy over the labeled rows (source 0; 0 when there are none)
//   L_u = sum_j mask_j * CE(f(strong_j), y_hat_j) / M, over all M unlabeled rows (FixMatch
//         divides by M, not by the mask count: few confident rows give a small loss)
//   y_hat_j = argmax q_j, q_j = softmax(weak_logits_j), mask_j = max q_j >= tau[y_hat_j]
// (compared in f32). One process: L_labeled and M are this batch's, so under data-parallel
// training the averaged gradients would not be the global batch's loss (folia-ssl trains on
// one process).
struct fixmatch_terms {
    torch::Tensor total, labeled, unlabeled;  // scalars
    torch::Tensor y_hat;                      // (M) i64
    torch::Tensor confidence;                 // (M) f32
    torch::Tensor mask;                       // (M) bool
};

// logits (B,K) of the batch (strong views on the unlabeled rows), y (B) i64 (used on labeled
// rows only), source (B) i64, weak_logits (M,K) (no gradient), weak_rows (M) i64: the batch
// rows of the weak views (undefined or empty: no unlabeled rows), tau (K): class thresholds.
fixmatch_terms fixmatch_loss(const torch::Tensor &logits, const torch::Tensor &y,
                             const torch::Tensor &source, const torch::Tensor &weak_logits,
                             const torch::Tensor &weak_rows, const std::vector<double> &tau,
                             double lambda_u);

}  // namespace folia::train::ssl
