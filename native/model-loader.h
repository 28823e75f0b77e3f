// model-loader.h: find the model file, read it and start an engine on it, with one clear error
// message when anything fails.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "folia.h"

namespace folia_cli {

struct context_deleter {
    void operator()(folia_context *ctx) const { folia_free(ctx); }
};
using context_ptr = std::unique_ptr<folia_context, context_deleter>;

// --model if given, else $FOLIA_MODEL, else the shipped model's path compiled into the binary.
std::string resolve_model_path(const std::string &flag);
// The shipped model's compiled-in path (shared/models/plantvillage.folia in the source tree).
std::string shipped_model_path();

// 0 (the default of every --threads flag) means one thread per available core.
int resolve_threads(int flag);

// Starts an engine on model bytes. On failure returns the status and sets error to the status
// message plus the model parser's detail (which tensor, which size...).
folia_status start_engine(const std::vector<uint8_t> &bytes, const folia_params &params,
                          context_ptr *out, std::string *error);

// read_file + start_engine; error is "PATH: reason".
folia_status load_engine(const std::string &path, const folia_params &params, context_ptr *out,
                         std::string *error);

}  // namespace folia_cli
