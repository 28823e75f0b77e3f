// test-cli-teach.cpp: `folia teach` as a user runs it: JSON summary, the taught model used by
// `folia diagnose`, refusals (exit 1, nothing written), usage errors (exit 2).
#include <nlohmann/json.hpp>

#include "cli-support.h"

// Last, as in every test (where LibTorch is included, after `#undef CHECK`: glog's CHECK).
#include <catch2/catch.hpp>

using folia_test::photo_folder;

TEST_CASE("teach --json writes a model with the new class that diagnose then uses",
          "[cli][teach]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir d("teach");
    const std::string dir = photo_folder(d, "Leaf_spot_new", 3, 1);
    const std::string out = d.path("taught.folia");
    const auto r =
        folia_test::run({folia_test::folia_exe(), "teach", "--model", models.model, "-o", out,
                         "--json", "--epochs", "2", "--views", "2", "--threads", "1", dir + "/"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j.at("classes") == 39);
    CHECK(j.at("new_classes") == nlohmann::json::array({"Leaf_spot_new"}));
    CHECK(j.at("examples") == 3);
    CHECK(j.at("ms").get<double>() > 0);
    const auto diag = folia_test::run(
        {folia_test::folia_exe(), "diagnose", "--json", "--model", out, dir + "/p0.png"});
    REQUIRE(diag.exit_code == 0);
    CHECK(diag.out.find("\"label\":") != std::string::npos);
    const auto inspect = folia_test::run({folia_test::folia_exe(), "inspect", out});
    CHECK(inspect.exit_code == 0);
    CHECK(inspect.out.find("Leaf_spot_new") != std::string::npos);
}

TEST_CASE("teach refuses a bad photo with exit 1 and leaves an existing output untouched",
          "[cli][teach]") {
    const auto &models = folia_test::random_models();
    folia_test::scratch_dir d("teach-bad");
    const std::string dir = photo_folder(d, "New", 2, 2);
    folia_test::write_bytes(dir + "/broken.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x01});
    const std::string out = d.path("out.folia");
    folia_test::write_bytes(out, {'o', 'l', 'd'});
    const auto r = folia_test::run({folia_test::folia_exe(), "teach", "--model", models.model, "-o",
                                    out, "--epochs", "1", dir, d.path("missing")});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("broken.jpg: ") != std::string::npos);
    CHECK(r.err.find("missing: not a folder") != std::string::npos);
    CHECK(folia_test::read_bytes(out) == std::vector<uint8_t>{'o', 'l', 'd'});

    CHECK(folia_test::run({folia_test::folia_exe(), "teach", dir}).exit_code == 2);  // no -o
    CHECK(folia_test::run({folia_test::folia_exe(), "teach", "-o", out}).exit_code == 2);
    CHECK(folia_test::run({folia_test::folia_exe(), "teach", "-o", out, "--epochs", "0", dir})
              .exit_code == 2);
}
