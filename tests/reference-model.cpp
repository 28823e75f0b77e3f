// reference-model.cpp: folia-cnn4 written out the slow, obvious way (see reference-model.h).
#include "reference-model.h"

#include <algorithm>
#include <cmath>

namespace folia_test {

namespace {

// a is (C, H, W) double.
struct planes {
    int c = 0, h = 0, w = 0;
    std::vector<double> v;
    double &at(int ci, int y, int x) { return v[(size_t(ci) * h + y) * w + x]; }
    double at(int ci, int y, int x) const { return v[(size_t(ci) * h + y) * w + x]; }
};

const std::vector<float> &t(const folia::model_file &m, const std::string &name) {
    return m.tensors.at(name).data;
}

// 3x3 convolution, zero padding 1, stride 1; weight is (C_out, C_in, 3, 3) as PyTorch stores it.
planes conv3x3(const planes &in, const std::vector<float> &weight, const std::vector<float> &bias,
               int c_out) {
    planes out{c_out, in.h, in.w, std::vector<double>(size_t(c_out) * in.h * in.w)};
    for (int o = 0; o < c_out; ++o) {
        for (int y = 0; y < in.h; ++y)
            for (int x = 0; x < in.w; ++x) out.at(o, y, x) = bias[size_t(o)];
        for (int ci = 0; ci < in.c; ++ci)
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                    const double w = weight[((size_t(o) * in.c + ci) * 3 + ky) * 3 + kx];
                    for (int y = 0; y < in.h; ++y) {
                        const int iy = y + ky - 1;
                        if (iy < 0 || iy >= in.h) continue;
                        for (int x = 0; x < in.w; ++x) {
                            const int ix = x + kx - 1;
                            if (ix < 0 || ix >= in.w) continue;
                            out.at(o, y, x) += w * in.at(ci, iy, ix);
                        }
                    }
                }
    }
    return out;
}

void batchnorm_relu(planes &a, const folia::model_file &m, const std::string &p) {
    const auto &gamma = t(m, p + "bn.weight"), &beta = t(m, p + "bn.bias");
    const auto &mean = t(m, p + "bn.running_mean"), &var = t(m, p + "bn.running_var");
    for (int c = 0; c < a.c; ++c)
        for (int y = 0; y < a.h; ++y)
            for (int x = 0; x < a.w; ++x) {
                double &v = a.at(c, y, x);
                v = (v - mean[size_t(c)]) / std::sqrt(double(var[size_t(c)]) + m.arch.bn_eps) *
                        gamma[size_t(c)] +
                    beta[size_t(c)];
                v = std::max(v, 0.0);
            }
}

// MaxPool2d(2): floor mode, like PyTorch.
planes maxpool2(const planes &a) {
    planes out{a.c, a.h / 2, a.w / 2, {}};
    out.v.resize(size_t(out.c) * out.h * out.w);
    for (int c = 0; c < a.c; ++c)
        for (int y = 0; y < out.h; ++y)
            for (int x = 0; x < out.w; ++x)
                out.at(c, y, x) =
                    std::max({a.at(c, 2 * y, 2 * x), a.at(c, 2 * y, 2 * x + 1),
                              a.at(c, 2 * y + 1, 2 * x), a.at(c, 2 * y + 1, 2 * x + 1)});
    return out;
}

// y = W x + b with W (out, in) row-major.
std::vector<double> linear(const std::vector<double> &x, const std::vector<float> &w,
                           const std::vector<float> &b) {
    std::vector<double> y(b.size());
    for (size_t o = 0; o < b.size(); ++o) {
        double acc = b[o];
        for (size_t i = 0; i < x.size(); ++i) acc += double(w[o * x.size() + i]) * x[i];
        y[o] = acc;
    }
    return y;
}

}  // namespace

std::vector<double> reference_logits(const folia::model_file &m, const float *x, int batch) {
    const int s = m.preprocess.input_size;
    std::vector<double> logits;
    for (int n = 0; n < batch; ++n) {
        // NHWC -> NCHW
        planes a{3, s, s, std::vector<double>(size_t(3) * s * s)};
        const float *img = x + size_t(n) * s * s * 3;
        for (int y = 0; y < s; ++y)
            for (int xx = 0; xx < s; ++xx)
                for (int c = 0; c < 3; ++c) a.at(c, y, xx) = img[(size_t(y) * s + xx) * 3 + c];
        for (size_t i = 0; i < m.arch.channels.size(); ++i) {
            const std::string p = "block" + std::to_string(i) + ".";
            a = conv3x3(a, t(m, p + "conv.weight"), t(m, p + "conv.bias"), m.arch.channels[i]);
            batchnorm_relu(a, m, p);
            a = maxpool2(a);
        }
        std::vector<double> feat(size_t(a.c), 0.0);
        for (int c = 0; c < a.c; ++c) {
            for (int y = 0; y < a.h; ++y)
                for (int xx = 0; xx < a.w; ++xx) feat[size_t(c)] += a.at(c, y, xx);
            feat[size_t(c)] /= double(a.h) * a.w;
        }
        std::vector<double> h = linear(feat, t(m, "fc1.weight"), t(m, "fc1.bias"));
        for (double &v : h) v = std::max(v, 0.0);  // dropout is the identity at inference
        const std::vector<double> out = linear(h, t(m, "fc2.weight"), t(m, "fc2.bias"));
        logits.insert(logits.end(), out.begin(), out.end());
    }
    return logits;
}

}  // namespace folia_test
