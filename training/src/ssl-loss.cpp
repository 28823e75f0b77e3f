// ssl-loss.cpp
#include "ssl-loss.h"

#include <stdexcept>

namespace folia::train::ssl {

namespace {

torch::Tensor ce_per_item(const torch::Tensor &logits, const torch::Tensor &y) {
    // (B,K), (B) -> (B): -log softmax(logits)[y], via log_softmax for stability.
    return -torch::log_softmax(logits, 1).gather(1, y.view({-1, 1})).view({-1});
}

}  // namespace

torch::Tensor pseudo_label_loss(const torch::Tensor &logits, const torch::Tensor &y_hat,
                                const torch::Tensor &w) {
    if (logits.size(0) == 0) return torch::zeros({}, logits.options());
    return (w * ce_per_item(logits, y_hat)).sum() / (w.sum() + 1e-8);
}

ssl_loss_terms ssl_loss(const torch::Tensor &logits, const torch::Tensor &y,
                        const torch::Tensor &weight, const torch::Tensor &source,
                        double pseudo_scale, const torch::Tensor &class_weights) {
    ssl_loss_terms t;
    const torch::Tensor zero = torch::zeros({}, logits.options());
    const torch::Tensor lab = source.eq(0).nonzero().view({-1});
    const torch::Tensor pse = source.eq(1).nonzero().view({-1});
    t.labeled = zero;
    if (lab.numel() > 0) {
        const torch::Tensor ly = y.index_select(0, lab);
        const torch::Tensor ce = ce_per_item(logits.index_select(0, lab), ly);
        if (class_weights.defined()) {
            const torch::Tensor c = class_weights.index_select(0, ly);
            t.labeled = (c * ce).sum() / (c.sum() + 1e-8);
        } else {
            t.labeled = ce.mean();
        }
    }
    t.pseudo = zero;
    if (pse.numel() > 0)
        t.pseudo = pseudo_label_loss(logits.index_select(0, pse), y.index_select(0, pse),
                                     weight.index_select(0, pse));
    t.total = t.labeled + pseudo_scale * t.pseudo;
    return t;
}

fixmatch_terms fixmatch_loss(const torch::Tensor &logits, const torch::Tensor &y,
                             const torch::Tensor &source, const torch::Tensor &weak_logits,
                             const torch::Tensor &weak_rows, const std::vector<double> &tau,
                             double lambda_u) {
    if (int64_t(tau.size()) != logits.size(1))
        throw std::invalid_argument("fixmatch_loss: one threshold per class is needed");
    fixmatch_terms t;
    const torch::Tensor zero = torch::zeros({}, logits.options());
    const torch::Tensor lab = source.eq(0).nonzero().view({-1});
    t.labeled = lab.numel() > 0
                    ? ce_per_item(logits.index_select(0, lab), y.index_select(0, lab)).mean()
                    : zero;
    t.unlabeled = zero;
    t.y_hat = torch::zeros({0}, torch::kInt64);
    t.confidence = torch::zeros({0});
    t.mask = torch::zeros({0}, torch::kBool);
    if (weak_rows.defined() && weak_rows.numel() > 0) {
        const torch::Tensor q = torch::softmax(weak_logits.detach().to(torch::kFloat32), 1);
        const auto [conf, y_hat] = q.max(1);
        const torch::Tensor thr =
            torch::tensor(std::vector<float>(tau.begin(), tau.end())).index_select(0, y_hat);
        t.y_hat = y_hat;
        t.confidence = conf;
        t.mask = conf.ge(thr);
        const torch::Tensor ce = ce_per_item(logits.index_select(0, weak_rows), y_hat);
        t.unlabeled = (ce * t.mask.to(ce.dtype())).sum() / double(weak_rows.numel());
    }
    t.total = t.labeled + lambda_u * t.unlabeled;
    return t;
}

}  // namespace folia::train::ssl
