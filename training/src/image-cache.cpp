// image-cache.cpp
#include "image-cache.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "progress.h"
#include "split.h"
#include "file-io.h"

namespace folia::train {

namespace {

constexpr char k_magic[8] = {'F', 'O', 'L', 'I', 'A', 'C', 'A', 'C'};
constexpr size_t k_max_pixels = 50'000'000;

uint64_t cache_key(const dataset &d, int size) {
    uint64_t h = hash_string("folia-image-cache|" + std::to_string(k_preprocess_version) + "|" +
                             std::to_string(size));
    for (const auto &s : d.samples)
        h = hash_string(s.rel_path + "|" + std::to_string(s.bytes) + "\n", h);
    return h;
}

}  // namespace

image_u8 image_cache::image_copy(size_t i) const {
    image_u8 img;
    img.width = img.height = size;
    img.channels = 3;
    const uint8_t *p = image(i);
    img.data.assign(p, p + size_t(size) * size * 3);
    return img;
}

std::string cache_path(const dataset &d, int size, const std::string &cache_dir) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)cache_key(d, size));
    return cache_dir + "/images-" + std::to_string(size) + "-" + hex + ".u8";
}

image_cache build_cache(const dataset &d, int size, int threads, bool show_progress) {
    image_cache c;
    c.size = size;
    const size_t per = size_t(size) * size * 3;
    c.data.resize(d.samples.size() * per);
    std::atomic<size_t> next{0}, done{0};
    std::mutex err_mu;
    std::string error;
    progress_bar bar("preprocess", int64_t(d.samples.size()));
    auto work = [&] {
        for (size_t i; (i = next++) < d.samples.size();) {
            {
                std::lock_guard<std::mutex> lock(err_mu);
                if (!error.empty()) return;
            }
            const std::string path = d.root + "/" + d.samples[i].rel_path;
            try {
                const auto bytes = read_file_bytes(path);
                image_u8 img;
                const folia_status st =
                    preprocess_image(bytes.data(), bytes.size(), k_max_pixels, size, &img);
                if (st != FOLIA_OK)
                    throw std::runtime_error("'" + path + "': " + folia_status_message(st));
                if (img.width != size || img.height != size || img.channels != 3)
                    throw std::runtime_error("'" + path +
                                             "': preprocessing returned the wrong shape");
                std::memcpy(c.data.data() + i * per, img.data.data(), per);
            } catch (const std::exception &e) {
                std::lock_guard<std::mutex> lock(err_mu);
                if (error.empty()) error = e.what();
                return;
            }
            ++done;
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(threads, 1); ++t) pool.emplace_back(work);
    // The calling thread works too and draws the bar between images.
    std::thread main_worker(work);
    while (done < d.samples.size()) {
        {
            std::lock_guard<std::mutex> lock(err_mu);
            if (!error.empty()) break;
        }
        if (show_progress) bar.update(int64_t(done.load()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    main_worker.join();
    for (auto &t : pool) t.join();
    if (!error.empty()) throw std::runtime_error("cannot preprocess " + error);
    if (show_progress) bar.finish();
    return c;
}

image_cache load_or_build_cache(const dataset &d, int size, const std::string &cache_dir,
                                int threads, bool *built) {
    const std::string path = cache_path(d, size, cache_dir);
    const size_t per = size_t(size) * size * 3;
    {
        std::ifstream in(path, std::ios::binary);
        char magic[8];
        uint64_t n = 0, s = 0;
        if (in && in.read(magic, 8) && std::memcmp(magic, k_magic, 8) == 0 &&
            in.read(reinterpret_cast<char *>(&n), 8) && in.read(reinterpret_cast<char *>(&s), 8) &&
            n == d.samples.size() && s == uint64_t(size)) {
            image_cache c;
            c.size = size;
            c.data.resize(n * per);
            if (in.read(reinterpret_cast<char *>(c.data.data()), std::streamsize(c.data.size()))) {
                if (built) *built = false;
                return c;
            }
        }
    }
    image_cache c = build_cache(d, size, threads, true);
    std::vector<uint8_t> file(24 + c.data.size());
    std::memcpy(file.data(), k_magic, 8);
    const uint64_t n = d.samples.size(), s = uint64_t(size);
    std::memcpy(file.data() + 8, &n, 8);
    std::memcpy(file.data() + 16, &s, 8);
    std::memcpy(file.data() + 24, c.data.data(), c.data.size());
    write_file_atomic(path, file.data(), file.size());
    if (built) *built = true;
    return c;
}

}  // namespace folia::train
