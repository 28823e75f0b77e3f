// file-io.cpp: whole-file reads, atomic writes, JSON files (file-io.h).
#include "file-io.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace fs = std::filesystem;

namespace folia::train {

std::vector<uint8_t> read_file_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    in.seekg(0, std::ios::end);
    const std::streamoff n = in.tellg();
    in.seekg(0);
    std::vector<uint8_t> r(size_t(std::max<std::streamoff>(n, 0)));
    if (n > 0 && !in.read(reinterpret_cast<char *>(r.data()), n))
        throw std::runtime_error("cannot read '" + path + "'");
    return r;
}

void write_file_atomic(const std::string &path, const void *data, size_t size) {
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::FILE *f = std::fopen(tmp.c_str(), "wb");
        if (!f) throw std::runtime_error("cannot write '" + tmp + "'");
        const bool ok = std::fwrite(data, 1, size, f) == size && std::fflush(f) == 0 &&
                        ::fsync(::fileno(f)) == 0;
        if (std::fclose(f) != 0 || !ok) {
            std::remove(tmp.c_str());
            throw std::runtime_error("cannot write '" + tmp + "' (disk full?)");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
    }
}

void write_file_atomic(const std::string &path, const std::string &text) {
    write_file_atomic(path, text.data(), text.size());
}

nlohmann::json read_json_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const std::exception &e) {
        throw std::runtime_error("'" + path + "' is not valid JSON: " + e.what());
    }
}

}  // namespace folia::train
