// checkpoint.cpp: checkpoints as LibTorch archives (checkpoint.h).
#include "checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "file-io.h"

namespace folia::train {

namespace {

torch::Tensor string_tensor(const std::string &s) {
    torch::Tensor t = torch::empty({int64_t(s.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
    return t;
}

std::string tensor_string(const torch::Tensor &t) {
    const torch::Tensor c = t.contiguous();
    return std::string(reinterpret_cast<const char *>(c.data_ptr<uint8_t>()), size_t(c.numel()));
}

}  // namespace

nlohmann::json arch_to_json(const arch_desc &a) {
    return {{"name", a.name},
            {"channels", a.channels},
            {"hidden", a.hidden},
            {"num_classes", a.num_classes},
            {"bn_eps", a.bn_eps}};
}

arch_desc arch_from_json(const nlohmann::json &j) {
    arch_desc a;
    a.name = j.at("name").get<std::string>();
    a.channels = j.at("channels").get<std::vector<int>>();
    a.hidden = j.at("hidden").get<int>();
    a.num_classes = j.at("num_classes").get<int>();
    a.bn_eps = j.at("bn_eps").get<float>();
    return a;
}

void save_checkpoint(const std::string &path, folia_net &model, torch::optim::Optimizer *optimizer,
                     const nlohmann::json &meta,
                     const std::map<std::string, torch::Tensor> &extra) {
    torch::serialize::OutputArchive ar;
    torch::serialize::OutputArchive m;
    model->save(m);
    ar.write("model", m);
    if (optimizer) {
        torch::serialize::OutputArchive o;
        optimizer->save(o);
        ar.write("optimizer", o);
    }
    nlohmann::json full = meta;
    full["arch"] = arch_to_json(model->arch);
    ar.write("meta", string_tensor(full.dump()));
    ar.write("rng", at::detail::getDefaultCPUGenerator().get_state());
    for (const auto &[k, v] : extra) ar.write("extra." + k, v);
    // Serialised in memory, then one atomic write (temp + fsync + rename), like every other file.
    std::ostringstream bytes;
    ar.save_to(bytes);
    write_file_atomic(path, bytes.str());
}

bool load_checkpoint(const std::string &path, folia_net &model, torch::optim::Optimizer *optimizer,
                     nlohmann::json *meta, std::map<std::string, torch::Tensor> *extra) {
    if (!std::filesystem::exists(path)) return false;
    torch::serialize::InputArchive ar;
    try {
        ar.load_from(path);
    } catch (const std::exception &e) {
        throw std::runtime_error("checkpoint '" + path + "' is unreadable: " + e.what());
    }
    torch::Tensor meta_t;
    ar.read("meta", meta_t);
    const nlohmann::json j = nlohmann::json::parse(tensor_string(meta_t));
    const arch_desc a = arch_from_json(j.at("arch"));
    if (a.channels != model->arch.channels || a.hidden != model->arch.hidden ||
        a.num_classes != model->arch.num_classes)
        throw std::runtime_error("checkpoint '" + path + "' holds another architecture (" +
                                 std::to_string(a.num_classes) + " classes)");
    torch::serialize::InputArchive m;
    ar.read("model", m);
    model->load(m);
    to_channels_last(model);
    if (optimizer) {
        torch::serialize::InputArchive o;
        if (ar.try_read("optimizer", o)) optimizer->load(o);
    }
    torch::Tensor rng;
    if (ar.try_read("rng", rng)) {
        at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the default
        gen.set_state(rng);
    }
    if (extra) {
        extra->clear();
        for (const auto &k : ar.keys())
            if (k.rfind("extra.", 0) == 0) {
                torch::Tensor t;
                ar.read(k, t);
                (*extra)[k.substr(6)] = t;
            }
    }
    if (meta) *meta = j;
    return true;
}

nlohmann::json read_checkpoint_meta(const std::string &path) {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor meta_t;
    ar.read("meta", meta_t);
    return nlohmann::json::parse(tensor_string(meta_t));
}

}  // namespace folia::train
