# Semi-supervised pseudo-labelling tests ([ssl]); included by tests/CMakeLists.txt. Native only:
# they need the LibTorch training libraries (training/ssl.cmake).
if(TARGET folia_ssl)
  # Torch comes with folia_ssl (found once in training/CMakeLists.txt, its targets global).
  folia_add_catch_test(folia_test_ssl_logic "${CMAKE_CURRENT_LIST_DIR}/test-ssl-logic.cpp"
                       LIBS folia_ssl_logic)
  # The loss and the end-to-end simulation (real data slice from $FOLIA_DATA, 32x32).
  folia_add_catch_test(folia_test_ssl "${CMAKE_CURRENT_LIST_DIR}/test-ssl-loss.cpp"
                       "${CMAKE_CURRENT_LIST_DIR}/test-ssl-sim.cpp" LIBS folia_ssl)
endif()
