// workspace.h: datasets + splits + image caches loaded together, as every command needs them.
// Several data roots (lab and field photos) merge into one workspace: classes are the union
// (sorted), each root keeps its own split file, and every sample remembers its root (domain),
// so metrics can be reported per domain. No LibTorch here.
#pragma once

#include <nlohmann/json.hpp>

#include "options.h"
#include "dataset.h"
#include "image-cache.h"
#include "split.h"

namespace folia::train {

struct workspace {
    dataset data;             // merged: root is the first root, samples root by root
    data_split split;         // parallel to data.samples
    image_cache images;       // empty unless load_workspace(..., true)
    std::vector<int> domain;  // parallel to data.samples: index into roots
    std::vector<std::string> roots, splits;
    std::vector<std::string> caches;        // image cache file per root (with images only)
    std::vector<std::string> domain_names;  // root folder names ("plantvillage", ...)
};

// The data roots of --data (several) or $FOLIA_DATA (one, or several separated by ':').
std::vector<std::string> resolve_data_roots(const std::vector<std::string> &flags);
// The one data root of a tool that takes a single folder; throws if several were given.
std::string single_data_root(const data_options &o);
// The split file of root i: --split's i-th entry, else training/splits/<name>-seed<S>.json.
std::string split_path_for(const data_options &o, const std::vector<std::string> &roots, size_t i);

// Scans every data folder (each sliced by --max-classes/--per-class), loads or makes each split
// file, merges them, and, if with_images, loads or builds each image cache.
workspace load_workspace(const data_options &o, bool with_images);

// The data options a run was trained with (run.json: size, slices, folders and split files; runs
// from before several folders hold one string each). What the caller gave wins; the run's folders
// give way to $FOLIA_DATA when they are not on this machine.
data_options run_data_options(const nlohmann::json &run, data_options given);

}  // namespace folia::train
