// test-preprocess-support.cpp: see test-preprocess-support.h.
#include "test-preprocess-support.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace folia_test {

std::vector<ref_case> ref_manifest::of_kind(const std::string &kind) const {
    std::vector<ref_case> r;
    for (const auto &c : cases) {
        if (c.kind == kind) r.push_back(c);
    }
    return r;
}

const ref_case *ref_manifest::find(const std::string &kind, const std::string &name) const {
    for (const auto &c : cases) {
        if (c.kind == kind && c.name == name) return &c;
    }
    return nullptr;
}

std::string ref_dir() {
    if (const char *p = std::getenv("FOLIA_PREPROCESS_REF"); p && *p) return p;
    if (const char *b = std::getenv("FOLIA_BINARY_DIR"); b && *b) {
        return std::string(b) + "/preprocess-ref";
    }
#ifdef FOLIA_PREPROCESS_REF_DEFAULT
    return FOLIA_PREPROCESS_REF_DEFAULT;  // the build folder this test was configured in
#else
    return "";
#endif
}

bool read_file(const std::string &path, std::vector<uint8_t> *out) {
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    out->clear();
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
    const bool ok = !std::ferror(f);
    std::fclose(f);
    return ok;
}

static std::vector<std::string> split_tabs(const std::string &line) {
    std::vector<std::string> f;
    size_t start = 0;
    while (true) {
        const size_t tab = line.find('\t', start);
        f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) return f;
        start = tab + 1;
    }
}

std::vector<int> split_ints(const std::string &s) {
    std::vector<int> r;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) r.push_back(std::atoi(item.c_str()));
    return r;
}

bool load_manifest(ref_manifest *m, std::string *why) {
    m->dir = ref_dir();
    if (m->dir.empty()) {
        *why = "no reference folder: set FOLIA_PREPROCESS_REF or FOLIA_BINARY_DIR";
        return false;
    }
    std::vector<uint8_t> bytes;
    if (!read_file(m->dir + "/manifest.tsv", &bytes)) {
        *why = "cannot read " + m->dir +
               "/manifest.tsv: build the folia_preprocess_ref target (tools/pillow-resize-ref.py)";
        return false;
    }
    std::stringstream in(std::string(bytes.begin(), bytes.end()));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto f = split_tabs(line);
        if (f[0] == "data_dir" && f.size() >= 3) {
            m->data_dir = f[1];
            m->data_count = std::atoi(f[2].c_str());
        } else if (f[0] == "pillow" && f.size() >= 2) {
            m->pillow_version = f[1];
        } else if (f.size() >= 7) {
            ref_case c;
            c.kind = f[0];
            c.name = f[1];
            c.input = f[2].empty() ? "" : m->dir + "/" + f[2];
            c.expected = f[3].empty() ? "" : m->dir + "/" + f[3];
            c.out_w = std::atoi(f[4].c_str());
            c.out_h = std::atoi(f[5].c_str());
            c.extra = f[6];
            m->cases.push_back(c);
        } else {
            *why = "malformed manifest line: " + line;
            return false;
        }
    }
    return true;
}

}  // namespace folia_test
