// commands-data.cpp: split and cache subcommands (no LibTorch).
#include <fmt/format.h>

#include <fmt/ranges.h>

#include <map>

#include "commands.h"
#include "workspace.h"

namespace folia::train {

int cmd_split(const data_options &o) {
    const workspace w = load_workspace(o, false);
    std::map<std::string, int> parts;
    for (part p : w.split.parts) parts[part_name(p)]++;
    fmt::print("split {}:", fmt::join(w.splits, " + "));
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
    for (const auto &c : w.caches) fmt::print("{}\n", c);
    return 0;
}

}  // namespace folia::train
