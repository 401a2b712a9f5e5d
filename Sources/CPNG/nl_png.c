// libpng's full write API, for the choice of zlib level, strategy and row filters that the simplified API
// does not offer. libpng reports errors by longjmp, which Swift cannot catch: hence this small C file.
#include "nl_png.h"
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint8_t *data;
  size_t length;
  size_t capacity;
  int failed;
} buffer_t;

typedef struct {
  jmp_buf jump;
  char *error;
  size_t error_length;
} context_t;

static void write_bytes(png_structp png, png_bytep bytes, png_size_t length) {
  buffer_t *b = (buffer_t *)png_get_io_ptr(png);
  if (b->failed) return;
  if (b->length + length > b->capacity) {
    size_t capacity = b->capacity ? b->capacity : 65536;
    while (capacity < b->length + length) capacity *= 2;
    uint8_t *data = realloc(b->data, capacity);
    if (!data) { b->failed = 1; return; }
    b->data = data;
    b->capacity = capacity;
  }
  memcpy(b->data + b->length, bytes, length);
  b->length += length;
}

static void flush_bytes(png_structp png) { (void)png; }

static void on_error(png_structp png, png_const_charp message) {
  context_t *c = (context_t *)png_get_error_ptr(png);
  if (c->error && c->error_length) {
    strncpy(c->error, message, c->error_length - 1);
    c->error[c->error_length - 1] = 0;
  }
  longjmp(c->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int nl_png_encode_argb32(const uint8_t *pixels, int width, int height, int stride, int level, int strategy,
                         int filters, uint8_t **out, size_t *out_length, char *error, size_t error_length) {
  context_t context = {.error = error, .error_length = error_length};
  buffer_t buffer = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, on_error, on_warning);
  if (!png) { if (error && error_length) strncpy(error, "libpng could not start", error_length - 1); return -1; }
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(context.jump)) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    free(buffer.data);
    return -1;
  }
  png_set_write_fn(png, &buffer, write_bytes, flush_bytes);
  png_set_compression_level(png, level);
  png_set_compression_strategy(png, strategy);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, filters ? filters : PNG_FILTER_NONE);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  // Little-endian ARGB32 words are B, G, R, A bytes: swap to RGB and drop the alpha byte.
  png_set_bgr(png);
  png_set_filler(png, 0, PNG_FILLER_AFTER);
  for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * (size_t)stride));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  if (buffer.failed) {
    free(buffer.data);
    if (error && error_length) strncpy(error, "out of memory", error_length - 1);
    return -1;
  }
  *out = buffer.data;
  *out_length = buffer.length;
  return 0;
}

void nl_png_free(uint8_t *buffer) { free(buffer); }
