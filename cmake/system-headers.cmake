# Header-only Debian packages (stb, nlohmann-json, catch2, CLI11 for the web lab) live in /usr/include. Native builds
# see them already; emcc must never get -I/usr/include (it would pull glibc headers), so the wasm
# build gets a directory of symlinks to just these packages.
set(FOLIA_SYSTEM_HEADERS_DIR "")
if(EMSCRIPTEN)
  set(FOLIA_SYSTEM_HEADERS_DIR "${CMAKE_BINARY_DIR}/system-headers")
  file(MAKE_DIRECTORY "${FOLIA_SYSTEM_HEADERS_DIR}")
  foreach(pkg stb nlohmann catch2 CLI)
    if(EXISTS "/usr/include/${pkg}" AND NOT EXISTS "${FOLIA_SYSTEM_HEADERS_DIR}/${pkg}")
      file(CREATE_LINK "/usr/include/${pkg}" "${FOLIA_SYSTEM_HEADERS_DIR}/${pkg}" SYMBOLIC)
    endif()
  endforeach()
endif()

add_library(folia_system_headers INTERFACE)
if(FOLIA_SYSTEM_HEADERS_DIR)
  target_include_directories(folia_system_headers SYSTEM INTERFACE "${FOLIA_SYSTEM_HEADERS_DIR}")
endif()
