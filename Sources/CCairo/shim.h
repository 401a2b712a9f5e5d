#ifndef NEURAL_LESSONS_CCAIRO_SHIM_H
#define NEURAL_LESSONS_CCAIRO_SHIM_H
// Cairo (image, SVG and FreeType back ends), FreeType itself and libpng's simplified API.
#include <cairo.h>
#include <cairo-svg.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <cairo-ft.h>
#include <png.h>
#endif
