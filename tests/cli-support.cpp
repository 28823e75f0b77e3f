// cli-support.cpp
#include "cli-support.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

// Static, so these encoder symbols cannot clash with any stb code linked from the core.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "folia/model-file.h"
#include "test-support.h"

namespace folia_test {

namespace fs = std::filesystem;

std::string folia_exe() {
    return FOLIA_CLI_PATH;
}
std::string make_random_model_exe() {
    return FOLIA_MAKE_RANDOM_MODEL_PATH;
}

run_result run(const std::vector<std::string> &argv, const std::vector<std::string> &env_set,
               const std::vector<std::string> &env_unset) {
    std::vector<std::string> drop;  // exactly these names: "NAME=" as a prefix
    for (const std::string &u : env_unset) drop.push_back(u + "=");
    const std::vector<std::string> env = child_env(env_set, drop);
    std::vector<char *> cargv, cenv;
    for (const std::string &a : argv) cargv.push_back(const_cast<char *>(a.c_str()));
    cargv.push_back(nullptr);
    for (const std::string &e : env) cenv.push_back(const_cast<char *>(e.c_str()));
    cenv.push_back(nullptr);

    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(err_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[1]);
        execve(cargv[0], cargv.data(), cenv.data());
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    run_result r;
    // Drain both pipes together: a child filling one while we block on the other would hang.
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string *sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, size_t(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        r.signaled = true;
        r.signal = WTERMSIG(status);
    } else {
        r.exit_code = WEXITSTATUS(status);
    }
    return r;
}

scratch_dir::scratch_dir(const std::string &tag) {
    const char *bin = std::getenv("FOLIA_BINARY_DIR");
    fs::path base = (bin && *bin) ? fs::path(bin) / "test-scratch" : fs::temp_directory_path();
    fs::create_directories(base);
    std::string templ = (base / ("folia-" + tag + "-XXXXXX")).string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed in " + base.string());
    dir_ = templ;
}

scratch_dir::~scratch_dir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> synthetic_pixels(int w, int h, int c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> noise(-12, 12);
    std::vector<uint8_t> px(size_t(w) * size_t(h) * size_t(c));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) {
                // A green-ish leaf-like blob over a gradient, plus noise, so resizing has detail.
                const double dx = (x - 0.5 * w) / w, dy = (y - 0.55 * h) / h;
                const bool leaf = dx * dx * 3 + dy * dy * 2 < 0.25;
                int v = leaf ? (k == 1 ? 150 : 60 + 40 * k) : int(255.0 * (x + y) / (w + h + 1));
                if (leaf && ((x / 7 + y / 5) % 11 == 0)) v = 110;  // spots
                if (k == 3) v = 255 - (x * 3 + y) % 200;           // alpha varies
                px[(size_t(y) * w + x) * c + k] = uint8_t(std::clamp(v + noise(rng), 0, 255));
            }
    return px;
}

namespace {
void append_to_vector(void *ctx, void *data, int size) {
    auto *v = static_cast<std::vector<uint8_t> *>(ctx);
    const auto *p = static_cast<const uint8_t *>(data);
    v->insert(v->end(), p, p + size);
}

void put_be32(std::vector<uint8_t> &v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

void png_chunk(std::vector<uint8_t> &v, const char type[4], const std::vector<uint8_t> &data) {
    put_be32(v, uint32_t(data.size()));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    v.insert(v.end(), td.begin(), td.end());
    put_be32(v, folia::crc32(td.data(), td.size()));  // PNG uses the same CRC-32
}
}  // namespace

std::vector<uint8_t> encode_png(const std::vector<uint8_t> &pixels, int w, int h, int c) {
    std::vector<uint8_t> out;
    if (!stbi_write_png_to_func(append_to_vector, &out, w, h, c, pixels.data(), w * c))
        throw std::runtime_error("stbi_write_png failed");
    return out;
}

std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t> &pixels, int w, int h, int c,
                                 int quality) {
    std::vector<uint8_t> out;
    if (!stbi_write_jpg_to_func(append_to_vector, &out, w, h, c, pixels.data(), quality))
        throw std::runtime_error("stbi_write_jpg failed");
    return out;
}

std::string photo_folder(const scratch_dir &d, const std::string &label, int n, uint32_t seed) {
    const std::string dir = d.path(label);
    fs::create_directories(dir);
    for (int i = 0; i < n; ++i)
        write_bytes(dir + "/p" + std::to_string(i) + ".png",
                    encode_png(synthetic_pixels(96, 80, 3, seed * 100 + uint32_t(i)), 96, 80, 3));
    return dir;
}

std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
    std::vector<uint8_t> v = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<uint8_t> ihdr;
    put_be32(ihdr, w);
    put_be32(ihdr, h);
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no filter, no interlace
    png_chunk(v, "IHDR", ihdr);
    png_chunk(v, "IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // empty zlib stream
    png_chunk(v, "IEND", {});
    return v;
}

std::vector<uint8_t> jpeg_header_only(uint16_t w, uint16_t h) {
    // SOI; SOF0: length 17, 8-bit precision, height, width, 3 components (id, sampling, quant
    // table); EOI.
    return {0xFF,       0xD8,
            0xFF,       0xC0,
            0x00,       0x11,
            0x08,       uint8_t(h >> 8),
            uint8_t(h), uint8_t(w >> 8),
            uint8_t(w), 0x03,
            0x01,       0x22,
            0x00,       0x02,
            0x11,       0x01,
            0x03,       0x11,
            0x01,       0xFF,
            0xD9};
}

std::string header_text(const std::vector<uint8_t> &model) {
    const uint32_t n = uint32_t(model[12]) | uint32_t(model[13]) << 8 | uint32_t(model[14]) << 16 |
                       uint32_t(model[15]) << 24;
    return std::string(model.begin() + 32, model.begin() + 32 + n);
}

std::vector<uint8_t> with_header(const std::vector<uint8_t> &model, const std::string &hdr) {
    auto align = [](size_t n) { return (n + 63) / 64 * 64; };
    const size_t old_start = align(32 + header_text(model).size());
    std::vector<uint8_t> payload(model.begin() + long(old_start), model.end());
    const size_t start = align(32 + hdr.size());
    std::vector<uint8_t> out(start + payload.size(), 0);
    std::memcpy(out.data(), model.data(), 32);
    const uint32_t hs = uint32_t(hdr.size());
    for (int i = 0; i < 4; ++i) out[12 + i] = uint8_t(hs >> (8 * i));
    const uint32_t crc = folia::crc32(reinterpret_cast<const uint8_t *>(hdr.data()), hdr.size());
    for (int i = 0; i < 4; ++i) out[24 + i] = uint8_t(crc >> (8 * i));
    std::memcpy(out.data() + 32, hdr.data(), hdr.size());
    std::memcpy(out.data() + start, payload.data(), payload.size());
    return out;
}

}  // namespace folia_test

namespace folia_test {

const model_files &random_models() {
    static scratch_dir dir("models");
    static model_files files = [] {
        model_files f{dir.path("random.folia"), dir.path("random-unsure.folia")};
        for (const auto &[path, threshold] :
             {std::pair{f.model, "0"}, std::pair{f.model_unsure, "1"}}) {
            const run_result r = run({make_random_model_exe(), "-o", path, "--seed", "7",
                                      "--random-bn", "--abstain-threshold", threshold});
            if (r.signaled || r.exit_code != 0)
                throw std::runtime_error("folia-make-random-model failed: " + r.err);
        }
        return f;
    }();
    return files;
}

}  // namespace folia_test
