// RGB8 -> baseline JPEG in memory with libjpeg (4:2:0, JDCT_ISLOW, optimised Huffman tables).
#include "CImageCodec.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub; // must be first: libjpeg passes &pub as cinfo->err
    jmp_buf jump;
    char *message;
} jpeg_write_state;

static void on_write_error_exit(j_common_ptr cinfo) {
    jpeg_write_state *state = (jpeg_write_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(state->message, CIC_MESSAGE_CAPACITY, "JPEG encoder failed (%s)", text);
    longjmp(state->jump, 1);
}

cic_status cic_encode_jpeg(const uint8_t *rgb, int32_t width, int32_t height, int32_t quality,
                           uint8_t **jpeg_out, size_t *jpeg_size, char message[CIC_MESSAGE_CAPACITY]) {
    struct jpeg_compress_struct cinfo;
    jpeg_write_state err;
    unsigned char *volatile buffer = NULL;
    unsigned long size = 0;

    *jpeg_out = NULL;
    *jpeg_size = 0;
    message[0] = 0;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "cannot encode a %dx%d image as JPEG (sides 1...%d)",
                 width, height, JPEG_MAX_DIMENSION);
        return CIC_ERR_UNSUPPORTED;
    }
    if (quality < 1 || quality > 100) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "JPEG quality %d is outside 1...100", quality);
        return CIC_ERR_UNSUPPORTED;
    }
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_write_error_exit;
    err.message = message;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return CIC_ERR_CORRUPT;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);

    *jpeg_out = buffer;
    *jpeg_size = size;
    return CIC_OK;
}
