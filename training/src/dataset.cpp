// dataset.cpp: folder scan, MANIFEST.tsv leaf groups.
#include "dataset.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace folia::train {

namespace {

bool is_image(const fs::path &p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<std::string> split_tabs(const std::string &line) {
    std::vector<std::string> r;
    size_t start = 0;
    while (true) {
        const size_t tab = line.find('\t', start);
        r.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
    }
    if (!r.empty() && !r.back().empty() && r.back().back() == '\r') r.back().pop_back();
    return r;
}

struct photo_id {
    std::string code;
    long number;
};

// relative_path -> (code, number) for rows that have both.
std::map<std::string, photo_id> read_manifest(const fs::path &file) {
    std::map<std::string, photo_id> r;
    std::ifstream in(file);
    if (!in) return r;
    std::string line;
    if (!std::getline(in, line)) return r;
    const auto header = split_tabs(line);
    int c_path = -1, c_code = -1, c_num = -1;
    for (int i = 0; i < int(header.size()); ++i) {
        if (header[i] == "relative_path") c_path = i;
        if (header[i] == "pv_photo_code") c_code = i;
        if (header[i] == "pv_photo_number") c_num = i;
    }
    if (c_path < 0 || c_code < 0 || c_num < 0) return r;
    while (std::getline(in, line)) {
        const auto f = split_tabs(line);
        if (int(f.size()) <= std::max({c_path, c_code, c_num})) continue;
        if (f[c_code].empty() || f[c_num].empty()) continue;
        char *end = nullptr;
        const long n = std::strtol(f[c_num].c_str(), &end, 10);
        if (!end || *end != '\0') continue;
        r[f[c_path]] = {f[c_code], n};
    }
    return r;
}

}  // namespace

std::vector<int> dataset::class_counts() const {
    std::vector<int> c(classes.size(), 0);
    for (const auto &s : samples) ++c[size_t(s.label)];
    return c;
}

dataset scan_dataset(const std::string &root, int leaf_gap) {
    const fs::path base(root);
    std::error_code ec;
    if (!fs::is_directory(base, ec))
        throw std::runtime_error("data folder '" + root + "' does not exist or is not a folder");
    dataset d;
    d.root = root;
    std::vector<std::string> class_dirs;
    for (const auto &e : fs::directory_iterator(base)) {
        if (!e.is_directory()) continue;
        const std::string name = e.path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        class_dirs.push_back(name);
    }
    std::sort(class_dirs.begin(), class_dirs.end());
    for (const auto &cls : class_dirs) {
        std::vector<sample> files;
        for (const auto &e : fs::directory_iterator(base / cls)) {
            const std::string fname = e.path().filename().string();
            if (!e.is_regular_file() || fname.empty() || fname[0] == '.' || !is_image(e.path()))
                continue;
            sample s;
            s.rel_path = cls + "/" + fname;
            s.bytes = uint64_t(e.file_size());
            files.push_back(std::move(s));
        }
        if (files.empty()) continue;
        const int label = int(d.classes.size());
        d.classes.push_back(cls);
        for (auto &s : files) {
            s.label = label;
            d.samples.push_back(std::move(s));
        }
    }
    if (d.samples.empty())
        throw std::runtime_error("data folder '" + root + "' holds no <class>/<image> files");
    std::sort(d.samples.begin(), d.samples.end(),
              [](const sample &a, const sample &b) { return a.rel_path < b.rel_path; });

    // Leaf groups: per photo code, sort numbers and chain those within leaf_gap of the previous.
    const auto manifest = read_manifest(base / "MANIFEST.tsv");
    std::map<std::string, std::vector<std::pair<long, size_t>>> by_code;
    for (size_t i = 0; i < d.samples.size(); ++i) {
        const auto it = manifest.find(d.samples[i].rel_path);
        if (it == manifest.end()) {
            d.samples[i].group = "file:" + d.samples[i].rel_path;
        } else {
            // Keyed by class too: codes such as "rs_hl" are reused across crops for different
            // leaves, and one leaf cannot belong to two classes.
            by_code[d.classes[size_t(d.samples[i].label)] + "|" + it->second.code].push_back(
                {it->second.number, i});
        }
    }
    for (auto &[code, items] : by_code) {
        std::sort(items.begin(), items.end());
        long first = items[0].first, prev = items[0].first;
        for (const auto &[num, idx] : items) {
            if (num - prev > leaf_gap) first = num;
            prev = num;
            d.samples[idx].group = "leaf:" + code + ":" + std::to_string(first);
        }
    }
    return d;
}

dataset subset_dataset(const dataset &d, int max_classes, int per_class) {
    dataset r;
    r.root = d.root;
    const int k =
        max_classes > 0 ? std::min<int>(max_classes, int(d.classes.size())) : int(d.classes.size());
    r.classes.assign(d.classes.begin(), d.classes.begin() + k);
    std::vector<int> taken(size_t(k), 0);
    for (const auto &s : d.samples) {
        if (s.label >= k) continue;
        if (per_class > 0 && taken[size_t(s.label)] >= per_class) continue;
        ++taken[size_t(s.label)];
        r.samples.push_back(s);
    }
    return r;
}

std::string resolve_data_root(const std::string &flag) {
    if (!flag.empty()) return flag;
    const char *env = std::getenv("FOLIA_DATA");
    if (env && *env) return env;
    throw std::runtime_error("no data folder: pass --data or set FOLIA_DATA");
}

}  // namespace folia::train
