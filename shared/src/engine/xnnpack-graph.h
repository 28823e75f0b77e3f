// xnnpack-graph.h (private): the folia-cnn4 network on XNNPACK: either one XNNPACK subgraph
// runtime (conv_algo::xnnpack) or a sequence of stages (conv_algo::winograd, the default): the
// RGB stem block in an XNNPACK subgraph, each block with >= 8 input channels as a Winograd
// F(4x4, 3x3) op with the max-pool fused (winograd-conv.h), then the head (mean, fc1, fc2) in a
// second subgraph. BatchNorm is folded into the convolutions here; everything is planned for one
// batch size at a time and re-planned only when a different batch size arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "folia.h"
#include "folia/model-file.h"

struct xnn_subgraph;

namespace folia::engine {

// One conv block with BatchNorm folded in: weights are (C_out, 3, 3, C_in) f32 (OHWI, XNNPACK's
// filter layout), bias (C_out).
struct folded_conv {
    int c_in = 0;
    int c_out = 0;
    std::vector<float> weights;
    std::vector<float> bias;
};

// Everything the runtime needs, in XNNPACK layouts. fc weights keep PyTorch's (out, in) layout,
// which is XNNPACK's fully-connected filter layout too.
struct network_weights {
    int input_size = 0;  // S: input is (N, S, S, 3)
    std::vector<folded_conv> convs;
    int hidden = 0;
    int num_classes = 0;
    std::vector<float> fc1_weight;  // (hidden, C_last)
    std::vector<float> fc1_bias;    // (hidden)
    std::vector<float> fc2_weight;  // (num_classes, hidden)
    std::vector<float> fc2_bias;    // (num_classes)
};

// Folds BN (y = gamma * (conv + b - mean) / sqrt(var + eps) + beta) into each conv, in double,
// and reorders OIHW to OHWI. The model must have passed parse_model_file's shape checks.
network_weights fold_model(const model_file &model);

// Spatial size after the conv blocks (each max-pool 2x2/2 floors), 0 if it would vanish.
int final_spatial_size(int input_size, size_t num_blocks);

// What run() writes: the logits (inference), or the trunk features after global average
// pooling (on-device teaching trains the head on those). A separate runtime per kind, so the
// inference graph stays exactly as fast as before.
enum class graph_output { logits, features };

// How the conv blocks with >= 8 input channels run (folia_params.conv_algo).
enum class conv_algo { winograd = FOLIA_CONV_WINOGRAD, xnnpack = FOLIA_CONV_XNNPACK };

class xnnpack_graph {
  public:
    // num_threads 1: no thread pool (runs on the caller's thread).
    // profile: per-stage timings (XNNPACK's basic profiling per operator, the Winograd stages
    // timed here; see last_profile()).
    static folia_status create(network_weights weights, int num_threads, bool profile,
                               std::unique_ptr<xnnpack_graph> *out, std::string *error,
                               graph_output output = graph_output::logits,
                               conv_algo algo = conv_algo::winograd);
    ~xnnpack_graph();
    xnnpack_graph(const xnnpack_graph &) = delete;
    xnnpack_graph &operator=(const xnnpack_graph &) = delete;

    int input_size() const { return weights_.input_size; }
    int num_classes() const { return weights_.num_classes; }
    // Floats per image run() writes: num_classes (logits) or C_last (features).
    int num_outputs() const { return num_outputs_; }
    size_t input_floats_per_image() const;

    // Input buffer for `batch` images, (batch, S, S, 3) f32, padded for XNNPACK's over-reads.
    // Valid until the next call with a different batch; run() reads from it.
    float *input_buffer(int batch);

    // Runs the network on input_buffer(batch)'s contents; logits is (batch, num_outputs()).
    folia_status run(int batch, float *logits, std::string *error);

    // (stage name, milliseconds) of the last run, in order; empty unless created with
    // profile = true. XNNPACK operators keep XNNPACK's names; a Winograd block k (1-based) gives
    // "winograd-in convk", "bmm convk" and "winograd-out+pool convk".
    std::vector<std::pair<std::string, double>> last_profile() const;

  private:
    xnnpack_graph() = default;
    folia_status plan(int batch, std::string *error);
    // Splits the blocks into stages (one subgraph, or stem / Winograd blocks / head).
    folia_status build_stages(graph_output output, conv_algo algo, bool profile,
                              std::string *error);

    network_weights weights_;
    int num_outputs_ = 0;
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace folia::engine
