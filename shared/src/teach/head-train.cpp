// head-train.cpp: forward, backward, softmax cross-entropy and Adam for the classifier head
// (see head-train.h for the determinism rules this file follows).
#include "head-train.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace folia::teach {

namespace {

float scalar_exp(float x) {
    return det_exp(x);
}
double scalar_exp(double x) {
    return std::exp(x);
}
float scalar_log(float x) {
    return det_log(x);
}
double scalar_log(double x) {
    return std::log(x);
}

}  // namespace

float det_exp(float x) {
    if (!(x > -87.0f)) return x != x ? x : 0.0f;  // NaN stays NaN; underflow to 0
    if (x > 88.0f) x = 88.0f;
    // x = k ln2 + r, |r| <= ln2 / 2; ln2 split in two so k * ln2_hi is exact.
    const float t = x * 1.44269504f;
    const int k = int(t < 0.0f ? t - 0.5f : t + 0.5f);
    const float r = (x - float(k) * 0.693145751953125f) - float(k) * 1.428606765330187e-06f;
    // exp(r) by Taylor to r^9 (|error| < 2e-10 relative on |r| <= 0.35), Horner form.
    float p = 1.0f;
    for (int n = 9; n >= 1; --n) p = 1.0f + r * p / float(n);
    // 2^k built from its bits; k in [-126, 127] here. Split for k = 128 (x near 88).
    const int k1 = k > 127 ? 127 : k;
    uint32_t bits = uint32_t(k1 + 127) << 23;
    float s;
    std::memcpy(&s, &bits, 4);
    p *= s;
    if (k > 127) p *= 2.0f;
    return p;
}

// Natural log for x > 0 (as augment.cpp): x = m 2^e, log m = 2 atanh((m - 1) / (m + 1)).
float det_log(float x) {
    if (!(x > 0.0f)) return x == 0.0f ? -INFINITY : NAN;
    if (x < 1.17549435e-38f) x = 1.17549435e-38f;  // denormals: clamp (only ever in a loss)
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    int e = int((bits >> 23) & 0xFF) - 127;
    bits = (bits & 0x007FFFFFu) | 0x3F800000u;
    float m;
    std::memcpy(&m, &bits, 4);
    if (m > 1.41421356f) {
        m *= 0.5f;
        e += 1;
    }
    const float s = (m - 1.0f) / (m + 1.0f);
    const float s2 = s * s;
    float t = 1.0f / 13.0f;
    for (int k = 11; k >= 1; k -= 2) t = 1.0f / float(k) + s2 * t;
    return 2.0f * s * t + float(e) * 0.693147180559945f;
}

template <class T>
void head<T>::resize(int in_, int hidden_, int classes_) {
    in = in_;
    hidden = hidden_;
    classes = classes_;
    w1.assign(size_t(hidden) * size_t(in), T(0));
    b1.assign(size_t(hidden), T(0));
    w2.assign(size_t(classes) * size_t(hidden), T(0));
    b2.assign(size_t(classes), T(0));
}

// out (rows, cols) = in (cols, rows) transposed.
template <class T>
void transpose(const std::vector<T> &in, size_t rows, size_t cols, std::vector<T> *out) {
    out->resize(rows * cols);
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) (*out)[c * rows + r] = in[r * cols + c];
}

