# wasm: INTERFACE targets folia_sdl2 and folia_imgui for the web lab (wasm/lab/), from SDL 2.26 and
# Dear ImGui 1.86 Debian sources (FOLIA_THIRD_PARTY_DIR/sdl2, imgui; tools/setup.sh), compiled with
# emcc by the sub-project wasm/lab-deps. Emscripten's own -sUSE_SDL=2 port downloads from the
# internet and fails here.
#
# Built once at configure time and cached like XNNPACK (cmake/cached-build.cmake), outside
# build/wasm*: ${FOLIA_THIRD_PARTY_DIR}/lab-deps-<variant>-{build,install}, keyed by the SDL and
# imgui versions, our sub-project and source list, the compiler and the variant.
include("${CMAKE_SOURCE_DIR}/cmake/cached-build.cmake")

if(FOLIA_WASM_THREADS)
  set(_ld_variant wasm-mt)
else()
  set(_ld_variant wasm)
endif()
set(_ld_tp "${FOLIA_THIRD_PARTY_DIR}")
set(_ld_sub "${CMAKE_SOURCE_DIR}/wasm/lab-deps")
set(_ld_build "${_ld_tp}/lab-deps-${_ld_variant}-build")
set(_ld_install "${_ld_tp}/lab-deps-${_ld_variant}-install")
set(_ld_stamp "${_ld_install}/folia-lab-deps.stamp")
set(_ld_lock "${_ld_tp}/lab-deps-${_ld_variant}-build.lock")

foreach(_f sdl2/include/SDL_version.h sdl2/include/SDL_config_emscripten.h imgui/imgui.h)
  if(NOT EXISTS "${_ld_tp}/${_f}")
    message(FATAL_ERROR "folia: ${_ld_tp}/${_f} is missing: run tools/setup.sh")
  endif()
endforeach()

set(_ld_args
  -G "${FOLIA_EXTERNAL_GENERATOR}"
  -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_INSTALL_PREFIX=${_ld_install}
  -DFOLIA_THIRD_PARTY_DIR=${_ld_tp}
  -DFOLIA_WASM_THREADS=${FOLIA_WASM_THREADS})
# The versions are in these headers; the sub-project and the source list say how it is built.
set(_ld_hashes "")
foreach(_f "${_ld_tp}/sdl2/include/SDL_version.h" "${_ld_tp}/imgui/imgui.h"
           "${_ld_sub}/CMakeLists.txt" "${CMAKE_SOURCE_DIR}/cmake/sdl2-wasm.cmake")
  file(SHA256 "${_f}" _h)
  list(APPEND _ld_hashes ${_h})
endforeach()
string(SHA256 _ld_key "${_ld_hashes};${CMAKE_C_COMPILER_ID};${CMAKE_C_COMPILER_VERSION};${_ld_args}")

function(_folia_build_lab_deps have)
  message(STATUS "folia: building SDL2 + Dear ImGui for ${_ld_variant} once into ${_ld_install}")
  file(REMOVE_RECURSE "${_ld_install}")
  folia_build_cmake_project("SDL2 + imgui (${_ld_variant})" "${_ld_sub}" "${_ld_build}" 2 ${_ld_args})
endfunction()
folia_cached_build(KEY "${_ld_key}" STAMP "${_ld_stamp}" LOCK "${_ld_lock}" TIMEOUT 3600
                   BUILD _folia_build_lab_deps)

add_library(folia_sdl2 INTERFACE)
target_include_directories(folia_sdl2 SYSTEM INTERFACE "${_ld_install}/include/SDL2")
target_link_libraries(folia_sdl2 INTERFACE "${_ld_install}/lib/libSDL2.a")
add_library(folia_imgui INTERFACE)
target_include_directories(folia_imgui SYSTEM INTERFACE "${_ld_install}/include/imgui")
target_compile_definitions(folia_imgui INTERFACE IMGUI_IMPL_OPENGL_ES3=1)
target_link_libraries(folia_imgui INTERFACE "${_ld_install}/lib/libimgui.a" folia_sdl2)
