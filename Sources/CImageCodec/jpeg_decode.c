// JPEG -> RGB8 with libjpeg(-turbo), errors returned instead of longjmp'd out of the caller.
#include "CImageCodec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub; // must be first: libjpeg passes &pub as cinfo->err
    jmp_buf jump;
    cic_status status;
    char *message;             // points into the caller's cic_image.message
} jpeg_error_state;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(state->message, CIC_MESSAGE_CAPACITY, "%s", text);
    state->status = CIC_ERR_CORRUPT;
    longjmp(state->jump, 1);
}

// Warnings (level -1) are ignored, as in Pillow, except premature end of data: libjpeg would
// pad with a fake EOI and return grey rows; Pillow raises "image file is truncated".
static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_error_state *state = (jpeg_error_state *)cinfo->err;
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        snprintf(state->message, CIC_MESSAGE_CAPACITY, "truncated JPEG (premature end of data)");
        state->status = CIC_ERR_TRUNCATED;
        longjmp(state->jump, 1);
    }
}

// Pillow's CMYK;I unpack (c = 255 - v) followed by cmyk2rgb:
// nk = 255 - k; out = clip(nk - muldiv255(c, nk)), muldiv255(a, b) = ((a*b+128) >> 8 + a*b+128) >> 8.
static void adobe_cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int width) {
    for (int x = 0; x < width; x++) {
        int nk = cmyk[4 * x + 3];            // 255 - (255 - v_k)
        for (int c = 0; c < 3; c++) {
            int ink = 255 - cmyk[4 * x + c];
            int tmp = ink * nk + 128;
            int v = nk - (((tmp >> 8) + tmp) >> 8);
            rgb[3 * x + c] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
    }
}

cic_status cic_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, cic_image *out) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state err;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;

    out->pixels = NULL;
    out->width = 0;
    out->height = 0;
    out->message[0] = 0;

    memset(&cinfo, 0, sizeof cinfo); // jpeg_destroy_decompress is safe even if creation failed
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    err.pub.emit_message = on_emit_message;
    err.status = CIC_OK;
    err.message = out->message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return err.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    uint64_t width = cinfo.image_width, height = cinfo.image_height;
    if (width * height > max_pixels) {
        snprintf(out->message, CIC_MESSAGE_CAPACITY,
                 "image too large (%llux%llu = %llu pixels, limit %llu)",
                 (unsigned long long)width, (unsigned long long)height,
                 (unsigned long long)(width * height), (unsigned long long)max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return CIC_ERR_TOO_LARGE;
    }
    int components = cinfo.num_components;
    if (components == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (components == 3) {
        cinfo.out_color_space = JCS_RGB;
    } else if (components == 4 && (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)) {
        cinfo.out_color_space = JCS_CMYK;
    } else {
        snprintf(out->message, CIC_MESSAGE_CAPACITY, "unsupported JPEG colour layout (%d components)", components);
        jpeg_destroy_decompress(&cinfo);
        return CIC_ERR_UNSUPPORTED;
    }
    jpeg_start_decompress(&cinfo);

    size_t w = cinfo.output_width, h = cinfo.output_height;
    int channels = cinfo.output_components;
    pixels = malloc(w * h * 3);
    row = malloc(w * (size_t)channels);
    if (!pixels || !row) {
        snprintf(out->message, CIC_MESSAGE_CAPACITY, "out of memory for %zux%zu image", w, h);
        err.status = CIC_ERR_NO_MEMORY;
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < h) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        uint8_t *dst = pixels + y * w * 3;
        if (channels == 3) {
            memcpy(dst, row, w * 3);
        } else if (channels == 1) {
            for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else {
            adobe_cmyk_row_to_rgb(row, dst, (int)w);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);

    out->pixels = pixels;
    out->width = (int32_t)w;
    out->height = (int32_t)h;
    return CIC_OK;
}

void cic_free(void *buffer) { free(buffer); }
