// test-fault-write.cpp: a taught model's save (`folia teach -o OUT`) interrupted half-way never
// replaces the good OUT ([fault]). The fault is injected in the CLI's atomic writer
// (native/file-io.cpp): FOLIA_FAULT_WRITE_AFTER_BYTES=N stops the write after N bytes as a full
// disk would; with FOLIA_FAULT_WRITE_KILL=1 the process SIGKILLs itself there (a crash).
#include <csignal>
#include <filesystem>

#include "cli-support.h"
#include "test-support.h"

// Last, as in every test (where LibTorch is included, after `#undef CHECK`: glog's CHECK).
#include <catch2/catch.hpp>

using folia_test::photo_folder;
using folia_test::temp_files;
namespace fs = std::filesystem;

TEST_CASE("A taught-model save interrupted half-way leaves the previous model file intact",
          "[fault][cli][teach]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir d("fault-teach");
    const std::string photos = photo_folder(d, "Leaf_spot_new", 3, 1);
    const std::string out_dir = d.path("models");
    fs::create_directories(out_dir);
    const std::string out = out_dir + "/taught.folia";
    auto teach = [&](const std::string &seed, const std::vector<std::string> &env) {
        return folia_test::run(
            {folia_test::folia_exe(), "teach", "--model", models.model, "-o", out, "--epochs", "2",
             "--views", "2", "--threads", "1", "--date", "1700000000", "--seed", seed, photos},
            env);
    };
    const auto first = teach("1", {});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    const auto good = folia_test::read_bytes(out);
    REQUIRE(good.size() > 1000);
    const std::string half = "FOLIA_FAULT_WRITE_AFTER_BYTES=" + std::to_string(good.size() / 2);

    SECTION("a full disk half-way: exit 1 with a clear error, old file intact, no temp file") {
        const auto r = teach("2", {half});
        INFO(r.err);
        CHECK_FALSE(r.signaled);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err,
                   Catch::Contains("taught.folia") && Catch::Contains("No space left on device"));
        CHECK(folia_test::read_bytes(out) == good);
        CHECK(temp_files(out_dir).empty());
    }
    SECTION("SIGKILL half-way: old file intact and used by diagnose, the stale temp ignored") {
        const auto r = teach("2", {half, "FOLIA_FAULT_WRITE_KILL=1"});
        CHECK(r.signaled);
        CHECK(r.signal == SIGKILL);
        CHECK(folia_test::read_bytes(out) == good);
        const auto stale = temp_files(out_dir);
        REQUIRE(stale.size() == 1);  // a killed process cannot clean up
        CHECK(fs::file_size(stale[0]) == good.size() / 2);
        const auto diag = folia_test::run(
            {folia_test::folia_exe(), "diagnose", "--json", "--model", out, photos + "/p0.png"});
        INFO(diag.err);
        CHECK(diag.exit_code == 0);
        // The next save is not disturbed by the stale temp file: a new model replaces the old.
        const auto again = teach("2", {});
        REQUIRE(again.exit_code == 0);
        const auto newer = folia_test::read_bytes(out);
        CHECK(newer != good);
    }
}
