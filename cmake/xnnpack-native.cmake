# Native XNNPACK (2024-11-08) + pthreadpool (2024-06-16), built with their own CMake from the
# sources tools/setup.sh unpacks, and exposed as the INTERFACE target folia_xnnpack.
#
# XNNPACK takes ~4 minutes at -j2, so it is built once at configure time and cached next to the
# sources (${FOLIA_THIRD_PARTY_DIR}/native-build-<cc>, native-install-<cc>), outside build/native:
# deleting the project's build tree does not rebuild it. A stamp file records what was built; a different
# key (sources, compiler, flags) re-runs the build incrementally. Nothing in the key depends on
# where the project's source tree is, so several checkouts or copies sharing one
# FOLIA_THIRD_PARTY_DIR agree on it instead of rebuilding in turn. A file lock keeps concurrent
# configures from building into the same folder at once.
#
# Measured pitfalls this handles:
# - Debian's pthreadpool (2021) lacks functions XNNPACK 2024 calls: pthreadpool 2024 is built
#   first and passed as PTHREADPOOL_LIBRARY.
# - Debian's cpuinfo (2022) lacks names XNNPACK 2024 uses: CPUINFO_SOURCE_DIR points at a compat
#   header (cmake/cpuinfo-compat) that includes the system one and adds them.
# - The old libxnnpack-dev headers must not shadow the 2024 ones: our install dir comes first and
#   setup.sh never installs libxnnpack-dev.

include("${CMAKE_CURRENT_LIST_DIR}/cached-build.cmake")  # stamp, lock, build steps

set(FOLIA_XNNPACK_JOBS 2 CACHE STRING "Parallel jobs for the one-time native XNNPACK build")

# XNNPACK's x86 microkernels are C intrinsics written for clang's register allocator. GCC 12
# spills an accumulator of the f32 5x16 FMA3 IGEMM kernel to the stack inside its inner loop:
# measured on this Zen 3 (AVX2), 64->64 conv at 64x64, 1 thread: 4.14 ms (36 GFLOP/s) with GCC,
# 1.51 ms (100 GFLOP/s, the FMA peak) with clang 14; whole network 14.3 -> 5.8 ms. So clang builds
# XNNPACK when present (Debian's emscripten depends on clang-14); the project itself keeps its
# compiler, and both link the same libstdc++.
find_program(FOLIA_XNNPACK_C_COMPILER NAMES clang-14 clang DOC "C compiler for native XNNPACK")
find_program(FOLIA_XNNPACK_CXX_COMPILER NAMES clang++-14 clang++ DOC "C++ compiler for native XNNPACK")
if(NOT FOLIA_XNNPACK_C_COMPILER OR NOT FOLIA_XNNPACK_CXX_COMPILER)
  message(WARNING "folia: clang not found; XNNPACK built with ${CMAKE_C_COMPILER} runs its FMA3 "
                  "convolutions ~2x slower (install clang)")
  set(FOLIA_XNNPACK_C_COMPILER "${CMAKE_C_COMPILER}" CACHE FILEPATH "" FORCE)
  set(FOLIA_XNNPACK_CXX_COMPILER "${CMAKE_CXX_COMPILER}" CACHE FILEPATH "" FORCE)
endif()
get_filename_component(_fx_cc_name "${FOLIA_XNNPACK_C_COMPILER}" NAME)

set(_fx_tp "${FOLIA_THIRD_PARTY_DIR}")
# One build/install per compiler, so switching compilers never wipes the other's cache.
set(_fx_build "${_fx_tp}/native-build-${_fx_cc_name}")
set(_fx_install "${_fx_tp}/native-install-${_fx_cc_name}")
set(_fx_stamp "${_fx_install}/folia-xnnpack.stamp")
# The compat header is copied next to the build, so the path XNNPACK sees is the same from
# every source tree.
set(_fx_compat_src "${CMAKE_CURRENT_LIST_DIR}/cpuinfo-compat/include/cpuinfo.h")
set(_fx_compat "${_fx_tp}/native-cpuinfo-compat")

folia_require_third_party(xnnpack pthreadpool fxdiv fp16 psimd)
if(NOT EXISTS "${_fx_tp}/xnnpack/src/configs/hardware-config.c")
  message(FATAL_ERROR "folia: ${_fx_tp}/xnnpack does not have XNNPACK's source layout "
                      "(src/, include/); delete it and run tools/setup.sh again")
endif()

set(_fx_generator "${FOLIA_EXTERNAL_GENERATOR}")

