# Incremental learning tests. Native only: they need LibTorch (training/).
if(TARGET folia_incremental)
  # Torch comes with folia_incremental (found once in training/CMakeLists.txt, targets global).
  folia_add_catch_test(folia_test_incremental_logic test-incremental-logic.cpp
    LIBS folia_incremental_logic)
  folia_add_catch_test(folia_test_incremental test-incremental.cpp
    LIBS folia_incremental folia)
endif()
