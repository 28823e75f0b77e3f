# sdl2-wasm.cmake: SDL 2.26 (Debian's libsdl2 source, FOLIA_THIRD_PARTY_DIR/sdl2) compiled for
# Emscripten from a project-side source list, for the web lab (wasm/lab-deps).
#
# SDL2's own CMake does this too, but its configure runs ~14 minutes of feature checks under
# emcmake here; SDL ships include/SDL_config_emscripten.h, so the checks are not needed. The list
# below is what SDL's CMakeLists.txt selects for EMSCRIPTEN: the platform-neutral folders, then the
# Emscripten drivers, and the dummy drivers of what that config disables (haptic, sensors). Only
# the software and OpenGL ES 2 renderers are compiled (SDL_config_emscripten.h enables OGL_ES2).
#
# folia_sdl2_wasm_sources(<out var> <SDL source dir> <threads ON|OFF>)
include_guard(GLOBAL)

function(folia_sdl2_wasm_sources out sdl threads)
  # One *.c glob per folder, as SDL's CMake does; the folders are the explicit list.
  set(dirs
    src src/atomic src/audio src/cpuinfo src/dynapi src/events src/file src/joystick src/haptic
    src/hidapi src/libm src/locale src/misc src/power src/render src/render/software
    src/render/opengles2 src/sensor src/stdlib src/thread src/timer src/video src/video/yuv2rgb
    # Emscripten drivers (SDL_config_emscripten.h)
    src/audio/emscripten src/audio/dummy src/audio/disk src/filesystem/emscripten
    src/joystick/emscripten src/locale/emscripten src/misc/emscripten src/power/emscripten
    src/timer/unix src/video/emscripten src/loadso/dlopen
    # what that config disables gets SDL's dummy driver
    src/haptic/dummy src/sensor/dummy)
  if(threads)
    list(APPEND dirs src/thread/pthread)  # __EMSCRIPTEN_PTHREADS__: SDL_THREAD_PTHREAD
  else()
    list(APPEND dirs src/thread/generic)  # SDL_THREADS_DISABLED
  endif()
  set(srcs "")
  foreach(d IN LISTS dirs)
    file(GLOB found "${sdl}/${d}/*.c")
    if(NOT found)
      message(FATAL_ERROR "folia: no SDL sources in ${sdl}/${d} (run tools/setup.sh)")
    endif()
    list(APPEND srcs ${found})
  endforeach()
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()
