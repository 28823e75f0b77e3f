# Semi-supervised pseudo-labelling tests ([ssl]); included by tests/CMakeLists.txt. Native only:
# they need the LibTorch training libraries (training/ssl.cmake).
if(TARGET folia_ssl)
  # Imported targets are directory-scoped: torch (found in training/) must be found here too
  # for the test executables that link folia_ssl.
  find_package(Torch REQUIRED CONFIG PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
  folia_add_catch_test(folia_test_ssl_logic "${CMAKE_CURRENT_LIST_DIR}/test-ssl-logic.cpp"
                       LIBS folia_ssl_logic)
  # The loss and the end-to-end simulation (real data slice from $FOLIA_DATA, 32x32).
  folia_add_catch_test(folia_test_ssl "${CMAKE_CURRENT_LIST_DIR}/test-ssl-loss.cpp"
                       "${CMAKE_CURRENT_LIST_DIR}/test-ssl-sim.cpp" LIBS folia_ssl)
endif()