// Every sum below runs over its terms in index order starting from the bias, exactly like the
// textbook loop "acc = b[j]; for i: acc += w[j][i] * x[i]"; the loops are only arranged so the
// innermost one is an axpy over independent outputs (transposed weights), which compilers
// vectorise without reordering any sum. So the results are bit-identical to the plain loops.
template <class T>
void head_forward(const head<T> &m, const T *x, int batch, const T *mask, head_cache<T> *c) {
    const size_t H = size_t(m.hidden), N = size_t(m.classes), I = size_t(m.in);
    c->batch = batch;
    c->relu.resize(size_t(batch) * H);
    c->h.resize(size_t(batch) * H);
    c->logits.resize(size_t(batch) * N);
    transpose(m.w1, H, I, &c->w1t);  // (in, hidden)
    transpose(m.w2, N, H, &c->w2t);  // (hidden, classes)
    for (size_t b = 0; b < size_t(batch); ++b) {
        const T *xb = x + b * I;
        T *acc = c->relu.data() + b * H;
        for (size_t j = 0; j < H; ++j) acc[j] = m.b1[j];
        for (size_t i = 0; i < I; ++i) {
            const T xi = xb[i];
            const T *w = c->w1t.data() + i * H;
            for (size_t j = 0; j < H; ++j) acc[j] += w[j] * xi;
        }
        T *hb = c->h.data() + b * H;
        for (size_t j = 0; j < H; ++j) {
            acc[j] = acc[j] > T(0) ? acc[j] : T(0);
            hb[j] = mask ? acc[j] * mask[b * H + j] : acc[j];
        }
        T *lb = c->logits.data() + b * N;
        for (size_t k = 0; k < N; ++k) lb[k] = m.b2[k];
        for (size_t j = 0; j < H; ++j) {
            const T hj = hb[j];
            const T *w = c->w2t.data() + j * N;
            for (size_t k = 0; k < N; ++k) lb[k] += w[k] * hj;
        }
    }
}

template <class T>
T softmax_cross_entropy(const T *logits, const int *labels, int batch, int classes, T *dlogits) {
    T loss = T(0);
    const T inv_b = T(1) / T(batch);
    for (int b = 0; b < batch; ++b) {
        const T *l = logits + size_t(b) * size_t(classes);
        T *d = dlogits + size_t(b) * size_t(classes);
        T mx = l[0];
        for (int k = 1; k < classes; ++k) mx = l[k] > mx ? l[k] : mx;
        T sum = T(0);
        for (int k = 0; k < classes; ++k) sum += d[k] = scalar_exp(l[k] - mx);
        // loss_b = log(sum) - (l_y - max); d loss / d l_k = (softmax_k - [k == y]) / B.
        loss += scalar_log(sum) - (l[labels[b]] - mx);
        for (int k = 0; k < classes; ++k) d[k] = d[k] / sum * inv_b;
        d[labels[b]] -= inv_b;
    }
    return loss * inv_b;
}

template <class T>
void head_backward(const head<T> &m, const T *x, const T *mask, const head_cache<T> &c,
                   const T *dlogits, head<T> *g) {
    const size_t H = size_t(m.hidden), N = size_t(m.classes), I = size_t(m.in);
    g->resize(m.in, m.hidden, m.classes);
    std::vector<T> dpre(H);  // d loss / d (fc1 output before ReLU) for one sample
    for (size_t b = 0; b < size_t(c.batch); ++b) {
        const T *d = dlogits + b * N;
        const T *hb = c.h.data() + b * H;
        for (size_t k = 0; k < N; ++k) {
            T *gw = g->w2.data() + k * H;
            const T dk = d[k];
            for (size_t j = 0; j < H; ++j) gw[j] += dk * hb[j];
            g->b2[k] += dk;
        }
        // dh[j] = sum over k of d[k] * w2[k][j], k in order (axpy over j).
        for (size_t j = 0; j < H; ++j) dpre[j] = T(0);
        for (size_t k = 0; k < N; ++k) {
            const T dk = d[k];
            const T *w = m.w2.data() + k * H;
            for (size_t j = 0; j < H; ++j) dpre[j] += dk * w[j];
        }
        for (size_t j = 0; j < H; ++j) {
            const T dh = mask ? dpre[j] * mask[b * H + j] : dpre[j];
            dpre[j] = c.relu[b * H + j] > T(0) ? dh : T(0);
        }
        const T *xb = x + b * I;
        for (size_t j = 0; j < H; ++j) {
            if (dpre[j] == T(0)) continue;  // a dead unit adds exact zeros: skip them
            T *gw = g->w1.data() + j * I;
            const T dj = dpre[j];
            for (size_t i = 0; i < I; ++i) gw[i] += dj * xb[i];
            g->b1[j] += dj;
        }
    }
}

