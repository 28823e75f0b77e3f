# Preprocessing and augmentation tests; included by tests/CMakeLists.txt.
#
# Resize parity needs reference bytes from Pillow, but the tests also run in wasm where there is
# no Python. So a build step runs tools/pillow-resize-ref.py once (host Python, native and wasm
# builds alike) into <build>/preprocess-ref, and the Catch2 tests only read those files.
set(_pp_dir "${CMAKE_CURRENT_LIST_DIR}")
set(FOLIA_PILLOW_PYTHON "/usr/bin/python3" CACHE FILEPATH
    "Python with Pillow and numpy (Debian python3-pil) for the preprocessing reference files")
set(FOLIA_PREPROCESS_REF_DIR "${CMAKE_BINARY_DIR}/preprocess-ref")
set(_pp_ref_deps "${_pp_dir}/../tools/pillow-resize-ref.py")
if(FOLIA_DATA AND EXISTS "${FOLIA_DATA}/MANIFEST.tsv")
  list(APPEND _pp_ref_deps "${FOLIA_DATA}/MANIFEST.tsv")
endif()
add_custom_command(
  OUTPUT "${FOLIA_PREPROCESS_REF_DIR}/manifest.tsv"
  COMMAND "${FOLIA_PILLOW_PYTHON}" "${_pp_dir}/../tools/pillow-resize-ref.py"
          "--out=${FOLIA_PREPROCESS_REF_DIR}" "--data=${FOLIA_DATA}"
  DEPENDS ${_pp_ref_deps}
  COMMENT "Pillow reference files for the preprocessing tests (FOLIA_DATA=${FOLIA_DATA})"
  VERBATIM)
add_custom_target(folia_preprocess_ref ALL DEPENDS "${FOLIA_PREPROCESS_REF_DIR}/manifest.tsv")

folia_add_catch_test(folia_test_preprocess
  "${_pp_dir}/test-preprocess-support.cpp"
  "${_pp_dir}/test-preprocess-resize.cpp"
  "${_pp_dir}/test-preprocess-decode.cpp"
  "${_pp_dir}/test-preprocess-normalize.cpp"
  "${_pp_dir}/test-fuzz-regressions.cpp"
  LIBS folia_preprocess)
add_dependencies(folia_test_preprocess folia_preprocess_ref)
# The decode tests reach stb's allocation statistics through the library's internal header.
target_include_directories(folia_test_preprocess PRIVATE "${_pp_dir}/../shared/src/preprocess")
# Where the reference files are when no environment variable says otherwise (an absolute path:
# valid natively and under node with NODERAWFS).
target_compile_definitions(folia_test_preprocess PRIVATE
  "FOLIA_PREPROCESS_REF_DEFAULT=\"${FOLIA_PREPROCESS_REF_DIR}\"")

folia_add_catch_test(folia_test_augment "${_pp_dir}/test-augment.cpp" LIBS folia_preprocess)

# Benchmark (prints figures; not a test): resize and decode of 12 MP vs stb_image_resize.
if(NOT EMSCRIPTEN)
  add_executable(folia_bench_preprocess "${_pp_dir}/bench-preprocess.cpp")
  target_link_libraries(folia_bench_preprocess PRIVATE folia_preprocess folia_system_headers)
endif()
