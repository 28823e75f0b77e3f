// commands-data.cpp: split and cache subcommands (no LibTorch).
#include <fmt/format.h>

#include <map>

#include "workspace.h"

namespace folia::train {

workspace load_workspace(const data_options &o, bool with_images) {
    workspace w;
    w.data = scan_dataset(resolve_data_root(o.data));
    if (o.max_classes > 0 || o.per_class > 0) w.data = subset_dataset(w.data, o.max_classes, o.per_class);
    split_params sp;
    sp.seed = o.split_seed;
    bool created = false;
    w.split = load_or_make_split(o.split, w.data, sp, &created);
    fmt::print(stderr, "data: {} images, {} classes from {}; split {} ({})\n", w.data.samples.size(),
               w.data.classes.size(), w.data.root, o.split, created ? "new" : "existing");
    if (with_images) {
        bool built = false;
        w.images = load_or_build_cache(w.data, o.size, o.cache_dir, o.threads, &built);
        fmt::print(stderr, "images: {} cached at {}x{} ({})\n", w.images.count(), o.size, o.size,
                   built ? "built now" : cache_path(w.data, o.size, o.cache_dir));
    }
    return w;
}

int cmd_split(const data_options &o) {
    const workspace w = load_workspace(o, false);
    std::map<std::string, int> parts;
    for (part p : w.split.parts) parts[part_name(p)]++;
    fmt::print("split {}:", o.split);
    for (const auto &[k, v] : parts) fmt::print(" {} {}", k, v);
    fmt::print("\n");
    // Guard: no leaf group may sit in two parts.
    std::map<std::string, part> group_part;
    for (size_t i = 0; i < w.data.samples.size(); ++i) {
        const auto [it, fresh] = group_part.emplace(w.data.samples[i].group, w.split.parts[i]);
        if (!fresh && it->second != w.split.parts[i]) {
            fmt::print(stderr, "leaf group {} is in {} and {}\n", it->first, part_name(it->second),
                       part_name(w.split.parts[i]));
            return 1;
        }
    }
    fmt::print("{} leaf groups, none on two sides\n", group_part.size());
    return 0;
}

int cmd_cache(const data_options &o) {
    const workspace w = load_workspace(o, true);
    fmt::print("{}\n", cache_path(w.data, o.size, o.cache_dir));
    return 0;
}

}  // namespace folia::train
