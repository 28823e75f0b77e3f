// head-train.h (private): the classifier head of folia-cnn4 and its training step, by hand.
//
// head: x (B, in) -> fc1 (hidden, in) -> ReLU -> dropout -> fc2 (classes, hidden) -> logits.
// Shapes are tiny (256 x 256, 256 x N), so plain loops in a fixed order are fast enough and make
// every float operation happen in the same order on every target. Templated on the scalar so the
// tests can check the backward pass against finite differences in double; the engine uses float.
//
// Determinism (same rules as shared/src/augment.cpp): this directory is compiled with
// -ffp-contract=off, randomness is splitmix64, and the float softmax uses det_exp / det_log
// below (polynomials, +-*/ only) instead of libm, whose last bits differ between glibc and
// emscripten's musl. The double instantiation (tests only) uses libm.
#pragma once

#include <cstdint>
#include <vector>

#include "folia/splitmix64.h"

namespace folia::teach {

using folia::splitmix64;

// exp(x) with relative error < 1e-7 for x in [-87, 88] (clamped outside); log(x) for x > 0.
float det_exp(float x);
float det_log(float x);

template <class T>
struct head {
    int in = 0, hidden = 0, classes = 0;
    std::vector<T> w1;                                // (hidden, in)
    std::vector<T> b1;                                // (hidden)
    std::vector<T> w2;                                // (classes, hidden)
    std::vector<T> b2;                                // (classes)
    void resize(int in_, int hidden_, int classes_);  // zero-filled
};

// Activations of one forward pass, kept for the backward pass.
template <class T>
struct head_cache {
    int batch = 0;
    std::vector<T> relu;    // (B, hidden) ReLU(fc1(x))
    std::vector<T> h;       // (B, hidden) relu * mask (dropout), the input of fc2
    std::vector<T> logits;  // (B, classes)
    std::vector<T> w1t;     // (in, hidden) fc1 weights transposed (scratch)
    std::vector<T> w2t;     // (hidden, classes) fc2 weights transposed (scratch)
};

// mask is (B, hidden): 0 or 1 / (1 - p) per unit (inverted dropout), or nullptr for none.
template <class T>
void head_forward(const head<T> &m, const T *x, int batch, const T *mask, head_cache<T> *c);

// Mean cross-entropy over the batch; dlogits (B, classes) gets d loss / d logits.
template <class T>
T softmax_cross_entropy(const T *logits, const int *labels, int batch, int classes, T *dlogits);

// Gradients of the mean loss w.r.t. every parameter (grad is resized to m's shapes and
// overwritten). x and mask as given to head_forward.
template <class T>
void head_backward(const head<T> &m, const T *x, const T *mask, const head_cache<T> &c,
                   const T *dlogits, head<T> *grad);

// Adam with L2 weight decay, torch.optim.Adam semantics (grad += wd * param, bias-corrected
// moments, eps added to sqrt(v_hat)). fc1 moves only with train_fc1; an fc2 row (and its bias)
// only where fc2_rows is empty or fc2_rows[row] != 0.
struct adam_state {
    float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    bool train_fc1 = true;
    std::vector<char> fc2_rows;
    int64_t t = 0;
    float beta1_t = 1.0f, beta2_t = 1.0f;  // beta^t by repeated products (no pow)
    head<float> m, v;
    void step(head<float> *params, const head<float> &grad);
};

// Appends rows to fc2 for new classes, leaving the old rows (and so the old logits) untouched.
// mean_h is (new, hidden): each new class's mean fc1 activation; the new row points along it,
// scaled so its logit on mean_h equals the best old logit there (a competitive start that the
// training then refines), bias 0.
void grow_head(head<float> *m, const std::vector<float> &mean_h, int new_classes);

}  // namespace folia::teach
