// lab-gl.h: the OpenGL header of the build: desktop GL 3 natively, GLES 3 (WebGL2) in the
// browser. The lab only uses calls both have (textures, glReadPixels, clear, viewport).
#pragma once

#if defined(__EMSCRIPTEN__)
#include <SDL_opengles2.h>
#else
#include <SDL_opengl.h>
#endif

namespace folia_lab {

// Creates (or refills, when *tex != 0) an RGBA texture from (h, w, 3) RGB bytes. nearest:
// nearest-neighbour magnification (the 128x128 network input shows its pixels).
void upload_rgb_texture(unsigned *tex, int w, int h, const unsigned char *rgb, bool nearest);

}  // namespace folia_lab