set(_fx_common_args
  -G "${_fx_generator}"
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_C_COMPILER=${FOLIA_XNNPACK_C_COMPILER}
  -DCMAKE_CXX_COMPILER=${FOLIA_XNNPACK_CXX_COMPILER}
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DCMAKE_INSTALL_PREFIX=${_fx_install}
  -DCMAKE_INSTALL_LIBDIR=lib
  -DFXDIV_SOURCE_DIR=${_fx_tp}/fxdiv
  -DFP16_SOURCE_DIR=${_fx_tp}/fp16
  -DPSIMD_SOURCE_DIR=${_fx_tp}/psimd)
set(_fx_pthreadpool_args
  -DPTHREADPOOL_LIBRARY_TYPE=static
  -DPTHREADPOOL_BUILD_TESTS=OFF
  -DPTHREADPOOL_BUILD_BENCHMARKS=OFF)
set(_fx_xnnpack_args
  -DXNNPACK_LIBRARY_TYPE=static
  -DXNNPACK_BUILD_ALL_MICROKERNELS=OFF
  -DXNNPACK_BUILD_TESTS=OFF
  -DXNNPACK_BUILD_BENCHMARKS=OFF
  -DXNNPACK_USE_SYSTEM_LIBS=ON
  -DXNNPACK_ENABLE_KLEIDIAI=OFF
  -DPTHREADPOOL_SOURCE_DIR=${_fx_tp}/pthreadpool
  -DPTHREADPOOL_LIBRARY=${_fx_install}/lib/libpthreadpool.a
  -DCPUINFO_SOURCE_DIR=${_fx_compat})

# What the cached build depends on; any change rebuilds it.
file(SHA256 "${_fx_tp}/xnnpack/CMakeLists.txt" _fx_xnn_hash)
file(SHA256 "${_fx_tp}/pthreadpool/CMakeLists.txt" _fx_ptp_hash)
file(SHA256 "${_fx_compat_src}" _fx_compat_hash)
execute_process(COMMAND "${FOLIA_XNNPACK_C_COMPILER}" --version OUTPUT_VARIABLE _fx_cc_version
                ERROR_QUIET)
string(SHA256 _fx_key "${_fx_xnn_hash};${_fx_ptp_hash};${_fx_compat_hash};${_fx_cc_version};\
${_fx_common_args};${_fx_pthreadpool_args};${_fx_xnnpack_args}")

function(_folia_build_native_xnnpack have)
  if(have)
    message(STATUS "folia: cached XNNPACK build is stale (stamp ${have}, want ${_fx_key})")
  endif()
  message(STATUS "folia: building pthreadpool + XNNPACK once into ${_fx_install} "
                 "(~4 min at -j${FOLIA_XNNPACK_JOBS}; cached across build trees)")
  # Incremental: ninja recompiles only what a changed flag or header touches.
  file(REMOVE "${_fx_stamp}")
  configure_file("${_fx_compat_src}" "${_fx_compat}/include/cpuinfo.h" COPYONLY)
  folia_build_cmake_project(pthreadpool "${_fx_tp}/pthreadpool" "${_fx_build}/pthreadpool"
    ${FOLIA_XNNPACK_JOBS} ${_fx_common_args} ${_fx_pthreadpool_args})
  folia_build_cmake_project(XNNPACK "${_fx_tp}/xnnpack" "${_fx_build}/xnnpack"
    ${FOLIA_XNNPACK_JOBS} ${_fx_common_args} ${_fx_xnnpack_args})
endfunction()
folia_cached_build(KEY "${_fx_key}" STAMP "${_fx_stamp}" LOCK "${_fx_build}.lock" TIMEOUT 1800
                   BUILD _folia_build_native_xnnpack)

find_package(Threads REQUIRED)
find_library(FOLIA_CPUINFO_LIBRARY cpuinfo REQUIRED)

add_library(folia_xnnpack INTERFACE)
# BEFORE + SYSTEM: the 2024 headers win over anything an old package left in /usr/include.
target_include_directories(folia_xnnpack SYSTEM BEFORE INTERFACE "${_fx_install}/include")
target_link_libraries(folia_xnnpack INTERFACE
  "${_fx_install}/lib/libXNNPACK.a"
  "${_fx_install}/lib/libmicrokernels-prod.a"
  "${_fx_install}/lib/libpthreadpool.a"
  "${FOLIA_CPUINFO_LIBRARY}"
  Threads::Threads
  m)
