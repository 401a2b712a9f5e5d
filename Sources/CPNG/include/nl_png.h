#ifndef NL_PNG_H
#define NL_PNG_H
#include <stddef.h>
#include <stdint.h>

/// Encodes an opaque Cairo ARGB32 image (native-endian 0xAARRGGBB words, `stride` bytes a row) as an 8-bit
/// RGB PNG with the given zlib level (0-9), zlib strategy (0 default, 1 filtered, 2 huffman only, 3 RLE) and
/// libpng filter mask (PNG_FILTER_* bits; 0 means none). On success returns 0 and a malloc'd buffer in *out
/// (free it with nl_png_free); on failure returns -1 and a message in `error`.
int nl_png_encode_argb32(const uint8_t *pixels, int width, int height, int stride, int level, int strategy,
                         int filters, uint8_t **out, size_t *out_length, char *error, size_t error_length);

void nl_png_free(uint8_t *buffer);
#endif
