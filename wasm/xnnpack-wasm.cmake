# wasm: provides the INTERFACE target folia_xnnpack (XNNPACK 2024-11-08 + pthreadpool, built for
# Emscripten with -msimd128, and -pthread in the FOLIA_WASM_THREADS variant).
#
# XNNPACK's CMake has no Emscripten target, so wasm/xnnpack/CMakeLists.txt builds XNNPACK's
# production wasm/wasmsimd/scalar kernels and core from the lists in XNNPACK's own CMake files.
# That is ~640 objects and ~7 minutes at -j2, so it is built once at configure time and cached
# next to the sources, outside build/wasm[-mt]:
#   ${FOLIA_THIRD_PARTY_DIR}/wasm-build, wasm-install        (single-thread SIMD)
#   ${FOLIA_THIRD_PARTY_DIR}/wasm-mt-build, wasm-mt-install  (pthreads)
# A stamp records what was built (sources, our sub-project, compiler, variant); a different key
# rebuilds from scratch. A file lock keeps two concurrent configures out of the same folder.

include("${CMAKE_SOURCE_DIR}/cmake/cached-build.cmake")  # stamp, lock, build steps

set(FOLIA_XNNPACK_JOBS 2 CACHE STRING "Parallel jobs for the one-time wasm XNNPACK build")

if(FOLIA_WASM_THREADS)
  set(_fw_variant wasm-mt)
else()
  set(_fw_variant wasm)
endif()
if(FOLIA_WASM_RELAXED_SIMD)
  string(APPEND _fw_variant -relaxed)
endif()
set(_fw_tp "${FOLIA_THIRD_PARTY_DIR}")
set(_fw_sub "${CMAKE_SOURCE_DIR}/wasm/xnnpack")
set(_fw_build "${_fw_tp}/${_fw_variant}-build")
set(_fw_install "${_fw_tp}/${_fw_variant}-install")
set(_fw_stamp "${_fw_install}/folia-xnnpack.stamp")
set(_fw_lock "${_fw_tp}/${_fw_variant}-build.lock")

folia_require_third_party(xnnpack pthreadpool fxdiv)

set(_fw_generator "${FOLIA_EXTERNAL_GENERATOR}")
set(_fw_args
  -G "${_fw_generator}"
  -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_INSTALL_PREFIX=${_fw_install}
  -DFOLIA_THIRD_PARTY_DIR=${_fw_tp}
  -DFOLIA_WASM_THREADS=${FOLIA_WASM_THREADS}
  -DFOLIA_WASM_RELAXED_SIMD=${FOLIA_WASM_RELAXED_SIMD})

file(SHA256 "${_fw_tp}/xnnpack/CMakeLists.txt" _fw_xnn_hash)
file(SHA256 "${_fw_tp}/pthreadpool/CMakeLists.txt" _fw_ptp_hash)
file(SHA256 "${_fw_sub}/CMakeLists.txt" _fw_sub_hash)
file(GLOB _fw_patches "${_fw_sub}/patches/*.patch")
list(SORT _fw_patches)
foreach(p ${_fw_patches})
  file(SHA256 "${p}" h)
  string(APPEND _fw_sub_hash ";${h}")
endforeach()
string(SHA256 _fw_key "${_fw_xnn_hash};${_fw_ptp_hash};${_fw_sub_hash};${CMAKE_C_COMPILER_ID};\
${CMAKE_C_COMPILER_VERSION};${_fw_args}")

function(_folia_build_wasm_xnnpack have)
  message(STATUS "folia: building XNNPACK for ${_fw_variant} once into ${_fw_install} "
                 "(~7 min at -j${FOLIA_XNNPACK_JOBS}; cached across build trees)")
  file(REMOVE_RECURSE "${_fw_install}")
  # The build folder is kept: ninja only recompiles what changed if a build was interrupted.
  folia_build_cmake_project("XNNPACK (${_fw_variant})" "${_fw_sub}" "${_fw_build}"
    ${FOLIA_XNNPACK_JOBS} ${_fw_args})
endfunction()
folia_cached_build(KEY "${_fw_key}" STAMP "${_fw_stamp}" LOCK "${_fw_lock}" TIMEOUT 3600
                   BUILD _folia_build_wasm_xnnpack)

add_library(folia_xnnpack INTERFACE)
target_include_directories(folia_xnnpack SYSTEM INTERFACE "${_fw_install}/include")
target_compile_definitions(folia_xnnpack INTERFACE PTHREADPOOL_NO_DEPRECATED_API=1)
target_link_libraries(folia_xnnpack INTERFACE
  "${_fw_install}/lib/libXNNPACK.a"
  "${_fw_install}/lib/libpthreadpool.a")

# Every object of the wasm build gets -msimd128, and -pthread in the threads variant (emcc refuses
# to link a -pthread binary from objects built without it). This file is included from the
# top-level CMakeLists.txt under EMSCRIPTEN only, so these are wasm-only flags for the whole tree.
#
# C++ exceptions: emcc's default (-fignore-exceptions) turns every throw into an abort, but the
# core maps std::bad_alloc to FOLIA_ERR_OUT_OF_MEMORY and nlohmann-json parse errors to
# FOLIA_ERR_MODEL_HEADER with try/catch, and Catch2's REQUIRE throws to end a test case. So C++
# is compiled and linked with -fexceptions (Emscripten's JS-based EH; its prebuilt
# libc++-except is in the frozen cache). XNNPACK is C and its hot loops are untouched.
add_compile_options(-msimd128 $<$<COMPILE_LANGUAGE:CXX>:-fexceptions>)
add_link_options(-msimd128 -fexceptions)
# Stack sizes, stated: emcc 3.1.6's defaults (5 MB main, 2 MB per pthread). Newer emcc (trixie's
# 3.1.69, the relaxed-SIMD build) defaults to 64 KB for both, and a stack overflow in wasm writes
# silently into static data: measured there, the engine test's second model load failed its
# header checksum (the CRC table overwritten) and a worker then trapped out of bounds.
add_link_options(-sTOTAL_STACK=5MB -sDEFAULT_PTHREAD_STACK_SIZE=2MB)
if(FOLIA_WASM_RELAXED_SIMD)
  add_compile_options(-mrelaxed-simd)
  add_link_options(-mrelaxed-simd)
endif()
if(FOLIA_WASM_THREADS)
  add_compile_options(-pthread)
  add_link_options(-pthread)
endif()
