# Incremental learning tests (issue 6). Native only: they need LibTorch (training/).
if(TARGET folia_incremental)
  # Imported targets are directory-scoped: torch (found in training/) must be found here too.
  if(NOT TARGET torch)
    find_package(Torch REQUIRED CONFIG PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
  endif()
  folia_add_catch_test(folia_test_incremental_logic test-incremental-logic.cpp
    LIBS folia_incremental_logic)
  folia_add_catch_test(folia_test_incremental test-incremental.cpp
    LIBS folia_incremental folia)
endif()
