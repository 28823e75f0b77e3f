// split.cpp: grouped, stratified, seeded split and its JSON file.
#include "split.h"
#include "file-io.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace folia::train {

uint64_t splitmix64::next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
double splitmix64::uniform() {
    return double(next() >> 11) * (1.0 / 9007199254740992.0);
}
uint64_t splitmix64::below(uint64_t n) {
    return n ? next() % n : 0;
}

uint64_t mix_seeds(uint64_t a, uint64_t b) {
    splitmix64 s(a ^ (b * 0x9E3779B97F4A7C15ull));
    return s.next();
}

uint64_t hash_string(const std::string &s, uint64_t h) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

const char *part_name(part p) {
    static const char *const names[] = {"labeled", "stream", "val", "test"};
    return enum_name(p, names);
}

part parse_part(const std::string &n) {
    for (part p : {part::labeled, part::stream, part::val, part::test})
        if (n == part_name(p)) return p;
    throw std::runtime_error("unknown split part '" + n + "' (labeled, stream, val, test)");
}

std::vector<int> data_split::indices(std::initializer_list<part> which) const {
    std::vector<int> r;
    for (size_t i = 0; i < parts.size(); ++i)
        if (std::find(which.begin(), which.end(), parts[i]) != which.end()) r.push_back(int(i));
    return r;
}

namespace {

// Assigns whole groups, in the given (shuffled) order, to `first` until it holds about
// `target` samples; a group goes in when that brings the count closer to the target.
// The rest go to `rest`.
void fill(const std::vector<std::vector<int>> &groups, std::vector<bool> &taken, double target,
          part first, std::vector<part> &out) {
    double count = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
        if (taken[g]) continue;
        const double n = double(groups[g].size());
        if (std::abs(count + n - target) < std::abs(count - target)) {
            count += n;
            taken[g] = true;
            for (int i : groups[g]) out[size_t(i)] = first;
        }
        if (count >= target) break;
    }
}

}  // namespace

data_split make_split(const dataset &d, const split_params &p) {
    data_split s;
    s.params = p;
    s.parts.assign(d.samples.size(), part::stream);
    for (int c = 0; c < int(d.classes.size()); ++c) {
        // Groups of this class in first-seen (rel_path) order, then a seeded Fisher-Yates.
        std::map<std::string, int> gid;
        std::vector<std::vector<int>> groups;
        for (int i = 0; i < int(d.samples.size()); ++i) {
            if (d.samples[size_t(i)].label != c) continue;
            auto [it, fresh] = gid.emplace(d.samples[size_t(i)].group, int(groups.size()));
            if (fresh) groups.emplace_back();
            groups[size_t(it->second)].push_back(i);
        }
        splitmix64 rng(p.seed ^ hash_string(d.classes[size_t(c)]));
        for (size_t i = groups.size(); i > 1; --i) std::swap(groups[i - 1], groups[rng.below(i)]);
        double n = 0;
        for (const auto &g : groups) n += double(g.size());
        std::vector<bool> taken(groups.size(), false);
        fill(groups, taken, n * p.test_frac, part::test, s.parts);
        fill(groups, taken, n * p.val_frac, part::val, s.parts);
        double rest = 0;
        for (size_t g = 0; g < groups.size(); ++g)
            if (!taken[g]) rest += double(groups[g].size());
        fill(groups, taken, rest * p.labeled_frac, part::labeled, s.parts);
    }
    return s;
}

std::string split_to_json(const data_split &s, const dataset &d) {
    nlohmann::ordered_json j;
    j["format"] = "folia-split-1";
    j["seed"] = s.params.seed;
    j["fractions"] = {{"test", s.params.test_frac},
                      {"val", s.params.val_frac},
                      {"labeled_of_rest", s.params.labeled_frac}};
    j["grouping"] = "leaf: same class + pv_photo_code, photo numbers chained within +-4";
    std::map<std::string, int> counts;
    for (part p : s.parts) counts[part_name(p)]++;
    j["counts"] = counts;
    nlohmann::ordered_json files = nlohmann::ordered_json::object();
    for (size_t i = 0; i < d.samples.size(); ++i)
        files[d.samples[i].rel_path] = part_name(s.parts[i]);
    j["files"] = files;
    return j.dump(1) + "\n";
}

data_split split_from_json(const std::string &text, const dataset &d) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const std::exception &e) {
        throw std::runtime_error(std::string("split file is not valid JSON: ") + e.what());
    }
    if (j.value("format", "") != "folia-split-1")
        throw std::runtime_error("split file has no \"format\": \"folia-split-1\"");
    data_split s;
    s.params.seed = j.at("seed").get<uint64_t>();
    s.params.test_frac = j.at("fractions").at("test").get<double>();
    s.params.val_frac = j.at("fractions").at("val").get<double>();
    s.params.labeled_frac = j.at("fractions").at("labeled_of_rest").get<double>();
    const auto &files = j.at("files");
    s.parts.resize(d.samples.size());
    for (size_t i = 0; i < d.samples.size(); ++i) {
        const auto it = files.find(d.samples[i].rel_path);
        if (it == files.end())
            throw std::runtime_error("split file does not list '" + d.samples[i].rel_path +
                                     "': it was made for another data folder (delete it or pass "
                                     "another --split)");
        s.parts[i] = parse_part(it->get<std::string>());
    }
    return s;
}

data_split load_or_make_split(const std::string &path, const dataset &d, const split_params &p,
                              bool *created) {
    if (std::filesystem::exists(path)) {
        const std::vector<uint8_t> text = read_file_bytes(path);
        if (created) *created = false;
        return split_from_json(std::string(text.begin(), text.end()), d);
    }
    data_split s = make_split(d, p);
    write_file_atomic(path, split_to_json(s, d));
    if (created) *created = true;
    return s;
}

}  // namespace folia::train
