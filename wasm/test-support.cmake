# folia_wasm_test_target(name): makes the Catch2 test executable `name` runnable under node and
# registers it with CTest (one CTest test per binary; its Catch2 output lists every test case).
#   -sNODERAWFS=1            host file access (test data, reference files, FOLIA_DATA images)
#   -sALLOW_MEMORY_GROWTH=1  big photos and batch tests
#   --pre-js node-env.pre.js getenv() sees node's process.env (FOLIA_DATA, FOLIA_SOURCE_DIR...)
#   threads: -sPROXY_TO_PTHREAD (main() off node's main thread, so it may block on workers),
#            -sPTHREAD_POOL_SIZE=2 (workers preloaded for a 2-thread pool), -sEXIT_RUNTIME=1
# node 20's built-in fetch breaks emscripten 3.1.6's loader under node: --no-experimental-fetch.
include_guard(GLOBAL)

find_program(FOLIA_NODE node REQUIRED)
set(FOLIA_WASM_NODE_ARGS --no-experimental-fetch CACHE STRING "Arguments node runs wasm tests with")

# folia_wasm_node_target(name): link flags for a program run under node (tests, benchmark).
function(folia_wasm_node_target name)
  set(pre_js "${CMAKE_SOURCE_DIR}/wasm/node-env.pre.js")
  target_link_options(${name} PRIVATE
    -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2GB -sEXIT_RUNTIME=1
    -sENVIRONMENT=node$<$<BOOL:${FOLIA_WASM_THREADS}>:,worker>
    "SHELL:--pre-js ${pre_js}")
  if(FOLIA_WASM_THREADS)
    target_link_options(${name} PRIVATE -sPROXY_TO_PTHREAD=1 -sPTHREAD_POOL_SIZE=2
                        -Wno-pthreads-mem-growth)
  endif()
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${pre_js}")
endfunction()

function(folia_wasm_test_target name)
  folia_wasm_node_target(${name})
  add_test(NAME ${name}
           COMMAND "${FOLIA_NODE}" ${FOLIA_WASM_NODE_ARGS} "$<TARGET_FILE:${name}>"
           WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  set_tests_properties(${name} PROPERTIES LABELS wasm)
  if(FOLIA_TEST_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${FOLIA_TEST_ENV}")
  endif()
endfunction()
