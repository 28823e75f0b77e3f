// model.h: the Folia CNN in LibTorch, mirroring the engine (DEVELOPERS.md) exactly:
//   4 blocks [conv 3x3 same (+bias), BatchNorm, ReLU, maxpool 2], global average pool,
//   fc1 (C_last -> hidden), ReLU, dropout 0.3, fc2 (hidden -> N).
// Parameter and buffer names equal the model file's tensor names (folia/model-file.h):
//   block{i}.conv.weight/bias, block{i}.bn.weight/bias/running_mean/running_var, fc1.*, fc2.*
// so export and import are a name-by-name copy. Inputs are (N, 3, S, S) f32, normalised, in
// channels-last memory format (that layout is ~30 % faster with mkldnn on CPU). Any S works
// (global pooling), S = 128 for the shipped model.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "folia/model-file.h"

namespace folia::train {

// Training-mode replacements (data-parallel training, dist.h): BatchNorm whose batch statistics
// span every rank's batch, and dropout whose mask is drawn for the whole global batch. Unset:
// LibTorch's own modules.
using batch_norm_fn =
    std::function<torch::Tensor(torch::nn::BatchNorm2dImpl &, const torch::Tensor &)>;
using dropout_fn = std::function<torch::Tensor(const torch::Tensor &, double p)>;

struct conv_block_impl : torch::nn::Module {
    conv_block_impl(int in, int out);
    torch::Tensor forward(const torch::Tensor &x);  // (N,in,S,S) -> (N,out,S/2,S/2)
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    batch_norm_fn train_bn;  // used in training mode when set
};
TORCH_MODULE_IMPL(conv_block, conv_block_impl);

struct folia_net_impl : torch::nn::Module {
    explicit folia_net_impl(const arch_desc &arch, float dropout = 0.3f);
    // x is (N,3,S,S) f32 -> logits (N, num_classes).
    torch::Tensor forward(const torch::Tensor &x);
    // x -> pooled features (N, C_last): what rehearsal (herding) and feature-space tools use.
    torch::Tensor features(const torch::Tensor &x);
    // pooled features -> logits (fc1, ReLU, dropout, fc2).
    torch::Tensor head(const torch::Tensor &f);
    // Grows fc2 to new_num_classes outputs; old rows are kept, so old logits are unchanged.
    void grow_classes(int new_num_classes);
    // Installs the training-mode BatchNorm of every block and the dropout (nullptr: LibTorch's).
    void set_training_ops(batch_norm_fn bn, dropout_fn drop);

    arch_desc arch;
    std::vector<conv_block> blocks;
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
    torch::nn::Dropout dropout{nullptr};
    dropout_fn train_dropout;  // used in training mode when set
};
TORCH_MODULE_IMPL(folia_net, folia_net_impl);

// Puts every 4-D weight in channels-last memory (the mkldnn fast path); call after building
// or loading a model, before creating its optimiser.
void to_channels_last(folia_net &model);

// A fresh model for num_classes with the default architecture, seeded init (torch::manual_seed).
folia_net make_model(int num_classes, uint64_t seed);

// Copies every named tensor into a model_file (labels and preprocessing filled by the caller),
// and back. load_weights throws on a missing tensor or shape mismatch.
void store_weights(folia_net &model, model_file *out);
void load_weights(folia_net &model, const model_file &in);
folia_net model_from_file(const model_file &in);

// (N, S, S, 3) normalised NHWC f32 (the engine's folia_logits layout) -> the (N,3,S,S)
// channels-last view the model takes, without copying.
torch::Tensor nhwc_to_model_input(const torch::Tensor &nhwc);

// Logits of many u8 NHWC images in batches, eval mode, no grad: images is (N,S,S,3) u8
// packed, returns (N, num_classes) f32 on the CPU.
torch::Tensor predict_logits(folia_net &model, const uint8_t *images, int64_t n, int size,
                             int batch = 128);

// u8 (N,S,S,3) -> normalised (N,3,S,S) channels-last f32 with the ImageNet constants.
torch::Tensor normalize_u8_batch(const uint8_t *images, int64_t n, int size);
// The arithmetic of normalize_u8_batch for `pixels` RGB pixels, u8 (pixels, 3) -> f32 (pixels,
// 3) at dst: the trainer writes each augmented image straight into its batch row with it.
void normalize_u8_into(const uint8_t *src, int64_t pixels, float *dst);

}  // namespace folia::train
