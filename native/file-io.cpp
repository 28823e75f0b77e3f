// file-io.cpp: whole-file reads and atomic writes for the native tools.
#include "file-io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace folia_cli {

namespace {

bool fail(std::string *error, const std::string &path, const std::string &why) {
    if (error) *error = path + ": " + why;
    return false;
}

// Fault injection for tests/test-fault-write.cpp, off unless set: FOLIA_FAULT_WRITE_AFTER_BYTES=N
// makes an atomic write of more than N bytes stop after N bytes of its temp file and fail as a
// full disk would (ENOSPC); with FOLIA_FAULT_WRITE_KILL=1 the process SIGKILLs itself there
// instead (a crash mid-write: the temp file stays behind, and no reader ever opens it).
size_t fault_write_limit(size_t size) {
    const char *after = std::getenv("FOLIA_FAULT_WRITE_AFTER_BYTES");
    if (!after || !*after) return size;
    return std::min(size, size_t(std::strtoull(after, nullptr, 10)));
}

bool fault_kill_requested() {
    const char *kill = std::getenv("FOLIA_FAULT_WRITE_KILL");
    return kill && std::strcmp(kill, "1") == 0;
}

// The rename is durable only once the folder's entry is on disk too (best effort).
void sync_parent_dir(const std::string &path) {
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

bool read_file(const std::string &path, std::vector<uint8_t> *out, std::string *error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(error, path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return fail(error, path, std::strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return fail(error, path, "is a directory");
    }
    out->clear();
    // Regular files: size known up front. Pipes and /dev/stdin-like files: grow as we go.
    if (S_ISREG(st.st_mode)) out->reserve(size_t(st.st_size));
    uint8_t buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            return fail(error, path, std::strerror(e));
        }
        if (n == 0) break;
        out->insert(out->end(), buf, buf + n);
    }
    ::close(fd);
    return true;
}

bool read_lines(const std::string &path, std::vector<std::string> *out, std::string *error) {
    std::vector<uint8_t> bytes;
    if (!read_file(path, &bytes, error)) return false;
    out->clear();
    std::string line;
    auto flush = [&] {
        const size_t b = line.find_first_not_of(" \t\r");
        const size_t e = line.find_last_not_of(" \t\r");
        if (b != std::string::npos) out->push_back(line.substr(b, e - b + 1));
        line.clear();
    };
    for (uint8_t c : bytes) {
        if (c == '\n')
            flush();
        else
            line.push_back(char(c));
    }
    flush();
    return true;
}

bool write_file_atomic(const std::string &path, const void *data, size_t size, std::string *error) {
    // The temp file lives in the destination's directory so rename() never crosses filesystems.
    std::string tmp = path + ".XXXXXX.tmp";
    std::vector<char> name(tmp.begin(), tmp.end());
    name.push_back('\0');
    const int fd = ::mkstemps(name.data(), 4);
    if (fd < 0)
        return fail(error, path, std::string("cannot create temp file: ") + std::strerror(errno));
    tmp.assign(name.data());
    auto abandon = [&](const char *what) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail(error, path, std::string(what) + ": " + std::strerror(e));
    };
    const auto *p = static_cast<const uint8_t *>(data);
    const size_t limit = fault_write_limit(size);
    size_t left = limit;
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("write failed");
        }
        p += n;
        left -= size_t(n);
    }
    if (limit < size) {
        if (fault_kill_requested()) ::kill(::getpid(), SIGKILL);
        errno = ENOSPC;
        return abandon("write failed (injected fault)");
    }
    // mkstemps creates 0600; give the file the permissions an ordinary create would.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd, 0666 & ~mask) != 0) return abandon("chmod failed");
    if (::fsync(fd) != 0) return abandon("fsync failed");
    if (::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        errno = e;
        return fail(error, path, std::string("close failed: ") + std::strerror(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return fail(error, path, std::string("rename failed: ") + std::strerror(e));
    }
    sync_parent_dir(path);
    return true;
}

}  // namespace folia_cli
