# On-device teaching tests ([teach]): the head's maths, growth, determinism, refusals, learning
# on synthetic patterns (and the mango photos when $FOLIA_DATA/../new-classes exists), exemplar
# tensors. Built natively and for wasm from the same sources. test-limits.cpp: every stated limit
# of docs/limits.md ([limits]: photo bytes and pixels, model file bytes, teaching photos/views).
folia_add_catch_test(folia_test_teach "${CMAKE_CURRENT_LIST_DIR}/test-teach.cpp"
                     "${CMAKE_CURRENT_LIST_DIR}/test-limits.cpp"
                     LIBS folia folia_model_file folia_preprocess folia_system_headers)
target_include_directories(folia_test_teach PRIVATE "${CMAKE_SOURCE_DIR}/shared/src/teach")
