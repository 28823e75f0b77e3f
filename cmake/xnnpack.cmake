# Provides the target folia_xnnpack (XNNPACK 2024-11-08 + pthreadpool 2024-06-16, one version for
# both targets). Native uses XNNPACK's own CMake; its CMake has no Emscripten target, so wasm
# builds the production kernel lists with a small CMake of ours.
if(EMSCRIPTEN)
  include("${CMAKE_SOURCE_DIR}/wasm/xnnpack-wasm.cmake")
else()
  include("${CMAKE_SOURCE_DIR}/cmake/xnnpack-native.cmake")
endif()
