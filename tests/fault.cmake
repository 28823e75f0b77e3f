# Fault injection ([fault]), native only (they kill and restart the real binaries):
#   folia_test_fault_resume: folia-train SIGKILLed at seeded random points resumes to the exact
#     model of an uninterrupted run; an interrupted export keeps the good model file.
#   folia_test_fault_write: `folia teach` interrupted mid-write keeps the good model file.
if(EMSCRIPTEN)
  return()
endif()

if(FOLIA_BUILD_TRAINING AND TARGET folia_training)
  folia_add_catch_test(folia_test_fault_resume test-fault-resume.cpp
                       LIBS folia_training folia folia_test_support)
  target_compile_definitions(folia_test_fault_resume PRIVATE
    FOLIA_TRAIN_EXE="$<TARGET_FILE:folia-train>")
  add_dependencies(folia_test_fault_resume folia-train)
endif()

folia_add_catch_test(folia_test_fault_write test-fault-write.cpp cli-support.cpp
                     LIBS folia folia_preprocess folia_model_file folia_test_support)
target_compile_definitions(folia_test_fault_write PRIVATE
  FOLIA_CLI_PATH="$<TARGET_FILE:folia_cli>"
  FOLIA_MAKE_RANDOM_MODEL_PATH="$<TARGET_FILE:folia-make-random-model>")
add_dependencies(folia_test_fault_write folia_cli folia-make-random-model)
