# cached-build.cmake: third-party builds that run once at configure time and are cached outside
# the project's build trees (next to the sources in FOLIA_THIRD_PARTY_DIR), keyed by what they
# depend on. Used by cmake/xnnpack-native.cmake and wasm/xnnpack-wasm.cmake.
#
# folia_cached_build(KEY <key> STAMP <file> LOCK <file> TIMEOUT <seconds> BUILD <function>)
#   Nothing happens when STAMP holds KEY. Otherwise takes the file lock LOCK (two concurrent
#   configures never build into the same folder at once), reads STAMP again (another configure
#   may have finished the build while this one waited) and, if it still differs, calls
#   <function>(<the old stamp, "" if none>), which runs the build with folia_build_step(), and
#   then writes KEY to STAMP. The key is the caller's: keep it stable, a new one rebuilds.
# folia_build_step(<what> <command> [args...])
#   Runs one command of such a build; the configure fails if it fails.
# folia_build_cmake_project(<what> <source dir> <build dir> <jobs> [configure args...])
#   configure, build (-j <jobs>) and install a CMake project, as three folia_build_step()s.
# folia_require_third_party(<name>...)
#   Fails the configure unless FOLIA_THIRD_PARTY_DIR/<name>/CMakeLists.txt exists.
# FOLIA_EXTERNAL_GENERATOR
#   The generator for those sub-builds: Ninja when installed (it rebuilds incrementally after
#   an interrupted build), else Unix Makefiles.
include_guard(GLOBAL)

find_program(FOLIA_NINJA ninja)
if(FOLIA_NINJA)
  set(FOLIA_EXTERNAL_GENERATOR Ninja)
else()
  set(FOLIA_EXTERNAL_GENERATOR "Unix Makefiles")
endif()

function(folia_require_third_party)
  foreach(dep IN LISTS ARGN)
    if(NOT EXISTS "${FOLIA_THIRD_PARTY_DIR}/${dep}/CMakeLists.txt")
      message(FATAL_ERROR "folia: ${FOLIA_THIRD_PARTY_DIR}/${dep} is missing or incomplete; "
                          "run tools/setup.sh")
    endif()
  endforeach()
endfunction()

function(folia_build_step what)
  message(STATUS "folia: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "folia: ${what} failed (${rc})")
  endif()
endfunction()

function(folia_build_cmake_project what source build jobs)
  folia_build_step("configure ${what}" ${CMAKE_COMMAND} -S "${source}" -B "${build}" ${ARGN})
  folia_build_step("build ${what}" ${CMAKE_COMMAND} --build "${build}" -j ${jobs})
  folia_build_step("install ${what}" ${CMAKE_COMMAND} --install "${build}")
endfunction()

function(_folia_read_stamp file out)
  set(have "")
  if(EXISTS "${file}")
    file(READ "${file}" have)
  endif()
  set(${out} "${have}" PARENT_SCOPE)
endfunction()

function(folia_cached_build)
  cmake_parse_arguments(arg "" "KEY;STAMP;LOCK;TIMEOUT;BUILD" "" ${ARGN})
  foreach(required KEY STAMP LOCK TIMEOUT BUILD)
    if(NOT arg_${required})
      message(FATAL_ERROR "folia_cached_build: ${required} is missing")
    endif()
  endforeach()
  _folia_read_stamp("${arg_STAMP}" have)
  if("${have}" STREQUAL "${arg_KEY}")
    return()
  endif()
  get_filename_component(lock_dir "${arg_LOCK}" DIRECTORY)
  file(MAKE_DIRECTORY "${lock_dir}")
  file(LOCK "${arg_LOCK}" GUARD FUNCTION TIMEOUT ${arg_TIMEOUT} RESULT_VARIABLE lock_rc)
  if(NOT lock_rc EQUAL 0)
    message(FATAL_ERROR "folia: could not lock ${arg_LOCK}: ${lock_rc}")
  endif()
  _folia_read_stamp("${arg_STAMP}" have)
  if(NOT "${have}" STREQUAL "${arg_KEY}")
    cmake_language(CALL ${arg_BUILD} "${have}")
    file(WRITE "${arg_STAMP}" "${arg_KEY}")
  endif()
  file(LOCK "${arg_LOCK}" RELEASE)
endfunction()
