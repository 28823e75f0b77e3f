// model-loader.cpp
#include "model-loader.h"

#include <cstdlib>
#include <thread>

#include "file-io.h"

#ifndef FOLIA_SHIPPED_MODEL
#error "FOLIA_SHIPPED_MODEL must be defined by the build (path of the shipped model file)"
#endif

namespace folia_cli {

std::string shipped_model_path() {
    return FOLIA_SHIPPED_MODEL;
}

std::string resolve_model_path(const std::string &flag) {
    if (!flag.empty()) return flag;
    const char *env = std::getenv("FOLIA_MODEL");
    if (env && *env) return env;
    return shipped_model_path();
}

int resolve_threads(int flag) {
    if (flag > 0) return flag;
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? int(n) : 1;
}

folia_status start_engine(const std::vector<uint8_t> &bytes, const folia_params &params,
                          context_ptr *out, std::string *error) {
    folia_context *ctx = nullptr;
    char detail[512] = "";
    const folia_status s =
        folia_init_from_buffer_ex(bytes.data(), bytes.size(), &params, &ctx, detail, sizeof detail);
    if (s == FOLIA_OK) {
        out->reset(ctx);
        return s;
    }
    if (ctx) folia_free(ctx);
    // The status says what kind of failure; the engine's detail says which tensor, field, size.
    std::string msg = folia_status_message(s);
    if (detail[0] && msg != detail) msg += std::string(" (") + detail + ")";
    if (error) *error = msg;
    return s;
}

folia_status load_engine(const std::string &path, const folia_params &params, context_ptr *out,
                         std::string *error) {
    std::vector<uint8_t> bytes;
    std::string why;
    if (!read_file(path, &bytes, &why)) {
        if (error) *error = "cannot read model " + why;
        return FOLIA_ERR_INVALID_ARGUMENT;
    }
    const folia_status s = start_engine(bytes, params, out, &why);
    if (s != FOLIA_OK && error) *error = "model " + path + ": " + why;
    return s;
}

}  // namespace folia_cli
