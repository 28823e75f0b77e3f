# Semi-supervised pseudo-labelling. Included at the end of training/CMakeLists.txt.
#   folia_ssl_logic: thresholding, cap, buffer trigger, ramp, state (plain C++, no LibTorch)
#   folia_ssl:       the losses, the stream simulation, the student and FixMatch (LibTorch)
#   folia-ssl:       the CLI (run, supervised, student, fixmatch, export)
set(_ssl_dir "${CMAKE_CURRENT_LIST_DIR}/src")

add_library(folia_ssl_logic STATIC "${_ssl_dir}/ssl-logic.cpp")
target_include_directories(folia_ssl_logic PUBLIC "${_ssl_dir}")
# split.h's splitmix64 (the portable RNG) and nlohmann-json.
target_link_libraries(folia_ssl_logic PUBLIC folia_training_data)

add_library(folia_ssl STATIC "${_ssl_dir}/ssl-loss.cpp" "${_ssl_dir}/ssl-sim.cpp"
            "${_ssl_dir}/ssl-fixmatch.cpp")
target_link_libraries(folia_ssl PUBLIC folia_ssl_logic folia_training)

add_executable(folia-ssl "${_ssl_dir}/main-ssl.cpp")
target_link_libraries(folia-ssl PRIVATE folia_ssl)
if(TARGET CLI11::CLI11)
  target_link_libraries(folia-ssl PRIVATE CLI11::CLI11)
endif()