namespace {

// Updates p[begin, end).
void adam_update(std::vector<float> &p, const std::vector<float> &g, std::vector<float> &m,
                 std::vector<float> &v, const adam_state &a, float step_size, float sqrt_bc2,
                 size_t begin = 0, size_t end = SIZE_MAX) {
    end = end < p.size() ? end : p.size();
    for (size_t i = begin; i < end; ++i) {
        const float gi = g[i] + a.weight_decay * p[i];
        m[i] = a.beta1 * m[i] + (1.0f - a.beta1) * gi;
        v[i] = a.beta2 * v[i] + (1.0f - a.beta2) * gi * gi;
        p[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + a.eps);
    }
}

}  // namespace

void adam_state::step(head<float> *p, const head<float> &g) {
    if (m.w2.size() != p->w2.size() || m.w1.size() != p->w1.size()) {
        m.resize(p->in, p->hidden, p->classes);
        v.resize(p->in, p->hidden, p->classes);
    }
    ++t;
    beta1_t *= beta1;
    beta2_t *= beta2;
    const float step_size = lr / (1.0f - beta1_t);
    const float sqrt_bc2 = std::sqrt(1.0f - beta2_t);
    if (train_fc1) {
        adam_update(p->w1, g.w1, m.w1, v.w1, *this, step_size, sqrt_bc2);
        adam_update(p->b1, g.b1, m.b1, v.b1, *this, step_size, sqrt_bc2);
    }
    if (fc2_rows.empty()) {
        adam_update(p->w2, g.w2, m.w2, v.w2, *this, step_size, sqrt_bc2);
        adam_update(p->b2, g.b2, m.b2, v.b2, *this, step_size, sqrt_bc2);
        return;
    }
    const size_t H = size_t(p->hidden);
    for (size_t k = 0; k < size_t(p->classes); ++k) {
        if (k < fc2_rows.size() && !fc2_rows[k]) continue;
        adam_update(p->w2, g.w2, m.w2, v.w2, *this, step_size, sqrt_bc2, k * H, (k + 1) * H);
        adam_update(p->b2, g.b2, m.b2, v.b2, *this, step_size, sqrt_bc2, k, k + 1);
    }
}

void grow_head(head<float> *m, const std::vector<float> &mean_h, int new_classes) {
    const size_t H = size_t(m->hidden);
    const int old = m->classes;
    for (int c = 0; c < new_classes; ++c) {
        const float *h = mean_h.data() + size_t(c) * H;
        float best = 0.0f, norm2 = 0.0f;
        for (int k = 0; k < old; ++k) {
            float acc = m->b2[size_t(k)];
            for (size_t j = 0; j < H; ++j) acc += m->w2[size_t(k) * H + j] * h[j];
            best = k == 0 || acc > best ? acc : best;
        }
        for (size_t j = 0; j < H; ++j) norm2 += h[j] * h[j];
        const float target = best > 1.0f ? best : 1.0f;
        const float scale = norm2 > 0.0f ? target / norm2 : 0.0f;
        for (size_t j = 0; j < H; ++j) m->w2.push_back(h[j] * scale);
        m->b2.push_back(0.0f);
    }
    m->classes = old + new_classes;
}

template struct head<float>;
template struct head<double>;
template void head_forward(const head<float> &, const float *, int, const float *,
                           head_cache<float> *);
template void head_forward(const head<double> &, const double *, int, const double *,
                           head_cache<double> *);
template float softmax_cross_entropy(const float *, const int *, int, int, float *);
template double softmax_cross_entropy(const double *, const int *, int, int, double *);
template void head_backward(const head<float> &, const float *, const float *,
                            const head_cache<float> &, const float *, head<float> *);
template void head_backward(const head<double> &, const double *, const double *,
                            const head_cache<double> &, const double *, head<double> *);

}  // namespace folia::teach
