// xnnpack-graph.cpp: folia-cnn4 on XNNPACK, as one subgraph or as a sequence of stages.
//
// Network, x is (N, S, S, 3) f32 NHWC:
//   4 x [conv 3x3 pad 1 (BN folded, ReLU fused as output_min = 0) -> max-pool 2x2/2]
//   -> mean over H, W (N, C) -> fully connected + ReLU (N, hidden) -> fully connected (N, classes)
// conv_algo::xnnpack: all of it in one subgraph. conv_algo::winograd: stages
//   subgraph [blocks with < 8 input channels] -> winograd_conv per block -> subgraph [head]
// (consecutive XNNPACK blocks share a subgraph; a trailing one takes the head in too). Each
// subgraph runtime fuses and plans its memory once per batch size; weights are packed once when
// the stages are created. No platform code here: the same file builds for wasm.
#include "xnnpack-graph.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "winograd-conv.h"

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

using subgraph_ptr = std::unique_ptr<xnn_subgraph, decltype(&xnn_delete_subgraph)>;
constexpr float k_inf = std::numeric_limits<float>::infinity();

folia_status define_value(xnn_subgraph_t sg, std::vector<size_t> dims, const void *data,
                          uint32_t external_id, uint32_t flags, uint32_t *id, std::string *error,
                          const char *what) {
    const xnn_status st = xnn_define_tensor_value(sg, xnn_datatype_fp32, dims.size(), dims.data(),
                                                  data, external_id, flags, id);
    return st == xnn_status_success ? FOLIA_OK : xnn_fail(error, what, st);
}

// Defines conv + ReLU + max-pool for blocks [first, last) on x (1, s, s, C_in of first); s and
// x become the last pooled output's. That output is the external output when `external`.
folia_status define_blocks(xnn_subgraph_t sg, const network_weights &w, size_t first, size_t last,
                           bool external, size_t *s, uint32_t *x, std::string *error) {
    folia_status fs = FOLIA_OK;
    for (size_t b = first; b < last; ++b) {
        const folded_conv &c = w.convs[b];
        const size_t co = size_t(c.c_out), ci = size_t(c.c_in);
        uint32_t filter = 0, bias = 0, conv = 0, pooled = 0;
        if ((fs = define_value(sg, {co, 3, 3, ci}, c.weights.data(), XNN_INVALID_VALUE_ID, 0,
                               &filter, error, "define conv filter")) ||
            (fs = define_value(sg, {co}, c.bias.data(), XNN_INVALID_VALUE_ID, 0, &bias, error,
                               "define conv bias")) ||
            (fs = define_value(sg, {1, *s, *s, co}, nullptr, XNN_INVALID_VALUE_ID, 0, &conv, error,
                               "define conv output")))
            return fs;
        // ReLU fused into the convolution's output clamp.
        xnn_status st = xnn_define_convolution_2d(sg, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, ci, co, 0.0f,
                                                  k_inf, *x, filter, bias, conv, 0);
        if (st) return xnn_fail(error, "xnn_define_convolution_2d", st);
        *s /= 2;
        const bool out = external && b + 1 == last;
        if ((fs = define_value(
                 sg, {1, *s, *s, co}, nullptr, out ? k_output_id : XNN_INVALID_VALUE_ID,
                 out ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &pooled, error, "define pool output")))
            return fs;
        st = xnn_define_max_pooling_2d(sg, 0, 0, 0, 0, 2, 2, 2, 2, 1, 1, -k_inf, k_inf, conv,
                                       pooled, 0);
        if (st) return xnn_fail(error, "xnn_define_max_pooling_2d", st);
        *x = pooled;
    }
    return FOLIA_OK;
}

