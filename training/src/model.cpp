// model.cpp
#include "model.h"

#include <stdexcept>

#include "folia/preprocess.h"

namespace folia::train {

conv_block_impl::conv_block_impl(int in, int out) {
    conv =
        register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
    bn =
        register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(1e-5)));
}

torch::Tensor conv_block_impl::forward(const torch::Tensor &x) {
    // In-place ReLU: the BN output is not needed by BN's backward, so this saves one
    // activation-sized buffer per block (the memory-bound part of a step).
    const torch::Tensor c = conv(x);
    torch::Tensor y = train_bn && is_training() ? train_bn(*bn, c) : bn(c);
    y.relu_();
    return torch::max_pool2d(y, 2);
}

folia_net_impl::folia_net_impl(const arch_desc &a, float p) : arch(a) {
    int in = 3;
    for (size_t i = 0; i < arch.channels.size(); ++i) {
        blocks.push_back(
            register_module("block" + std::to_string(i), conv_block(in, arch.channels[i])));
        blocks.back()->bn->options.eps(arch.bn_eps);
        in = arch.channels[i];
    }
    fc1 = register_module("fc1", torch::nn::Linear(in, arch.hidden));
    fc2 = register_module("fc2", torch::nn::Linear(arch.hidden, arch.num_classes));
    dropout = register_module("dropout", torch::nn::Dropout(p));
}

torch::Tensor folia_net_impl::features(const torch::Tensor &x) {
    torch::Tensor h = x;
    for (auto &b : blocks) h = b->forward(h);
    return h.mean({2, 3});  // global average pool: (N, C_last)
}

torch::Tensor folia_net_impl::head(const torch::Tensor &f) {
    const torch::Tensor h = torch::relu(fc1(f));
    const double p = dropout->options.p();
    return fc2(train_dropout && is_training() ? train_dropout(h, p) : dropout(h));
}

void folia_net_impl::set_training_ops(batch_norm_fn bn, dropout_fn drop) {
    for (auto &b : blocks) b->train_bn = bn;
    train_dropout = std::move(drop);
}

torch::Tensor folia_net_impl::forward(const torch::Tensor &x) {
    return head(features(x));
}

void folia_net_impl::grow_classes(int n) {
    const int old = arch.num_classes;
    if (n < old) throw std::invalid_argument("grow_classes cannot shrink the output layer");
    if (n == old) return;
    torch::nn::Linear grown(arch.hidden, n);
    {
        torch::NoGradGuard ng;
        grown->weight.slice(0, 0, old).copy_(fc2->weight);
        grown->bias.slice(0, 0, old).copy_(fc2->bias);
    }
    fc2 = replace_module("fc2", grown);
    arch.num_classes = n;
}

void to_channels_last(folia_net &model) {
    for (auto &p : model->parameters())
        if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

folia_net make_model(int num_classes, uint64_t seed) {
    torch::manual_seed(seed);
    arch_desc a;
    a.num_classes = num_classes;
    folia_net m(a);
    to_channels_last(m);
    return m;
}

namespace {

std::map<std::string, torch::Tensor> named_tensors(folia_net &m) {
    std::map<std::string, torch::Tensor> r;
    for (const auto &p : m->named_parameters()) r[p.key()] = p.value();
    for (const auto &b : m->named_buffers()) r[b.key()] = b.value();
    return r;
}

}  // namespace

void store_weights(folia_net &model, model_file *out) {
    out->arch = model->arch;
    const auto all = named_tensors(model);
    out->tensors.clear();
    for (const auto &[name, shape] : expected_tensors(model->arch)) {
        const auto it = all.find(name);
        if (it == all.end()) throw std::runtime_error("model has no tensor '" + name + "'");
        // Conv weights may be channels-last in memory: the file wants plain OIHW.
        const torch::Tensor t = it->second.detach().to(torch::kFloat32).contiguous();
        if (t.sizes().vec() != shape) throw std::runtime_error("shape mismatch for '" + name + "'");
        tensor_f32 f;
        f.shape = shape;
        f.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
        out->tensors[name] = std::move(f);
    }
}

void load_weights(folia_net &model, const model_file &in) {
    auto all = named_tensors(model);
    torch::NoGradGuard ng;
    for (const auto &[name, shape] : expected_tensors(model->arch)) {
        const auto it = in.tensors.find(name);
        if (it == in.tensors.end())
            throw std::runtime_error("model file has no tensor '" + name + "'");
        if (it->second.shape != shape)
            throw std::runtime_error("shape mismatch for '" + name + "'");
        torch::Tensor src =
            torch::from_blob(const_cast<float *>(it->second.data.data()), shape, torch::kFloat32);
        all.at(name).copy_(src);
    }
}

folia_net model_from_file(const model_file &in) {
    folia_net m(in.arch);
    load_weights(m, in);
    to_channels_last(m);
    return m;
}

torch::Tensor nhwc_to_model_input(const torch::Tensor &nhwc) {
    return nhwc.permute({0, 3, 1, 2});
}

void normalize_u8_into(const uint8_t *src, int64_t pixels, float *o) {
    float scale[3], shift[3];
    for (int c = 0; c < 3; ++c) {
        scale[c] = 1.0f / (255.0f * k_imagenet_std[c]);
        shift[c] = -k_imagenet_mean[c] / k_imagenet_std[c];
    }
    // (x / 255 - mean) / std, written as x * scale + shift; same rounding as the shared
    // normalize_nhwc is not required here (parity is checked at the logits level).
    for (int64_t i = 0; i < pixels; ++i)
        for (int c = 0; c < 3; ++c) o[i * 3 + c] = float(src[i * 3 + c]) * scale[c] + shift[c];
}

torch::Tensor normalize_u8_batch(const uint8_t *images, int64_t n, int size) {
    torch::Tensor out = torch::empty({n, size, size, 3}, torch::kFloat32);
    normalize_u8_into(images, n * size * size, out.data_ptr<float>());
    return nhwc_to_model_input(out);
}

torch::Tensor predict_logits(folia_net &model, const uint8_t *images, int64_t n, int size,
                             int batch) {
    torch::NoGradGuard ng;
    const bool was_training = model->is_training();
    model->eval();
    std::vector<torch::Tensor> outs;
    const size_t per = size_t(size) * size * 3;
    for (int64_t i = 0; i < n; i += batch) {
        const int64_t b = std::min<int64_t>(batch, n - i);
        outs.push_back(model->forward(normalize_u8_batch(images + size_t(i) * per, b, size)));
    }
    model->train(was_training);
    if (outs.empty()) return torch::empty({0, model->arch.num_classes});
    return torch::cat(outs).contiguous();
}

}  // namespace folia::train
