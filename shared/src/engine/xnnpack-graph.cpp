// xnnpack-graph.cpp: folia-cnn4 as one XNNPACK subgraph.
//
// Graph, x is (N, S, S, 3) f32 NHWC:
//   4 x [conv 3x3 pad 1 (BN folded, ReLU fused as output_min = 0) -> max-pool 2x2/2]
//   -> mean over H, W (N, C) -> fully connected + ReLU (N, hidden) -> fully connected (N, classes)
// The subgraph runtime fuses, plans memory once per batch size and reuses it; weights are packed
// once when the runtime is created. No platform code here: the same file builds for wasm.
#include "xnnpack-graph.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace folia::engine {

namespace {

constexpr uint32_t k_input_id = 0;
constexpr uint32_t k_output_id = 1;
constexpr size_t k_extra_floats = (XNN_EXTRA_BYTES + sizeof(float) - 1) / sizeof(float);

folia_status xnn_fail(std::string *error, const char *what, xnn_status s) {
    if (error) *error = std::string(what) + " failed (xnn_status " + std::to_string(int(s)) + ")";
    return s == xnn_status_out_of_memory ? FOLIA_ERR_OUT_OF_MEMORY : FOLIA_ERR_ENGINE;
}

const std::vector<float> &tensor(const model_file &m, const std::string &name) {
    return m.tensors.at(name).data;
}

}  // namespace

int final_spatial_size(int input_size, size_t num_blocks) {
    int s = input_size;
    for (size_t i = 0; i < num_blocks; ++i) {
        if (s < 2) return 0;
        s /= 2;
    }
    return s;
}

network_weights fold_model(const model_file &m) {
    network_weights w;
    w.input_size = m.preprocess.input_size;
    int c_in = 3;
    for (size_t i = 0; i < m.arch.channels.size(); ++i) {
        const std::string p = "block" + std::to_string(i) + ".";
        const auto &cw = tensor(m, p + "conv.weight");  // (C_out, C_in, 3, 3)
        const auto &cb = tensor(m, p + "conv.bias");
        const auto &gamma = tensor(m, p + "bn.weight");
        const auto &beta = tensor(m, p + "bn.bias");
        const auto &mean = tensor(m, p + "bn.running_mean");
        const auto &var = tensor(m, p + "bn.running_var");
        folded_conv f;
        f.c_in = c_in;
        f.c_out = m.arch.channels[i];
        f.weights.resize(size_t(f.c_out) * 9 * size_t(c_in));
        f.bias.resize(size_t(f.c_out));
        for (int o = 0; o < f.c_out; ++o) {
            const double scale =
                double(gamma[o]) / std::sqrt(double(var[o]) + double(m.arch.bn_eps));
            f.bias[o] = float((double(cb[o]) - double(mean[o])) * scale + double(beta[o]));
            for (int ci = 0; ci < c_in; ++ci)
                for (int k = 0; k < 9; ++k)
                    f.weights[(size_t(o) * 9 + k) * c_in + ci] =
                        float(double(cw[(size_t(o) * c_in + ci) * 9 + k]) * scale);
        }
        w.convs.push_back(std::move(f));
        c_in = m.arch.channels[i];
    }
    w.hidden = m.arch.hidden;
    w.num_classes = m.arch.num_classes;
    w.fc1_weight = tensor(m, "fc1.weight");
    w.fc1_bias = tensor(m, "fc1.bias");
    w.fc2_weight = tensor(m, "fc2.weight");
    w.fc2_bias = tensor(m, "fc2.bias");
    return w;
}

struct xnnpack_graph::impl {
    pthreadpool_t pool = nullptr;
    xnn_runtime_t runtime = nullptr;
    int planned_batch = 0;
    std::vector<float> input;  // (planned_batch, S, S, 3) + XNNPACK's over-read slack
    bool profile = false;

    ~impl() {
        if (runtime) xnn_delete_runtime(runtime);
        if (pool) pthreadpool_destroy(pool);
    }
};

xnnpack_graph::~xnnpack_graph() = default;

size_t xnnpack_graph::input_floats_per_image() const {
    return size_t(weights_.input_size) * size_t(weights_.input_size) * 3;
}

