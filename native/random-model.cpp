// random-model.cpp: He initialisation over the architecture's expected tensor list.
#include "random-model.h"

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

namespace folia_cli {

folia::model_file make_random_model(const random_model_options &opts) {
    folia::model_file m;
    m.arch.num_classes = opts.num_classes;
    if (!opts.channels.empty()) m.arch.channels = opts.channels;
    if (opts.hidden > 0) m.arch.hidden = opts.hidden;
    if (opts.input_size > 0) m.preprocess.input_size = opts.input_size;
    if (!opts.labels.empty()) {
        m.labels = opts.labels;
    } else {
        for (int i = 0; i < opts.num_classes; ++i) m.labels.push_back("class_" + std::to_string(i));
    }
    m.calibration.temperature = opts.temperature;
    m.calibration.abstain_threshold = opts.abstain_threshold;
    m.meta_json = nlohmann::json{{"kind", "random"},
                                 {"init", "he-normal-fan-in"},
                                 {"seed", opts.seed},
                                 {"random_bn", opts.random_bn},
                                 {"tool", "folia-make-random-model"}}
                      .dump();

    // mt19937_64 + our own Box-Muller: std::normal_distribution's output is not specified by the
    // standard, and the same seed must give the same file with any standard library.
    std::mt19937_64 rng(opts.seed);
    auto uniform = [&] { return (double(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
    auto normal = [&] {
        return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    };

    for (const auto &[name, shape] : folia::expected_tensors(m.arch)) {
        folia::tensor_f32 t;
        t.shape = shape;
        t.data.assign(size_t(t.numel()), 0.0f);
        const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
        const bool is_bn = name.find(".bn.") != std::string::npos;
        if (is_bn) {
            for (float &v : t.data) {
                if (name.find("bn.weight") != std::string::npos)
                    v = opts.random_bn ? float(0.5 + uniform()) : 1.0f;
                else if (name.find("bn.bias") != std::string::npos)
                    v = opts.random_bn ? float(0.1 * normal()) : 0.0f;
                else if (name.find("running_mean") != std::string::npos)
                    v = opts.random_bn ? float(0.1 * normal()) : 0.0f;
                else  // running_var
                    v = opts.random_bn ? float(0.5 + uniform()) : 1.0f;
            }
        } else if (is_weight) {
            // fan_in = product of every dim but the first: C_in*3*3 for convs, in for FCs.
            int64_t fan_in = 1;
            for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
            const double sd = std::sqrt(2.0 / double(fan_in));
            for (float &v : t.data) v = float(sd * normal());
        }
        m.tensors[name] = std::move(t);
    }
    return m;
}

double forward_flops(const folia::model_file &model) {
    double flops = 0;
    int64_t s = model.preprocess.input_size;
    int64_t in = 3;
    for (int out : model.arch.channels) {
        flops += 2.0 * double(s * s) * double(out) * double(in) * 9.0;
        in = out;
        s /= 2;
    }
    flops += 2.0 * double(in) * model.arch.hidden;
    flops += 2.0 * double(model.arch.hidden) * model.arch.num_classes;
    return flops;
}

}  // namespace folia_cli
