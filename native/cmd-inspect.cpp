// cmd-inspect.cpp: `folia inspect MODEL [--json]`: everything a model file says about itself.
// Reads through the same validating parser as the engine, so a file inspect accepts loads.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "file-io.h"
#include "folia/model-file.h"
#include "random-model.h"

namespace folia_cli {

namespace {

struct inspect_options {
    std::string model;
    bool json = false;
};

bool is_running_stat(const std::string &name) {
    return name.find("running_mean") != std::string::npos ||
           name.find("running_var") != std::string::npos;
}

std::string shape_str(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

int run_inspect(const inspect_options &o) {
    std::vector<uint8_t> bytes;
    std::string error;
    if (!read_file(o.model, &bytes, &error)) return refused("cannot read model %s", error.c_str());
    folia::model_file m;
    const folia_status s = folia::parse_model_file(bytes.data(), bytes.size(), &m, &error);
    if (s != FOLIA_OK)
        return refused("model %s: %s (%s)", o.model.c_str(), folia_status_message(s),
                       error.c_str());
    // Parameters are the network's tensors; extra ones (exemplar features) are listed apart.
    int64_t params = 0, trainable = 0;
    std::vector<std::pair<std::string, std::vector<int64_t>>> network =
                                                                  folia::expected_tensors(m.arch),
                                                              extra;
    for (const auto &[name, t] : m.tensors) {
        const bool in_net =
            std::any_of(network.begin(), network.end(),
                        [&, &name = name](const auto &e) { return e.first == name; });
        if (!in_net) {
            extra.push_back({name, t.shape});
            continue;
        }
        params += t.numel();
        if (!is_running_stat(name)) trainable += t.numel();
    }
    const nlohmann::json meta = nlohmann::json::parse(m.meta_json);
    const double mflops = forward_flops(m) / 1e6;

    if (o.json) {
        nlohmann::json j = folia::model_header_json(m);
        j["file"] = o.model;
        j["bytes"] = bytes.size();
        j["format_version"] = folia::k_model_format_version;
        j["params"] = params;
        j["trainable_params"] = trainable;
        j["forward_mflops"] = mflops;
        j["tensors"] = nlohmann::json::array();
        for (const auto &[name, shape] : network)
            j["tensors"].push_back({{"name", name}, {"shape", shape}});
        for (const auto &[name, shape] : extra)
            j["tensors"].push_back({{"name", name}, {"shape", shape}, {"extra", true}});
        j["meta"] = meta;
        fmt::print("{}\n", j.dump(2));
        return k_exit_ok;
    }

    fmt::print("file          {} ({} bytes, format version {})\n", o.model, bytes.size(),
               folia::k_model_format_version);
    std::string widths;
    for (int c : m.arch.channels) widths += (widths.empty() ? "" : "-") + std::to_string(c);
    fmt::print("architecture  {}: conv 3-{}, fc {}-{}-{}, bn_eps {}\n", m.arch.name, widths,
               m.arch.channels.back(), m.arch.hidden, m.arch.num_classes, m.arch.bn_eps);
    fmt::print("parameters    {} ({} trainable, {} BatchNorm running statistics)\n", params,
               trainable, params - trainable);
    fmt::print("forward       {:.1f} MFLOP per image\n", mflops);
    fmt::print("preprocess    {}x{} RGB, resize {}, mean ({}, {}, {}), std ({}, {}, {})\n",
               m.preprocess.input_size, m.preprocess.input_size, m.preprocess.resize,
               m.preprocess.mean[0], m.preprocess.mean[1], m.preprocess.mean[2],
               m.preprocess.std[0], m.preprocess.std[1], m.preprocess.std[2]);
    fmt::print("calibration   temperature {}, abstain below p = {}\n", m.calibration.temperature,
               m.calibration.abstain_threshold);
    fmt::print("meta          {}\n", meta.dump());
    fmt::print("classes       {}\n", m.labels.size());
    for (size_t i = 0; i < m.labels.size(); ++i) fmt::print("  {:>3}  {}\n", i, m.labels[i]);
    fmt::print("tensors       {}\n", m.tensors.size());
    for (const auto &[name, shape] : network) fmt::print("  {:<24} {}\n", name, shape_str(shape));
    for (const auto &[name, shape] : extra)
        fmt::print("  {:<24} {} (extra)\n", name, shape_str(shape));
    return k_exit_ok;
}

}  // namespace

command add_inspect_command(CLI::App &app) {
    auto o = std::make_shared<inspect_options>();
    CLI::App *sub = app.add_subcommand("inspect", "Describe a model file (and validate it)");
    sub->add_option("model", o->model, "Model file")->required();
    sub->add_flag("--json", o->json, "Print one JSON object");
    return {sub, [o] { return run_inspect(*o); }};
}

}  // namespace folia_cli
