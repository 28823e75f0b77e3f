// options.cpp: the shared options' JSON (options.h).
#include "options.h"

#include <cstdlib>
#include <stdexcept>

namespace folia::train {

nlohmann::json fit_options::to_json() const {
    return {{"epochs", epochs},
            {"batch", batch},
            {"patience", patience},
            {"lr", lr},
            {"weight_decay", weight_decay},
            {"warmup", warmup},
            {"min_lr_frac", min_lr_frac},
            {"schedule", schedule},
            {"class_weights", weighting},
            {"max_steps", max_steps}};
}

namespace {

std::string env_or(const char *name, const std::string &fallback) {
    const char *v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

int parse_int(const std::string &s, const char *what) {
    size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(s, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != s.size())
        throw std::runtime_error(std::string(what) + " must be an integer, not '" + s + "'");
    return v;
}

}  // namespace

std::pair<std::string, uint16_t> parse_host_port(const std::string &s) {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw std::runtime_error("--master takes HOST:PORT, not '" + s + "'");
    const int port = parse_int(s.substr(colon + 1), "the master port");
    if (port <= 0 || port > 65535)
        throw std::runtime_error("the master port must be in 1..65535, not " +
                                 std::to_string(port));
    return {s.substr(0, colon), uint16_t(port)};
}

dist_options resolve_dist_options(dist_options o) {
    if (o.world_size <= 0) o.world_size = parse_int(env_or("WORLD_SIZE", "1"), "WORLD_SIZE");
    if (o.rank < 0) o.rank = parse_int(env_or("RANK", "0"), "RANK");
    if (o.world_size < 1) throw std::runtime_error("the world size must be at least 1");
    if (o.rank >= o.world_size)
        throw std::runtime_error("rank " + std::to_string(o.rank) + " is outside a world of " +
                                 std::to_string(o.world_size));
    if (o.master.empty()) {
        const std::string addr = env_or("MASTER_ADDR", ""), port = env_or("MASTER_PORT", "");
        if (!addr.empty() && !port.empty()) o.master = addr + ":" + port;
    }
    if (o.world_size > 1 && o.master.empty())
        throw std::runtime_error(
            "a distributed run needs --master HOST:PORT (or MASTER_ADDR and MASTER_PORT)");
    if (!o.master.empty()) parse_host_port(o.master);  // fail early on a malformed one
    if (o.timeout_s <= 0) throw std::runtime_error("--dist-timeout must be positive");
    return o;
}

}  // namespace folia::train
