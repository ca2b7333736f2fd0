// PNG -> RGB8 with libpng, errors returned instead of longjmp'd out of the caller.
// libpng does the unfiltering, de-interlacing and unpacking of sub-byte samples; the colour
// conversion to RGB8 is done here so that it follows Pillow's convert("RGB") exactly.
#include "CImageCodec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    cic_status status;
    char *message;  // points into the caller's cic_image.message
} png_read_state;

static void on_png_error(png_structp png, png_const_charp text) {
    png_read_state *state = (png_read_state *)png_get_error_ptr(png);
    if (state->status == CIC_OK) {
        state->status = CIC_ERR_CORRUPT;
        snprintf(state->message, CIC_MESSAGE_CAPACITY, "corrupt PNG (%s)", text);
    }
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void read_from_memory(png_structp png, png_bytep dst, size_t count) {
    png_read_state *state = (png_read_state *)png_get_io_ptr(png);
    if (count > state->size - state->offset) {
        state->status = CIC_ERR_TRUNCATED;
        snprintf(state->message, CIC_MESSAGE_CAPACITY, "truncated PNG (premature end of data)");
        png_error(png, "premature end of data");
    }
    memcpy(dst, state->data + state->offset, count);
    state->offset += count;
}

// Converts one unpacked row (one sample per byte for depth <= 8, big-endian pairs for 16)
// to RGB8, as Pillow's PNG modes followed by convert("RGB") do.
static void row_to_rgb(const uint8_t *src, uint8_t *dst, size_t width, int color_type, int depth,
                       const uint8_t palette[256 * 3]) {
    int wide = depth == 16;
    size_t bytes_per_sample = wide ? 2 : 1;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        for (size_t x = 0; x < width; x++) {
            uint8_t v;
            if (wide) { // Pillow: mode I;16, convert("RGB") clips to 255
                unsigned value = ((unsigned)src[2 * x] << 8) | src[2 * x + 1];
                v = value > 255 ? 255 : (uint8_t)value;
            } else {
                v = src[x]; // already expanded to 8 bits by bit replication (x*255/(2^d-1))
            }
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
        }
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: // Pillow: LA (16-bit: high byte), alpha dropped
        for (size_t x = 0; x < width; x++) {
            uint8_t v = src[2 * bytes_per_sample * x];
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
        }
        break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {  // 16-bit: high byte; alpha dropped
        size_t channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
        for (size_t x = 0; x < width; x++)
            for (size_t c = 0; c < 3; c++) dst[3 * x + c] = src[(channels * x + c) * bytes_per_sample];
        break;
    }
    case PNG_COLOR_TYPE_PALETTE:
        for (size_t x = 0; x < width; x++) memcpy(dst + 3 * x, palette + 3 * src[x], 3);
        break;
    }
}

cic_status cic_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, cic_image *out) {
    png_read_state state = {data, size, 0, CIC_OK, out->message};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile raw = NULL;
    png_bytep *volatile rows = NULL;
    uint8_t *volatile pixels = NULL;

    out->pixels = NULL;
    out->width = 0;
    out->height = 0;
    out->message[0] = 0;

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        snprintf(out->message, CIC_MESSAGE_CAPACITY, "out of memory for the PNG decoder");
        return CIC_ERR_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(raw);
        free(rows);
        free(pixels);
        return state.status;
    }
    png_set_read_fn(png, &state, read_from_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff); // max_pixels is the only size limit
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if ((uint64_t)width * height > max_pixels) {
        snprintf(out->message, CIC_MESSAGE_CAPACITY, "image too large (%ux%u = %llu pixels, limit %llu)",
                 (unsigned)width, (unsigned)height, (unsigned long long)((uint64_t)width * height),
                 (unsigned long long)max_pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return CIC_ERR_TOO_LARGE;
    }

    uint8_t palette[256 * 3];
    memset(palette, 0, sizeof palette); // Pillow maps indices beyond PLTE to black
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp entries = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &entries, &count) && entries) {
            for (int i = 0; i < count && i < 256; i++) {
                palette[3 * i] = entries[i].red;
                palette[3 * i + 1] = entries[i].green;
                palette[3 * i + 2] = entries[i].blue;
            }
        }
        png_set_packing(png);                       // one index per byte
    } else if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);        // same scaling as Pillow's 1, L;2, L;4
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowbytes = png_get_rowbytes(png, info);
    raw = malloc(rowbytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    pixels = malloc((size_t)width * height * 3);
    if (!raw || !rows || !pixels) {
        state.status = CIC_ERR_NO_MEMORY;
        snprintf(out->message, CIC_MESSAGE_CAPACITY, "out of memory for %ux%u image", (unsigned)width, (unsigned)height);
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = raw + y * rowbytes;
    png_read_image(png, rows);
    for (png_uint_32 y = 0; y < height; y++)
        row_to_rgb(rows[y], pixels + (size_t)y * width * 3, width, color_type, depth, palette);

    png_destroy_read_struct(&png, &info, NULL);
    free(raw);
    free(rows);
    out->pixels = pixels;
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    return CIC_OK;
}