folia_status xnnpack_graph::create(network_weights weights, int num_threads, bool profile,
                                   std::unique_ptr<xnnpack_graph> *out, std::string *error,
                                   graph_output output) {
    if (num_threads < 1 || !out) {
        if (error) *error = "num_threads must be >= 1";
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    const int s_final = final_spatial_size(weights.input_size, weights.convs.size());
    if (s_final < 1) {
        if (error) *error = "input size too small for the number of pooling blocks";
        return FOLIA_ERR_MODEL_ARCH;
    }
    xnn_status st = xnn_initialize(nullptr);
    if (st != xnn_status_success) return xnn_fail(error, "xnn_initialize", st);

    std::unique_ptr<xnnpack_graph> g(new xnnpack_graph());
    g->weights_ = std::move(weights);
    g->impl_ = std::make_unique<impl>();
    g->impl_->profile = profile;
    const network_weights &w = g->weights_;

    xnn_subgraph_t sg = nullptr;
    st = xnn_create_subgraph(/*external_value_ids=*/2, 0, &sg);
    if (st != xnn_status_success) return xnn_fail(error, "xnn_create_subgraph", st);
    // The runtime owns everything it needs once created; the subgraph goes either way.
    std::unique_ptr<xnn_subgraph, decltype(&xnn_delete_subgraph)> sg_owner(sg, xnn_delete_subgraph);

    auto value = [&](std::vector<size_t> dims, const void *data, uint32_t external_id,
                     uint32_t flags, uint32_t *id) {
        return xnn_define_tensor_value(sg, xnn_datatype_fp32, dims.size(), dims.data(), data,
                                       external_id, flags, id);
    };
    constexpr float inf = std::numeric_limits<float>::infinity();

    // Batch 1 at definition time; plan() reshapes the external input for other batch sizes.
    size_t s = size_t(w.input_size);
    uint32_t x = 0;
    if ((st = value({1, s, s, 3}, nullptr, k_input_id, XNN_VALUE_FLAG_EXTERNAL_INPUT, &x)))
        return xnn_fail(error, "define input", st);
    for (const folded_conv &c : w.convs) {
        const size_t co = size_t(c.c_out), ci = size_t(c.c_in);
        uint32_t filter = 0, bias = 0, conv = 0, pooled = 0;
        if ((st = value({co, 3, 3, ci}, c.weights.data(), XNN_INVALID_VALUE_ID, 0, &filter)) ||
            (st = value({co}, c.bias.data(), XNN_INVALID_VALUE_ID, 0, &bias)) ||
            (st = value({1, s, s, co}, nullptr, XNN_INVALID_VALUE_ID, 0, &conv)))
            return xnn_fail(error, "define conv tensors", st);
        // ReLU fused into the convolution's output clamp.
        st = xnn_define_convolution_2d(sg, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, ci, co, 0.0f, inf, x,
                                       filter, bias, conv, 0);
        if (st) return xnn_fail(error, "xnn_define_convolution_2d", st);
        s /= 2;
        if ((st = value({1, s, s, co}, nullptr, XNN_INVALID_VALUE_ID, 0, &pooled)))
            return xnn_fail(error, "define pool output", st);
        st =
            xnn_define_max_pooling_2d(sg, 0, 0, 0, 0, 2, 2, 2, 2, 1, 1, -inf, inf, conv, pooled, 0);
        if (st) return xnn_fail(error, "xnn_define_max_pooling_2d", st);
        x = pooled;
    }
    const size_t c_last = size_t(w.convs.back().c_out);
    const size_t hidden = size_t(w.hidden), classes = size_t(w.num_classes);
    uint32_t gap = 0, fc1_w = 0, fc1_b = 0, fc1 = 0, fc2_w = 0, fc2_b = 0, logits = 0;
    const bool features = output == graph_output::features;
    g->num_outputs_ = features ? int(c_last) : w.num_classes;
    // gap is (N, C_last): the features graph ends here, with gap as its external output.
    if ((st = value({1, c_last}, nullptr, features ? k_output_id : XNN_INVALID_VALUE_ID,
                    features ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &gap)))
        return xnn_fail(error, "define pooled features", st);
    const size_t axes[2] = {1, 2};
    st = xnn_define_static_reduce(sg, xnn_reduce_mean, 2, axes, x, gap, 0);
    if (st) return xnn_fail(error, "xnn_define_static_reduce(mean)", st);
    if (features) return finish_create(std::move(g), sg, num_threads, profile, out, error);
    if ((st = value({hidden, c_last}, w.fc1_weight.data(), XNN_INVALID_VALUE_ID, 0, &fc1_w)) ||
        (st = value({hidden}, w.fc1_bias.data(), XNN_INVALID_VALUE_ID, 0, &fc1_b)) ||
        (st = value({1, hidden}, nullptr, XNN_INVALID_VALUE_ID, 0, &fc1)))
        return xnn_fail(error, "define fc1 tensors", st);
    st = xnn_define_fully_connected(sg, 0.0f, inf, gap, fc1_w, fc1_b, fc1, 0);
    if (st) return xnn_fail(error, "xnn_define_fully_connected(fc1)", st);
    if ((st = value({classes, hidden}, w.fc2_weight.data(), XNN_INVALID_VALUE_ID, 0, &fc2_w)) ||
        (st = value({classes}, w.fc2_bias.data(), XNN_INVALID_VALUE_ID, 0, &fc2_b)) ||
        (st = value({1, classes}, nullptr, k_output_id, XNN_VALUE_FLAG_EXTERNAL_OUTPUT, &logits)))
        return xnn_fail(error, "define fc2 tensors", st);
    st = xnn_define_fully_connected(sg, -inf, inf, fc1, fc2_w, fc2_b, logits, 0);
    if (st) return xnn_fail(error, "xnn_define_fully_connected(fc2)", st);
    return finish_create(std::move(g), sg, num_threads, profile, out, error);
}

folia_status xnnpack_graph::finish_create(std::unique_ptr<xnnpack_graph> g, xnn_subgraph_t sg,
                                          int num_threads, bool profile,
                                          std::unique_ptr<xnnpack_graph> *out, std::string *error) {
    // Threads are a speed hint: where no pool can be made (the single-threaded wasm build's
    // pthreadpool shim returns NULL for n > 1) the network runs on the caller's thread, with
    // identical results.
    if (num_threads > 1) g->impl_->pool = pthreadpool_create(size_t(num_threads));
    const uint32_t flags = profile ? XNN_FLAG_BASIC_PROFILING : 0;
    xnn_status st = xnn_create_runtime_v3(sg, /*weights_cache=*/nullptr, g->impl_->pool, flags,
                                          &g->impl_->runtime);
    if (st) return xnn_fail(error, "xnn_create_runtime", st);
    const folia_status fs = g->plan(1, error);
    if (fs != FOLIA_OK) return fs;
    *out = std::move(g);
    return FOLIA_OK;
}

folia_status xnnpack_graph::plan(int batch, std::string *error) {
    if (impl_->planned_batch == batch) return FOLIA_OK;
    const size_t s = size_t(weights_.input_size);
    const size_t dims[4] = {size_t(batch), s, s, 3};
    impl_->planned_batch = 0;
    xnn_status st = xnn_reshape_external_value(impl_->runtime, k_input_id, 4, dims);
    if (st) return xnn_fail(error, "xnn_reshape_external_value", st);
    st = xnn_reshape_runtime(impl_->runtime);
    if (st) return xnn_fail(error, "xnn_reshape_runtime", st);
    try {
        impl_->input.assign(size_t(batch) * input_floats_per_image() + k_extra_floats, 0.0f);
    } catch (const std::bad_alloc &) {
        if (error) *error = "input buffer for batch " + std::to_string(batch);
        return FOLIA_ERR_OUT_OF_MEMORY;
    }
    impl_->planned_batch = batch;
    return FOLIA_OK;
}

float *xnnpack_graph::input_buffer(int batch) {
    if (batch < 1 || plan(batch, nullptr) != FOLIA_OK) return nullptr;
    return impl_->input.data();
}

folia_status xnnpack_graph::run(int batch, float *logits, std::string *error) {
    if (batch != impl_->planned_batch || !logits) {
        if (error) *error = "run() needs input_buffer(batch) first and an output";
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    const xnn_external_value ext[2] = {{k_input_id, impl_->input.data()}, {k_output_id, logits}};
    xnn_status st = xnn_setup_runtime_v2(impl_->runtime, 2, ext);
    if (st) return xnn_fail(error, "xnn_setup_runtime", st);
    st = xnn_invoke_runtime(impl_->runtime);
    if (st) return xnn_fail(error, "xnn_invoke_runtime", st);
    return FOLIA_OK;
}

std::vector<std::pair<std::string, double>> xnnpack_graph::last_profile() const {
    std::vector<std::pair<std::string, double>> r;
    if (!impl_->profile) return r;
    size_t n = 0, need = 0;
    if (xnn_get_runtime_profiling_info(impl_->runtime, xnn_profile_info_num_operators, sizeof(n),
                                       &n, &need) != xnn_status_success)
        return r;
    xnn_get_runtime_profiling_info(impl_->runtime, xnn_profile_info_operator_name, 0, nullptr,
                                   &need);
    std::vector<char> names(need);
    std::vector<uint64_t> us(n);
    if (xnn_get_runtime_profiling_info(impl_->runtime, xnn_profile_info_operator_name, names.size(),
                                       names.data(), &need) != xnn_status_success ||
        xnn_get_runtime_profiling_info(impl_->runtime, xnn_profile_info_operator_timing,
                                       us.size() * sizeof(uint64_t), us.data(),
                                       &need) != xnn_status_success)
        return r;
    const char *p = names.data();
    for (size_t i = 0; i < n && p < names.data() + names.size(); ++i) {
        r.emplace_back(p, double(us[i]) / 1000.0);
        p += std::strlen(p) + 1;
    }
    return r;
}

}  // namespace folia::engine