// Defines mean over H, W of x (1, s, s, C_last) -> (1, C_last), the external output when
// `features`, else fc1 + ReLU -> fc2 -> the external output (1, classes).
folia_status define_head(xnn_subgraph_t sg, const network_weights &w, bool features, uint32_t x,
                         std::string *error) {
    const size_t c_last = size_t(w.convs.back().c_out);
    const size_t hidden = size_t(w.hidden), classes = size_t(w.num_classes);
    uint32_t gap = 0, fc1_w = 0, fc1_b = 0, fc1 = 0, fc2_w = 0, fc2_b = 0, logits = 0;
    folia_status fs = define_value(
        sg, {1, c_last}, nullptr, features ? k_output_id : XNN_INVALID_VALUE_ID,
        features ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &gap, error, "define pooled features");
    if (fs) return fs;
    const size_t axes[2] = {1, 2};
    xnn_status st = xnn_define_static_reduce(sg, xnn_reduce_mean, 2, axes, x, gap, 0);
    if (st) return xnn_fail(error, "xnn_define_static_reduce(mean)", st);
    if (features) return FOLIA_OK;
    if ((fs = define_value(sg, {hidden, c_last}, w.fc1_weight.data(), XNN_INVALID_VALUE_ID, 0,
                           &fc1_w, error, "define fc1 weight")) ||
        (fs = define_value(sg, {hidden}, w.fc1_bias.data(), XNN_INVALID_VALUE_ID, 0, &fc1_b, error,
                           "define fc1 bias")) ||
        (fs = define_value(sg, {1, hidden}, nullptr, XNN_INVALID_VALUE_ID, 0, &fc1, error,
                           "define fc1 output")))
        return fs;
    st = xnn_define_fully_connected(sg, 0.0f, k_inf, gap, fc1_w, fc1_b, fc1, 0);
    if (st) return xnn_fail(error, "xnn_define_fully_connected(fc1)", st);
    if ((fs = define_value(sg, {classes, hidden}, w.fc2_weight.data(), XNN_INVALID_VALUE_ID, 0,
                           &fc2_w, error, "define fc2 weight")) ||
        (fs = define_value(sg, {classes}, w.fc2_bias.data(), XNN_INVALID_VALUE_ID, 0, &fc2_b, error,
                           "define fc2 bias")) ||
        (fs = define_value(sg, {1, classes}, nullptr, k_output_id, XNN_VALUE_FLAG_EXTERNAL_OUTPUT,
                           &logits, error, "define logits")))
        return fs;
    st = xnn_define_fully_connected(sg, -k_inf, k_inf, fc1, fc2_w, fc2_b, logits, 0);
    if (st) return xnn_fail(error, "xnn_define_fully_connected(fc2)", st);
    return FOLIA_OK;
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

namespace {

// One stage of the run: an XNNPACK subgraph runtime over blocks [first, last) (and the head when
// `head`), or one Winograd block (first, first + 1).
struct stage {
    size_t first = 0, last = 0;
    bool head = false;
    int in_size = 0, in_channels = 0;  // the input is (N, in_size, in_size, in_channels)
    size_t out_floats = 0;             // per image
    xnn_runtime_t runtime = nullptr;
    std::unique_ptr<winograd_conv> winograd;

    stage() = default;
    stage(const stage &) = delete;
    stage &operator=(const stage &) = delete;
    ~stage() {
        if (runtime) xnn_delete_runtime(runtime);
    }
};

folia_status create_subgraph_stage(const network_weights &w, bool features, pthreadpool_t pool,
                                   uint32_t flags, stage *st, std::string *error) {
    xnn_subgraph_t sg = nullptr;
    xnn_status xs = xnn_create_subgraph(/*external_value_ids=*/2, 0, &sg);
    if (xs != xnn_status_success) return xnn_fail(error, "xnn_create_subgraph", xs);
    // The runtime owns everything it needs once created; the subgraph goes either way.
    subgraph_ptr owner(sg, xnn_delete_subgraph);
    // Batch 1 at definition time; plan() reshapes the external input for other batch sizes.
    size_t s = size_t(st->in_size);
    uint32_t x = 0;
    folia_status fs = define_value(sg, {1, s, s, size_t(st->in_channels)}, nullptr, k_input_id,
                                   XNN_VALUE_FLAG_EXTERNAL_INPUT, &x, error, "define input");
    if (fs || (fs = define_blocks(sg, w, st->first, st->last, !st->head, &s, &x, error))) return fs;
    if (st->head && (fs = define_head(sg, w, features, x, error))) return fs;
    const size_t c =
        st->last > st->first ? size_t(w.convs[st->last - 1].c_out) : size_t(st->in_channels);
    st->out_floats = !st->head ? s * s * c : features ? c : size_t(w.num_classes);
    xs = xnn_create_runtime_v3(sg, /*weights_cache=*/nullptr, pool, flags, &st->runtime);
    return xs == xnn_status_success ? FOLIA_OK : xnn_fail(error, "xnn_create_runtime", xs);
}

// Appends the (name, ms) of each operator of the runtime's last invocation to r.
void append_runtime_profile(xnn_runtime_t runtime, std::vector<std::pair<std::string, double>> *r) {
    size_t n = 0, need = 0;
    if (xnn_get_runtime_profiling_info(runtime, xnn_profile_info_num_operators, sizeof(n), &n,
                                       &need) != xnn_status_success)
        return;
    xnn_get_runtime_profiling_info(runtime, xnn_profile_info_operator_name, 0, nullptr, &need);
    std::vector<char> names(need);
    std::vector<uint64_t> us(n);
    if (xnn_get_runtime_profiling_info(runtime, xnn_profile_info_operator_name, names.size(),
                                       names.data(), &need) != xnn_status_success ||
        xnn_get_runtime_profiling_info(runtime, xnn_profile_info_operator_timing,
                                       us.size() * sizeof(uint64_t), us.data(),
                                       &need) != xnn_status_success)
        return;
    const char *p = names.data();
    for (size_t i = 0; i < n && p < names.data() + names.size(); ++i) {
        r->emplace_back(p, double(us[i]) / 1000.0);
        p += std::strlen(p) + 1;
    }
}

}  // namespace

struct xnnpack_graph::impl {
    pthreadpool_t pool = nullptr;
    std::vector<std::unique_ptr<stage>> stages;
    // buffers[i] is stage i's output (N, ...) for i + 1 < stages.size(), with XNNPACK's slack.
    std::vector<std::vector<float>> buffers;
    int planned_batch = 0;
    std::vector<float> input;  // (planned_batch, S, S, 3) + XNNPACK's over-read slack
    bool profile = false;

    ~impl() {
        stages.clear();  // the runtimes and Winograd ops use the pool
        if (pool) pthreadpool_destroy(pool);
    }
};

xnnpack_graph::~xnnpack_graph() = default;

size_t xnnpack_graph::input_floats_per_image() const {
    return size_t(weights_.input_size) * size_t(weights_.input_size) * 3;
}

folia_status xnnpack_graph::create(network_weights weights, int num_threads, bool profile,
                                   std::unique_ptr<xnnpack_graph> *out, std::string *error,
                                   graph_output output, conv_algo algo) {
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
    g->num_outputs_ =
        output == graph_output::features ? g->weights_.convs.back().c_out : g->weights_.num_classes;
    // Threads are a speed hint: where no pool can be made (the single-threaded wasm build's
    // pthreadpool shim returns NULL for n > 1) the network runs on the caller's thread, with
    // identical results.
    if (num_threads > 1) g->impl_->pool = pthreadpool_create(size_t(num_threads));
    folia_status fs = g->build_stages(output, algo, profile, error);
    if (fs == FOLIA_OK) fs = g->plan(1, error);
    if (fs != FOLIA_OK) return fs;
    *out = std::move(g);
    return FOLIA_OK;
}

folia_status xnnpack_graph::build_stages(graph_output output, conv_algo algo, bool profile,
                                         std::string *error) {
    const network_weights &w = weights_;
    const size_t n = w.convs.size();
    auto winograd = [&](size_t b) {
        return algo == conv_algo::winograd && w.convs[b].c_in >= k_winograd_min_channels;
    };
    const uint32_t flags = profile ? XNN_FLAG_BASIC_PROFILING : 0;
    int s = w.input_size, c = 3;
    for (size_t b = 0;;) {
        auto st = std::make_unique<stage>();
        st->in_size = s;
        st->in_channels = c;
        st->first = b;
        if (b < n && winograd(b)) {
            const folded_conv &fc = w.convs[b];
            const folia_status fs =
                winograd_conv::create(fc.weights.data(), fc.bias.data(), fc.c_in, fc.c_out,
                                      /*pool2x2=*/true, impl_->pool, &st->winograd, error);
            if (fs != FOLIA_OK) return fs;
            st->winograd->set_timing(profile);
            st->last = ++b;
            s /= 2;
            c = fc.c_out;
            st->out_floats = size_t(s) * size_t(s) * size_t(c);
            impl_->stages.push_back(std::move(st));
            continue;
        }
        // A run of XNNPACK blocks (maybe none), and the head when the run reaches the end.
        while (b < n && !winograd(b)) {
            s /= 2;
            c = w.convs[b++].c_out;
        }
        st->last = b;
        st->head = b == n;
        const folia_status fs = create_subgraph_stage(w, output == graph_output::features,
                                                      impl_->pool, flags, st.get(), error);
        if (fs != FOLIA_OK) return fs;
        impl_->stages.push_back(std::move(st));
        if (b == n) return FOLIA_OK;
    }
}

folia_status xnnpack_graph::plan(int batch, std::string *error) {
    if (impl_->planned_batch == batch) return FOLIA_OK;
    impl_->planned_batch = 0;
    auto &stages = impl_->stages;
    for (const auto &st : stages) {
        if (!st->runtime) continue;
        const size_t s = size_t(st->in_size);
        const size_t dims[4] = {size_t(batch), s, s, size_t(st->in_channels)};
        xnn_status xs = xnn_reshape_external_value(st->runtime, k_input_id, 4, dims);
        if (xs) return xnn_fail(error, "xnn_reshape_external_value", xs);
        xs = xnn_reshape_runtime(st->runtime);
        if (xs) return xnn_fail(error, "xnn_reshape_runtime", xs);
    }
    try {
        impl_->input.assign(size_t(batch) * input_floats_per_image() + k_extra_floats, 0.0f);
        impl_->buffers.resize(stages.size() - 1);
        for (size_t i = 0; i + 1 < stages.size(); ++i)
            impl_->buffers[i].assign(size_t(batch) * stages[i]->out_floats + k_extra_floats, 0.0f);
    } catch (const std::bad_alloc &) {
        if (error) *error = "activation buffers for batch " + std::to_string(batch);
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
    const auto &stages = impl_->stages;
    for (size_t i = 0; i < stages.size(); ++i) {
        const stage &st = *stages[i];
        const float *in = i == 0 ? impl_->input.data() : impl_->buffers[i - 1].data();
        float *out = i + 1 == stages.size() ? logits : impl_->buffers[i].data();
        if (st.winograd) {
            const winograd_geometry g{batch, st.in_size, st.in_size};
            const folia_status fs = st.winograd->run(in, g, out, error);
            if (fs != FOLIA_OK) return fs;
            continue;
        }
        // XNNPACK only reads the input; the external value API takes a non-const pointer.
        const xnn_external_value ext[2] = {{k_input_id, const_cast<float *>(in)},
                                           {k_output_id, out}};
        xnn_status xs = xnn_setup_runtime_v2(st.runtime, 2, ext);
        if (xs) return xnn_fail(error, "xnn_setup_runtime", xs);
        xs = xnn_invoke_runtime(st.runtime);
        if (xs) return xnn_fail(error, "xnn_invoke_runtime", xs);
    }
    return FOLIA_OK;
}

std::vector<std::pair<std::string, double>> xnnpack_graph::last_profile() const {
    std::vector<std::pair<std::string, double>> r;
    if (!impl_->profile) return r;
    for (const auto &st : impl_->stages) {
        if (st->runtime) {
            append_runtime_profile(st->runtime, &r);
            continue;
        }
        const std::string conv = "conv" + std::to_string(st->first + 1);
        const winograd_times &t = st->winograd->last_times();
        r.emplace_back("winograd-in " + conv, t.input_ms);
        r.emplace_back("bmm " + conv, t.bmm_ms);
        r.emplace_back("winograd-out+pool " + conv, t.output_ms);
    }
    return r;
}

}  // namespace folia::engine
