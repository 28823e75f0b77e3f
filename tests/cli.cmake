# Tests of the native command line (`folia`, `folia-make-random-model`): they run the real
# binaries, so native only.
if(EMSCRIPTEN)
  return()
endif()

set(FOLIA_PYTHON "/usr/bin/python3" CACHE FILEPATH
    "Python with Pillow (Debian python3-pil), used by tests to make reference files")

folia_add_catch_test(folia_test_cli test-cli.cpp test-bad-input.cpp test-cli-teach.cpp cli-support.cpp
                     LIBS folia folia_preprocess folia_model_file folia_test_support)
target_compile_definitions(folia_test_cli PRIVATE
  FOLIA_CLI_PATH="$<TARGET_FILE:folia_cli>"
  FOLIA_MAKE_RANDOM_MODEL_PATH="$<TARGET_FILE:folia-make-random-model>"
  FOLIA_SHIPPED_MODEL="${FOLIA_SHIPPED_MODEL}"
  FOLIA_TEST_PYTHON="${FOLIA_PYTHON}")
add_dependencies(folia_test_cli folia_cli folia-make-random-model)
