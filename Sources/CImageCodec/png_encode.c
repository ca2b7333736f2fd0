// RGB8 -> PNG in memory with libpng (8-bit RGB, no interlace, default zlib level).
#include "CImageCodec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct {
    uint8_t *bytes;
    size_t size;
    size_t capacity;
    char *message;
    cic_status status;
} png_write_state;

static void on_write_error(png_structp png, png_const_charp text) {
    png_write_state *state = (png_write_state *)png_get_error_ptr(png);
    if (state->status == CIC_OK) {
        state->status = CIC_ERR_CORRUPT;
        snprintf(state->message, CIC_MESSAGE_CAPACITY, "PNG encoder failed (%s)", text);
    }
    png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void write_to_memory(png_structp png, png_bytep src, size_t count) {
    png_write_state *state = (png_write_state *)png_get_io_ptr(png);
    if (state->size + count > state->capacity) {
        size_t capacity = state->capacity ? state->capacity : 4096;
        while (capacity < state->size + count) capacity *= 2;
        uint8_t *grown = realloc(state->bytes, capacity);
        if (!grown) {
            state->status = CIC_ERR_NO_MEMORY;
            snprintf(state->message, CIC_MESSAGE_CAPACITY, "out of memory for the PNG encoder");
            png_error(png, "out of memory");
        }
        state->bytes = grown;
        state->capacity = capacity;
    }
    memcpy(state->bytes + state->size, src, count);
    state->size += count;
}

static void flush_nothing(png_structp png) { (void)png; }

cic_status cic_encode_png(const uint8_t *rgb, int32_t width, int32_t height,
                          uint8_t **png_out, size_t *png_size, char message[CIC_MESSAGE_CAPACITY]) {
    png_write_state state = {NULL, 0, 0, message, CIC_OK};
    png_structp png = NULL;
    png_infop info = NULL;

    *png_out = NULL;
    *png_size = 0;
    message[0] = 0;
    if (width <= 0 || height <= 0) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "cannot encode an empty image (%dx%d)", width, height);
        return CIC_ERR_UNSUPPORTED;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_write_error, on_write_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        snprintf(message, CIC_MESSAGE_CAPACITY, "out of memory for the PNG encoder");
        return CIC_ERR_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(state.bytes);
        return state.status;
    }
    png_set_write_fn(png, &state, write_to_memory, flush_nothing);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);

    *png_out = state.bytes;
    *png_size = state.size;
    return CIC_OK;
}
