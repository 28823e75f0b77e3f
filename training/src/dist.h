// dist.h: data-parallel training on LibTorch's c10d with the Gloo backend (CPU, TCP).
//
// N ranks (processes, on one or several machines) meet at rank 0's c10d::TCPStore
// (--master HOST:PORT, or MASTER_ADDR / MASTER_PORT) and form a ProcessGroupGloo. Each rank
// trains on its slice of the same global batch (trainer.h); then per step:
//   - grad_reducer all-reduces the gradients in flat ~1 MiB buckets, each launched
//     asynchronously from the parameters' gradient hooks as soon as its last gradient is
//     computed, so communication overlaps the rest of the backward pass;
//   - sync_batch_norm (an autograd function) all-reduces each BatchNorm's per-channel sum, sum
//     of squares and count forward, and the two gradient sums backward, so the statistics are
//     those of the global batch: N ranks x batch B train to the weights of one process with
//     batch N*B (up to float rounding);
//   - global_batch_dropout draws the dropout mask of the whole global batch on every rank (the
//     same torch generator state everywhere) and keeps this rank's rows: the one-process run
//     draws exactly that mask too.
// A rank that dies or hangs makes every collective of the others fail (connection reset at
// once, or the process group's timeout); lost_ranks_message() then names it from the
// heartbeats every rank keeps in the store.
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "model.h"
#include "options.h"

namespace folia::train {

// Communication counters (bytes are this rank's payload, not the wire traffic).
struct comm_stats {
    int64_t allreduce_calls = 0, allreduce_bytes = 0;
    double blocking_s = 0;  // time this rank waited inside blocking all-reduces and bucket waits
};

class dist_group {
  public:
    // Rendezvous: rank 0 hosts the TCPStore; everyone waits up to rendezvous_s for the others.
    // o must be resolved (resolve_dist_options) with world_size > 1.
    static std::shared_ptr<dist_group> connect(const dist_options &o, double rendezvous_s = 600);
    ~dist_group();

    int rank() const { return rank_; }
    int size() const { return size_; }
    // In-place sum over ranks, blocking. Throws c10::Error when a rank is lost.
    void allreduce_sum(torch::Tensor &t);
    c10::intrusive_ptr<c10d::Work> allreduce_sum_async(torch::Tensor &t);
    void broadcast(torch::Tensor &t, int root = 0);
    void barrier();

    // The rows of the current global batch (set by the trainer every step; dropout uses them).
    int64_t global_rows = 0, row_offset = 0;
    comm_stats stats;

    // "rank 1 lost: <e>" when heartbeats show which ranks stopped (waits ~3 s to see), "rank 0
    // lost (it hosts the store at H:P): <e>" when the store is gone, else a generic message.
    std::string lost_ranks_message(const std::string &error) const;

  private:
    dist_group() = default;
    void heartbeat_loop();
    int rank_ = 0, size_ = 1;
    std::string host_;
    uint16_t port_ = 0;
    double timeout_s_ = 30;
    c10::intrusive_ptr<c10d::Store> store_;
    c10::intrusive_ptr<c10d::ProcessGroup> pg_;
    std::atomic<bool> stop_{false};
    std::thread heartbeat_;
};

// Averages gradients over ranks (see the file comment). Register once per model; call
// prepare() before backward() and finish() after it (finish waits for every bucket and
// writes the averaged gradients into the parameters' .grad).
class grad_reducer {
  public:
    grad_reducer(std::shared_ptr<dist_group> g, const std::vector<torch::Tensor> &params,
                 int64_t bucket_bytes = int64_t(1) << 20);
    void prepare();
    void finish();
    int64_t bytes_per_step() const;  // gradient payload per rank per step
    size_t buckets() const;

    struct state;  // shared with the hooks (which outlive nothing: they check `active`)

  private:
    std::shared_ptr<state> s_;
};

// BatchNorm over the global batch (training mode): x (N,C,H,W) -> (N,C,H,W); updates the
// module's running statistics and num_batches_tracked like LibTorch's BatchNorm2d.
torch::Tensor sync_batch_norm(dist_group &g, torch::nn::BatchNorm2dImpl &bn,
                              const torch::Tensor &x);

// Dropout (training mode) of rows [offset, offset + N) of a global batch of global_rows rows:
// the mask is drawn for (global_rows, D) exactly as at::dropout draws it for one process.
torch::Tensor global_batch_dropout(const torch::Tensor &x, double p, int64_t global_rows,
                                   int64_t offset);

// Installs sync_batch_norm (if sync_bn) and global_batch_dropout on the model, and copies rank
// 0's parameters and buffers to every rank.
void make_model_distributed(folia_net &model, const std::shared_ptr<dist_group> &g, bool sync_bn);

}  // namespace folia::train
