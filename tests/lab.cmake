# folia-lab tests (native, when FOLIA_LAB is ON): the lab under Xvfb (`xvfb-run`, Debian xvfb +
# xauth, Mesa llvmpipe), checked against `folia diagnose` and the training run's own files.
# Screenshots: build/native/test-artifacts/lab/*.png.
if(EMSCRIPTEN OR NOT FOLIA_LAB OR NOT TARGET folia-lab)
  return()
endif()

folia_add_catch_test(folia_test_lab test-lab.cpp cli-support.cpp
                     LIBS folia folia_preprocess folia_model_file folia_test_support)
if(TARGET folia-train)
  set(_lab_test_training_dir "$<TARGET_FILE_DIR:folia-train>")
  add_dependencies(folia_test_lab folia-train)
else()
  set(_lab_test_training_dir "${CMAKE_BINARY_DIR}/training")
endif()
target_compile_definitions(folia_test_lab PRIVATE
  FOLIA_LAB_PATH="$<TARGET_FILE:folia-lab>"
  FOLIA_LAB_TEST_TRAINING_DIR="${_lab_test_training_dir}"
  FOLIA_CLI_PATH="$<TARGET_FILE:folia_cli>"
  FOLIA_MAKE_RANDOM_MODEL_PATH="$<TARGET_FILE:folia-make-random-model>"
  FOLIA_SHIPPED_MODEL="${FOLIA_SHIPPED_MODEL}")
add_dependencies(folia_test_lab folia-lab folia_cli folia-make-random-model)
