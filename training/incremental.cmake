# folia-incremental: class-incremental learning on top of folia_training.
# Included from training/CMakeLists.txt. Torch is included by incremental.cpp and
# commands-incremental.cpp only; the protocol, metrics and exemplar selection are plain C++
# (folia_incremental_logic) so their tests compile without LibTorch.
add_library(folia_incremental_logic STATIC
  src/incremental-protocol.cpp
  src/incremental-metrics.cpp
  src/incremental-exemplars.cpp
)
target_link_libraries(folia_incremental_logic PUBLIC folia_training_data)

add_library(folia_incremental STATIC
  src/incremental.cpp
  src/commands-incremental.cpp
)
target_link_libraries(folia_incremental PUBLIC folia_incremental_logic folia_training)

add_executable(folia-incremental src/main-incremental.cpp)
target_link_libraries(folia-incremental PRIVATE folia_incremental)
if(TARGET CLI11::CLI11)
  target_link_libraries(folia-incremental PRIVATE CLI11::CLI11)
endif()
