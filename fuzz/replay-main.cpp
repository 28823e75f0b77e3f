// replay-main.cpp: a main() for a fuzz target built without libFuzzer, which runs
// LLVMFuzzerTestOneInput once on every file named (or in every folder named). tools/fuzz.sh
// links fuzz-decode.cpp with it under MemorySanitizer to replay the grown corpus: ASan cannot see
// reads of uninitialised memory, which is how stb leaked heap contents into pixels.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// POSIX calls only: MemorySanitizer sees libc through its interceptors, while the
// uninstrumented libstdc++ (std::filesystem, iostreams) would give false reports.
namespace {

void run_file(const char *path) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    std::vector<uint8_t> b;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) b.insert(b.end(), buf, buf + n);
    close(fd);
    LLVMFuzzerTestOneInput(b.data(), b.size());
}

size_t run_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return 1;
    }
    size_t n = 0;
    DIR *d = opendir(path);
    while (dirent *e = d ? readdir(d) : nullptr) {
        if (e->d_name[0] == '.') continue;
        n += run_path((std::string(path) + "/" + e->d_name).c_str());
    }
    if (d) closedir(d);
    return n;
}

}  // namespace

int main(int argc, char **argv) {
    size_t n = 0;
    for (int i = 1; i < argc; ++i) n += run_path(argv[i]);
    std::printf("replayed %zu inputs\n", n);
    return 0;
}
