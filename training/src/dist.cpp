// dist.cpp: c10d process group, gradient buckets, synchronised BatchNorm, global-batch dropout.
#include "dist.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <mutex>

namespace folia::train {

namespace {

using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds ms(double s) {
    return std::chrono::milliseconds(int64_t(s * 1000));
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string heartbeat_key(int rank) {
    return "folia/heartbeat/" + std::to_string(rank);
}

bool is_loopback(const std::string &host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Gloo's transport device: which local interface this rank listens on. Loopback masters keep
// everything on 127.0.0.1 (tests, one machine); GLOO_SOCKET_IFNAME picks an interface on a
// machine with several; otherwise the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string &master_host) {
    if (is_loopback(master_host))
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    const char *ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::TCPStore> store_client(const std::string &host, uint16_t port,
                                                double timeout_s) {
    c10d::TCPStoreOptions so;
    so.port = port;
    so.isServer = false;
    so.waitWorkers = false;
    so.timeout = ms(timeout_s);
    return c10::make_intrusive<c10d::TCPStore>(host, so);
}

}  // namespace

std::shared_ptr<dist_group> dist_group::connect(const dist_options &o, double rendezvous_s) {
    std::shared_ptr<dist_group> g(new dist_group());
    g->rank_ = o.rank;
    g->size_ = o.world_size;
    g->timeout_s_ = o.timeout_s;
    std::tie(g->host_, g->port_) = parse_host_port(o.master);
    c10d::TCPStoreOptions so;
    so.port = g->port_;
    so.isServer = o.rank == 0;
    so.numWorkers = size_t(o.world_size);
    so.waitWorkers = true;
    so.timeout = ms(rendezvous_s);
    try {
        g->store_ = c10::make_intrusive<c10d::TCPStore>(g->host_, so);
        auto opts = c10d::ProcessGroupGloo::Options::create(ms(o.timeout_s));
        opts->devices.push_back(gloo_device(g->host_));
        g->pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store_, o.rank, o.world_size, opts);
    } catch (const std::exception &e) {
        throw std::runtime_error(fmt::format("rank {} of {}: rendezvous at {} failed: {}", o.rank,
                                             o.world_size, o.master, e.what()));
    }
    g->store_->setTimeout(ms(o.timeout_s));
    g->heartbeat_ = std::thread([p = g.get()] { p->heartbeat_loop(); });
    return g;
}

dist_group::~dist_group() {
    stop_ = true;
    if (heartbeat_.joinable()) heartbeat_.join();
}

void dist_group::heartbeat_loop() {
    // Its own connection, so a blocking store call elsewhere never delays a beat.
    try {
        auto s = store_client(host_, port_, 5);
        while (!stop_) {
            s->add(heartbeat_key(rank_), 1);
            for (int i = 0; i < 10 && !stop_; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    } catch (const std::exception &) {
        // The store is gone (rank 0 lost): the training loop reports it at its next collective.
    }
}

std::string dist_group::lost_ranks_message(const std::string &error) const {
    std::vector<int> lost;
    try {
        auto s = store_client(host_, port_, 5);
        std::vector<int64_t> before;
        for (int r = 0; r < size_; ++r) before.push_back(s->add(heartbeat_key(r), 0));
        // Beats come every second: 3 s without one means that rank is gone (or frozen).
        std::this_thread::sleep_for(std::chrono::seconds(3));
        for (int r = 0; r < size_; ++r)
            if (r != rank_ && s->add(heartbeat_key(r), 0) == before[size_t(r)]) lost.push_back(r);
    } catch (const std::exception &) {
        if (rank_ != 0)
            return fmt::format("rank 0 lost (it hosts the store at {}:{}): {}", host_, port_,
                               error);
    }
    if (lost.empty())
        return fmt::format("rank {} failed (every other rank still beats): {}", rank_, error);
    std::string names;
    for (int r : lost) names += (names.empty() ? "" : ", ") + std::to_string(r);
    return fmt::format("rank{} {} lost: {}", lost.size() > 1 ? "s" : "", names, error);
}

void dist_group::allreduce_sum(torch::Tensor &t) {
    const auto t0 = clock_type::now();
    allreduce_sum_async(t)->wait();
    stats.blocking_s += seconds_since(t0);
}

c10::intrusive_ptr<c10d::Work> dist_group::allreduce_sum_async(torch::Tensor &t) {
    std::vector<torch::Tensor> v{t};
    ++stats.allreduce_calls;
    stats.allreduce_bytes += int64_t(t.numel() * t.element_size());
    return pg_->allreduce(v);
}

void dist_group::broadcast(torch::Tensor &t, int root) {
    std::vector<torch::Tensor> v{t};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    pg_->broadcast(v, bo)->wait();
}

void dist_group::barrier() {
    pg_->barrier()->wait();
}

// --- gradient buckets ----------------------------------------------------------------------

struct grad_reducer::state {
    struct bucket {
        torch::Tensor flat;  // (numel) f32: the bucket's gradients, then their sum over ranks
        std::vector<size_t> params;
        int pending = 0;  // gradients not yet copied in this step
        c10::intrusive_ptr<c10d::Work> work;
    };
    std::shared_ptr<dist_group> g;
    std::vector<torch::Tensor> params;
    std::vector<size_t> bucket_of;
    std::vector<int64_t> offset_of;
    std::vector<char> ready;
    std::vector<bucket> buckets;
    size_t next_launch = 0;
    bool active = false;
    std::mutex m;

    torch::Tensor slice_of(size_t i) {
        const torch::Tensor &p = params[i];
        return buckets[bucket_of[i]]
            .flat.slice(0, offset_of[i], offset_of[i] + p.numel())
            .view(p.sizes());
    }
    // Buckets are launched strictly in index order, so every rank issues the same sequence of
    // collectives (Gloo matches them by order) even if hooks fire in another order.
    void launch_ready() {
        while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
            bucket &b = buckets[next_launch++];
            b.work = g->allreduce_sum_async(b.flat);
        }
    }
    void on_grad(size_t i, const torch::Tensor &grad) {
        std::lock_guard<std::mutex> lock(m);
        if (!active || ready[i]) return;
        slice_of(i).copy_(grad);
        ready[i] = 1;
        --buckets[bucket_of[i]].pending;
        launch_ready();
    }
};

grad_reducer::grad_reducer(std::shared_ptr<dist_group> g, const std::vector<torch::Tensor> &params,
                           int64_t bucket_bytes)
    : s_(std::make_shared<state>()) {
    s_->g = std::move(g);
    s_->params = params;
    const size_t n = params.size();
    s_->bucket_of.assign(n, 0);
    s_->offset_of.assign(n, 0);
    s_->ready.assign(n, 0);
    // Reverse registration order: the head's gradients are computed first in backward.
    std::vector<int64_t> sizes;
    for (size_t k = n; k-- > 0;) {
        const int64_t numel = params[k].numel();
        if (sizes.empty() || (sizes.back() > 0 && (sizes.back() + numel) * 4 > bucket_bytes)) {
            sizes.push_back(0);
            s_->buckets.emplace_back();
        }
        s_->bucket_of[k] = sizes.size() - 1;
        s_->offset_of[k] = sizes.back();
        sizes.back() += numel;
        s_->buckets.back().params.push_back(k);
    }
    for (size_t b = 0; b < sizes.size(); ++b) s_->buckets[b].flat = torch::zeros({sizes[b]});
    for (size_t k = 0; k < n; ++k) {
        torch::Tensor p = params[k];
        p.register_hook([s = s_, k](const torch::Tensor &grad) { s->on_grad(k, grad); });
    }
}

void grad_reducer::prepare() {
    std::lock_guard<std::mutex> lock(s_->m);
    std::fill(s_->ready.begin(), s_->ready.end(), 0);
    for (auto &b : s_->buckets) {
        b.pending = int(b.params.size());
        b.work.reset();
    }
    s_->next_launch = 0;
    s_->active = true;
}

void grad_reducer::finish() {
    {
        std::lock_guard<std::mutex> lock(s_->m);
        // Parameters without a gradient this step contribute zeros (same collectives on all).
        for (size_t i = 0; i < s_->params.size(); ++i)
            if (!s_->ready[i]) {
                s_->slice_of(i).zero_();
                s_->ready[i] = 1;
                --s_->buckets[s_->bucket_of[i]].pending;
            }
        s_->launch_ready();
        s_->active = false;
    }
    const double inv = 1.0 / s_->g->size();
    const auto t0 = clock_type::now();
    for (auto &b : s_->buckets) {
        b.work->wait();
        b.flat.mul_(inv);
    }
    s_->g->stats.blocking_s += seconds_since(t0);
    torch::NoGradGuard ng;
    for (size_t i = 0; i < s_->params.size(); ++i) {
        torch::Tensor &p = s_->params[i];
        if (p.grad().defined())
            p.mutable_grad().copy_(s_->slice_of(i));
        else
            p.mutable_grad() = s_->slice_of(i).clone();
    }
}

int64_t grad_reducer::bytes_per_step() const {
    int64_t n = 0;
    for (const auto &b : s_->buckets) n += b.flat.numel() * 4;
    return n;
}

size_t grad_reducer::buckets() const {
    return s_->buckets.size();
}

// --- synchronised BatchNorm ---------------------------------------------------------------

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Per-channel (C) statistics viewed for broadcasting against (N,C,H,W).
torch::Tensor per_channel(const torch::Tensor &v) {
    return v.view({1, -1, 1, 1});
}

struct sync_bn_function : torch::autograd::Function<sync_bn_function> {
    static torch::Tensor forward(AutogradContext *ctx, torch::Tensor x, torch::Tensor weight,
                                 torch::Tensor bias, dist_group *g,
                                 torch::nn::BatchNorm2dImpl *bn) {
        const int64_t c = x.size(1);
        // [sum (C), sum of squares (C), count (1)] in f64, summed over ranks in one call.
        torch::Tensor stats = torch::cat(
            {x.sum({0, 2, 3}).to(torch::kFloat64), (x * x).sum({0, 2, 3}).to(torch::kFloat64),
             torch::full({1}, double(x.numel() / c), torch::kFloat64)});
        g->allreduce_sum(stats);
        const double n = stats[2 * c].item<double>();
        const torch::Tensor mean = stats.slice(0, 0, c) / n;
        const torch::Tensor var = (stats.slice(0, c, 2 * c) / n - mean * mean).clamp_min(0);
        const torch::Tensor invstd = (var + bn->options.eps()).rsqrt();
        {
            const double m = bn->options.momentum().value_or(0.1);
            bn->running_mean.mul_(1 - m).add_(mean.to(torch::kFloat32), m);
            bn->running_var.mul_(1 - m).add_((var * (n / std::max(1.0, n - 1))).to(torch::kFloat32),
                                             m);
            bn->num_batches_tracked.add_(1);
        }
        const torch::Tensor scale = (weight.to(torch::kFloat64) * invstd).to(torch::kFloat32);
        const torch::Tensor shift = bias - mean.to(torch::kFloat32) * scale;
        ctx->save_for_backward({x, weight});
        ctx->saved_data["mean"] = mean.to(torch::kFloat32);
        ctx->saved_data["invstd"] = invstd.to(torch::kFloat32);
        ctx->saved_data["n"] = n;
        ctx->saved_data["group"] = reinterpret_cast<int64_t>(g);
        return x * per_channel(scale) + per_channel(shift);
    }

    static variable_list backward(AutogradContext *ctx, variable_list grad_out) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &weight = saved[1];
        const torch::Tensor dy = grad_out[0];
        const torch::Tensor mean = ctx->saved_data["mean"].toTensor();
        const torch::Tensor invstd = ctx->saved_data["invstd"].toTensor();
        const double n = ctx->saved_data["n"].toDouble();
        auto *g = reinterpret_cast<dist_group *>(ctx->saved_data["group"].toInt());
        const int64_t c = x.size(1);
        const torch::Tensor xhat = (x - per_channel(mean)) * per_channel(invstd);
        const torch::Tensor sum_dy = dy.sum({0, 2, 3});
        const torch::Tensor sum_dy_xhat = (dy * xhat).sum({0, 2, 3});
        // The global sums give dx; weight and bias keep their local gradients (grad_reducer
        // sums those over ranks like every other parameter's).
        torch::Tensor both = torch::cat({sum_dy, sum_dy_xhat}).to(torch::kFloat64);
        g->allreduce_sum(both);
        const torch::Tensor mean_dy = (both.slice(0, 0, c) / n).to(torch::kFloat32);
        const torch::Tensor mean_dy_xhat = (both.slice(0, c, 2 * c) / n).to(torch::kFloat32);
        const torch::Tensor dx = (dy - per_channel(mean_dy) - xhat * per_channel(mean_dy_xhat)) *
                                 per_channel(weight * invstd);
        return {dx, sum_dy_xhat, sum_dy, torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

torch::Tensor sync_batch_norm(dist_group &g, torch::nn::BatchNorm2dImpl &bn,
                              const torch::Tensor &x) {
    return sync_bn_function::apply(x, bn.weight, bn.bias, &g, &bn);
}

torch::Tensor global_batch_dropout(const torch::Tensor &x, double p, int64_t global_rows,
                                   int64_t offset) {
    if (p <= 0) return x;
    if (offset < 0 || offset + x.size(0) > global_rows)
        throw std::logic_error(fmt::format("dropout rows [{}, {}) outside a global batch of {}",
                                           offset, offset + x.size(0), global_rows));
    // at::dropout on CPU: empty_like(input).bernoulli_(1 - p), divided by 1 - p, times input.
    torch::Tensor mask = torch::empty({global_rows, x.size(1)}, x.options());
    mask.bernoulli_(1 - p);
    mask.div_(1 - p);
    return x * mask.slice(0, offset, offset + x.size(0));
}

void make_model_distributed(folia_net &model, const std::shared_ptr<dist_group> &g, bool sync_bn) {
    {
        torch::NoGradGuard ng;
        auto copy_from_rank0 = [&](torch::Tensor t) {
            torch::Tensor c = t.contiguous().clone();
            g->broadcast(c, 0);
            t.copy_(c);
        };
        for (auto &p : model->parameters()) copy_from_rank0(p);
        for (auto &b : model->buffers()) copy_from_rank0(b);
    }
    batch_norm_fn bn;
    if (sync_bn)
        bn = [g](torch::nn::BatchNorm2dImpl &m, const torch::Tensor &x) {
            return sync_batch_norm(*g, m, x);
        };
    dropout_fn drop = [g](const torch::Tensor &x, double p) {
        return global_batch_dropout(x, p, g->global_rows, g->row_offset);
    };
    model->set_training_ops(bn, drop);
}

}  // namespace folia::train
