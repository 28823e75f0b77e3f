// file-io.cpp: whole-file reads, atomic writes, JSON files (file-io.h).
#include "file-io.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
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

namespace {

// Fault injection for the tests (tests/test-fault-*.cpp), off unless the variables are set:
// FOLIA_FAULT_WRITE_AFTER_BYTES=N: an atomic write of more than N bytes puts only N bytes into
// its temporary file and then fails as a full disk would (ENOSPC); FOLIA_FAULT_WRITE_SKIP=K
// leaves the first K atomic writes of the process alone; FOLIA_FAULT_WRITE_KILL=1 makes the
// process SIGKILL itself at that point instead (a crash mid-write: the temp file stays behind).
size_t fault_write_limit(size_t size) {
    static const char *after = std::getenv("FOLIA_FAULT_WRITE_AFTER_BYTES");
    static long skip = std::getenv("FOLIA_FAULT_WRITE_SKIP")
                           ? std::strtol(std::getenv("FOLIA_FAULT_WRITE_SKIP"), nullptr, 10)
                           : 0;
    if (!after || !*after) return size;
    if (skip-- > 0) return size;
    return std::min(size, size_t(std::strtoull(after, nullptr, 10)));
}

[[noreturn]] void fault_die_or_fail(const std::string &tmp) {
    const char *kill = std::getenv("FOLIA_FAULT_WRITE_KILL");
    if (kill && std::strcmp(kill, "1") == 0) ::kill(::getpid(), SIGKILL);
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(ENOSPC) +
                             " (injected fault)");
}

// The rename is durable only once the folder's entry is on disk too.
void sync_parent_dir(const fs::path &p) {
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the data itself was fsynced
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string &path, const void *data, size_t size) {
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path());
    // One temp name per process and path: readers open only `path`, so a temp file a killed
    // writer left behind is never read, and the next write of that process replaces it.
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::FILE *f = std::fopen(tmp.c_str(), "wb");
        if (!f) throw std::runtime_error("cannot write '" + tmp + "': " + std::strerror(errno));
        const size_t n = fault_write_limit(size);
        bool ok = std::fwrite(data, 1, n, f) == n;
        if (n < size) {
            std::fflush(f);
            std::fclose(f);
            fault_die_or_fail(tmp);
        }
        ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        if (std::fclose(f) != 0 || !ok) {
            std::remove(tmp.c_str());
            throw std::runtime_error("cannot write '" + tmp + "' (disk full?)");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
    }
    sync_parent_dir(p);
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
