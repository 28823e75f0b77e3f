// export.cpp
#include "export.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "dataset.h"
#include "split.h"
#include "file-io.h"

namespace folia::train {

model_file to_model_file(folia_net &model, const model_file &info) {
    model_file m = info;
    store_weights(model, &m);
    // store_weights writes the network's tensors only: keep the caller's extra ones (exemplars).
    for (const auto &[name, t] : info.tensors) m.tensors.emplace(name, t);
    if (int(m.labels.size()) != m.arch.num_classes)
        throw std::runtime_error("export: " + std::to_string(m.labels.size()) + " labels for " +
                                 std::to_string(m.arch.num_classes) + " outputs");
    return m;
}

void export_model_file(folia_net &model, const model_file &info, const std::string &path) {
    const model_file m = to_model_file(model, info);
    std::vector<uint8_t> bytes;
    std::string err;
    if (write_model_file(m, &bytes, &err) != FOLIA_OK)
        throw std::runtime_error("export: cannot serialise the model: " + err);
    // Re-parse what we are about to publish: a file the engine would refuse never lands.
    model_file check;
    if (parse_model_file(bytes.data(), bytes.size(), &check, &err) != FOLIA_OK)
        throw std::runtime_error("export: the written model does not parse back: " + err);
    write_file_atomic(path, bytes.data(), bytes.size());
}

std::vector<float> golden_input(int n, int size) {
    std::vector<float> x(size_t(n) * size * size * 3);
    for (int b = 0; b < n; ++b)
        for (int h = 0; h < size; ++h)
            for (int w = 0; w < size; ++w)
                for (int c = 0; c < 3; ++c) {
                    // Smooth bands and blobs (different per image and channel) plus hash
                    // noise for high-frequency content; roughly the normalised range of photos.
                    const float smooth =
                        1.4f * std::sin(0.07f * float(h * (c + 1)) + 0.05f * float(w) + float(b)) *
                            std::cos(0.04f * float(w * (2 - c)) - 0.03f * float(h)) +
                        0.3f * float(c) - 0.2f;
                    splitmix64 r(uint64_t(((b * size + h) * size + w) * 3 + c) + 12345);
                    const float v = smooth + float(r.uniform() - 0.5);
                    x[((size_t(b) * size + h) * size + w) * 3 + c] = v;
                }
    return x;
}

golden_data make_golden(folia_net &model, int n, int size) {
    golden_data g;
    g.n = n;
    g.size = size;
    g.classes = model->arch.num_classes;
    g.input = golden_input(n, size);
    torch::NoGradGuard ng;
    const bool was = model->is_training();
    model->eval();
    const torch::Tensor x = torch::from_blob(g.input.data(), {n, size, size, 3}, torch::kFloat32);
    const torch::Tensor logits = model->forward(nhwc_to_model_input(x)).contiguous();
    model->train(was);
    g.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    return g;
}

namespace {
constexpr char k_golden_magic[8] = {'F', 'O', 'L', 'I', 'A', 'G', 'L', 'D'};
}

void write_golden(const golden_data &g, const std::string &path) {
    std::vector<uint8_t> b(32 + 4 * (g.input.size() + g.logits.size()));
    std::memcpy(b.data(), k_golden_magic, 8);
    const uint32_t hdr[6] = {1, uint32_t(g.n), uint32_t(g.size), 3, uint32_t(g.classes), 0};
    std::memcpy(b.data() + 8, hdr, sizeof hdr);  // the host is little-endian (x86/wasm)
    std::memcpy(b.data() + 32, g.input.data(), 4 * g.input.size());
    std::memcpy(b.data() + 32 + 4 * g.input.size(), g.logits.data(), 4 * g.logits.size());
    write_file_atomic(path, b.data(), b.size());
}

golden_data read_golden(const std::string &path) {
    const std::vector<uint8_t> b = read_file_bytes(path);
    if (b.size() < 32 || std::memcmp(b.data(), k_golden_magic, 8) != 0)
        throw std::runtime_error("'" + path + "' is not a Folia golden file");
    uint32_t hdr[6];
    std::memcpy(hdr, b.data() + 8, sizeof hdr);
    if (hdr[0] != 1 || hdr[3] != 3)
        throw std::runtime_error("'" + path + "': unknown golden version");
    golden_data g;
    g.n = int(hdr[1]);
    g.size = int(hdr[2]);
    g.classes = int(hdr[4]);
    const size_t ni = size_t(g.n) * g.size * g.size * 3, nl = size_t(g.n) * g.classes;
    if (b.size() != 32 + 4 * (ni + nl))
        throw std::runtime_error("'" + path + "': truncated golden file");
    g.input.resize(ni);
    g.logits.resize(nl);
    std::memcpy(g.input.data(), b.data() + 32, 4 * ni);
    std::memcpy(g.logits.data(), b.data() + 32 + 4 * ni, 4 * nl);
    return g;
}

}  // namespace folia::train
