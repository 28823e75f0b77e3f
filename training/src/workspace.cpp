// workspace.cpp: one or several data roots merged into one workspace (see workspace.h).
#include "workspace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace folia::train {

namespace fs = std::filesystem;

std::vector<std::string> resolve_data_roots(const std::vector<std::string> &flags) {
    if (!flags.empty()) return flags;
    std::vector<std::string> roots;
    std::stringstream ss(resolve_data_root(""));
    for (std::string r; std::getline(ss, r, ':');)
        if (!r.empty()) roots.push_back(r);
    return roots;
}

std::string single_data_root(const data_options &o) {
    const auto roots = resolve_data_roots(o.data);
    if (roots.size() != 1)
        throw std::runtime_error("this command takes one data folder, not " +
                                 std::to_string(roots.size()));
    return roots[0];
}

std::string split_path_for(const data_options &o, const std::vector<std::string> &roots, size_t i) {
    if (!o.split.empty()) {
        if (o.split.size() != roots.size())
            throw std::runtime_error(
                fmt::format("{} --split files for {} data folders: give one per folder",
                            o.split.size(), roots.size()));
        return o.split[i];
    }
    std::string name = fs::path(roots[i]).filename().string();
    if (name.empty()) name = fs::path(roots[i]).parent_path().filename().string();
    return fmt::format("training/splits/{}-seed{}.json", name, o.split_seed);
}

namespace {

struct one_root {
    dataset data;
    data_split split;
    image_cache images;
    std::string split_path, cache;
};

one_root load_root(const data_options &o, const std::vector<std::string> &roots, size_t i,
                   bool with_images) {
    one_root r;
    r.data = scan_dataset(roots[i]);
    if (o.max_classes > 0 || o.per_class > 0)
        r.data = subset_dataset(r.data, o.max_classes, o.per_class);
    split_params sp;
    sp.seed = o.split_seed;
    sp.test_frac = o.test_frac;
    sp.val_frac = o.val_frac;
    sp.labeled_frac = o.labeled_frac;
    r.split_path = split_path_for(o, roots, i);
    bool created = false;
    r.split = load_or_make_split(r.split_path, r.data, sp, &created);
    fmt::print(stderr, "data: {} images, {} classes from {}; split {} ({})\n",
               r.data.samples.size(), r.data.classes.size(), r.data.root, r.split_path,
               created ? "new" : "existing");
    if (with_images) {
        bool built = false;
        r.images = load_or_build_cache(r.data, o.size, o.cache_dir, o.threads, &built);
        r.cache = cache_path(r.data, o.size, o.cache_dir);
        fmt::print(stderr, "images: {} cached at {}x{} ({})\n", r.images.count(), o.size, o.size,
                   built ? "built now" : r.cache);
    }
    return r;
}

}  // namespace

workspace load_workspace(const data_options &o, bool with_images) {
    workspace w;
    w.roots = resolve_data_roots(o.data);
    std::vector<one_root> parts;
    for (size_t i = 0; i < w.roots.size(); ++i)
        parts.push_back(load_root(o, w.roots, i, with_images));
    if (parts.size() == 1) {
        w.data = std::move(parts[0].data);
        w.split = std::move(parts[0].split);
        w.images = std::move(parts[0].images);
        w.splits = {parts[0].split_path};
        w.caches = {parts[0].cache};
        w.domain.assign(w.data.samples.size(), 0);
        w.domain_names = {fs::path(w.roots[0]).filename().string()};
        return w;
    }
    // Union of the class names, in byte order like a single scan.
    for (const auto &p : parts)
        w.data.classes.insert(w.data.classes.end(), p.data.classes.begin(), p.data.classes.end());
    std::sort(w.data.classes.begin(), w.data.classes.end());
    w.data.classes.erase(std::unique(w.data.classes.begin(), w.data.classes.end()),
                         w.data.classes.end());
    w.data.root = w.roots[0];
    w.split.params = parts[0].split.params;
    w.images.size = with_images ? o.size : 0;
    for (size_t d = 0; d < parts.size(); ++d) {
        const one_root &p = parts[d];
        for (size_t i = 0; i < p.data.samples.size(); ++i) {
            sample s = p.data.samples[i];
            const std::string &cls = p.data.classes[size_t(s.label)];
            s.label = int(std::lower_bound(w.data.classes.begin(), w.data.classes.end(), cls) -
                          w.data.classes.begin());
            w.data.samples.push_back(std::move(s));
            w.split.parts.push_back(p.split.parts[i]);
            w.domain.push_back(int(d));
        }
        if (with_images)
            w.images.data.insert(w.images.data.end(), p.images.data.begin(), p.images.data.end());
        w.splits.push_back(p.split_path);
        w.caches.push_back(p.cache);
        w.domain_names.push_back(fs::path(w.roots[d]).filename().string());
    }
    fmt::print(stderr, "merged: {} images, {} classes from {} folders\n", w.data.samples.size(),
               w.data.classes.size(), parts.size());
    return w;
}

data_options run_data_options(const nlohmann::json &run, data_options d) {
    auto as_list = [](const nlohmann::json &j) {
        return j.is_string() ? std::vector<std::string>{j.get<std::string>()}
                             : j.get<std::vector<std::string>>();
    };
    d.size = run.at("size");
    d.max_classes = run.value("max_classes", 0);
    d.per_class = run.value("per_class", 0);
    if (d.split.empty()) d.split = as_list(run.at("split"));
    if (d.data.empty()) {
        const auto roots = as_list(run.at("data"));
        const bool all_there = std::all_of(
            roots.begin(), roots.end(), [](const std::string &p) { return fs::is_directory(p); });
        if (all_there || !std::getenv("FOLIA_DATA")) d.data = roots;
    }
    return d;
}

}  // namespace folia::train
