# Training tests (LibTorch; native only, when the training tools are built).
#   folia_test_training_split: split, leaf groups, metrics, calibration (no LibTorch; fast)
#   folia_test_training: smoke training on a 5x16 slice of $FOLIA_DATA at 64x64, checkpoint /
#     resume (incl. a real kill -9 of folia-train), export, golden engine-vs-LibTorch checks.
if(EMSCRIPTEN OR NOT FOLIA_BUILD_TRAINING OR NOT TARGET folia_training)
  return()
endif()

folia_add_catch_test(folia_test_training_split test-training-split.cpp LIBS folia_training_data)

folia_add_catch_test(folia_test_training test-training-smoke.cpp
                     LIBS folia_training folia folia_test_support)
target_compile_definitions(folia_test_training PRIVATE FOLIA_TRAIN_EXE="$<TARGET_FILE:folia-train>")
add_dependencies(folia_test_training folia-train)
foreach(_t folia_test_training_split folia_test_training)
  target_compile_definitions(${_t} PRIVATE FOLIA_TRAINING_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endforeach()

# Data-parallel training ([dist]): real folia-train ranks on 127.0.0.1 (c10d + Gloo).
folia_add_catch_test(folia_test_dist test-dist.cpp LIBS folia_training folia_test_support)
target_compile_definitions(folia_test_dist PRIVATE FOLIA_TRAIN_EXE="$<TARGET_FILE:folia-train>")
add_dependencies(folia_test_dist folia-train)
