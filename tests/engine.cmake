# Engine tests: XNNPACK logits vs the independent reference model, classify paths, model-file
# refusals. Built natively and for wasm from the same sources.
folia_add_catch_test(folia_test_engine
  test-engine.cpp
  reference-model.cpp
  LIBS folia folia_model_file folia_preprocess folia_system_headers)

# The Winograd block op (shared/src/engine/winograd-conv.h, private) against a direct
# double-precision convolution; natively and for wasm.
folia_add_catch_test(folia_test_winograd
  test-winograd.cpp
  LIBS folia folia_xnnpack folia_system_headers)
target_include_directories(folia_test_winograd PRIVATE "${CMAKE_SOURCE_DIR}/shared/src/engine")

# Benchmark program (not a test): direct vs Winograd, per stage, interleaved; native and wasm.
#   build/native/tests/folia_bench_engine_stages --threads 2
#   node --no-experimental-fetch build/wasm/tests/folia_bench_engine_stages.js
add_executable(folia_bench_engine_stages bench-engine-stages.cpp
               "${CMAKE_SOURCE_DIR}/native/random-model.cpp")
target_include_directories(folia_bench_engine_stages PRIVATE "${CMAKE_SOURCE_DIR}/shared/src/engine"
                           "${CMAKE_SOURCE_DIR}/native")
target_link_libraries(folia_bench_engine_stages PRIVATE folia folia_model_file folia_xnnpack
                      folia_system_headers)
if(EMSCRIPTEN)
  include(${CMAKE_SOURCE_DIR}/wasm/test-support.cmake)
  folia_wasm_node_target(folia_bench_engine_stages)
endif()
