# Semi-supervised pseudo-labelling tests ([ssl]); included by tests/CMakeLists.txt. Native only:
# they need the LibTorch training libraries (training/ssl.cmake).
if(TARGET folia_ssl)
  # Torch comes with folia_ssl (found once in training/CMakeLists.txt, its targets global).
  folia_add_catch_test(folia_test_ssl_logic "${CMAKE_CURRENT_LIST_DIR}/test-ssl-logic.cpp"
                       LIBS folia_ssl_logic)
  # The loss and the end-to-end simulation (real data slice from $FOLIA_DATA, 32x32).
  folia_add_catch_test(folia_test_ssl "${CMAKE_CURRENT_LIST_DIR}/test-ssl-loss.cpp"
                       "${CMAKE_CURRENT_LIST_DIR}/test-ssl-sim.cpp" LIBS folia_ssl)
  # The CLI declares every subcommand's options at startup, where a clash (two options of one
  # name) throws before any parsing: each subcommand's --help must come back with its options.
  foreach(sub run supervised student fixmatch export)
    add_test(NAME "folia-ssl ${sub} --help lists its options" COMMAND folia-ssl ${sub} --help)
    set_tests_properties("folia-ssl ${sub} --help lists its options" PROPERTIES
                         PASS_REGULAR_EXPRESSION "--out")
  endforeach()
  set_tests_properties("folia-ssl student --help lists its options" PROPERTIES
                       PASS_REGULAR_EXPRESSION "--top-per-class")
endif()

# The rules the SSL tables' headline figures come from (tools/plot-ssl.py: paired gain, share of
# the gap, rounds and teacher chosen on validation, ties): Python unittest on synthetic results.
if(NOT EMSCRIPTEN)
  add_test(NAME "plot-ssl's methods table keeps the best-validation round and shares its paired gain"
           COMMAND "${FOLIA_PYTHON}" "${CMAKE_SOURCE_DIR}/tools/test-plot-ssl.py")
endif()
