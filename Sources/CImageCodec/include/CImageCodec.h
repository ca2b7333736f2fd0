// CImageCodec: JPEG/PNG decoding to RGB8 and JPEG/PNG encoding, from and to memory buffers.
// libjpeg and libpng report fatal errors by longjmp, which Swift cannot catch; these
// functions catch them and return a status code plus a one-line message instead.
// Pixel conversions follow Pillow's `Image.open(f).convert("RGB")` (see each function).
#ifndef CIMAGECODEC_H
#define CIMAGECODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes of every cic_* function.
typedef enum {
    CIC_OK = 0,
    CIC_ERR_CORRUPT = 1,     // the codec rejected the data (message says why)
    CIC_ERR_TRUNCATED = 2,   // the data ended before the image was complete
    CIC_ERR_TOO_LARGE = 3,   // width*height exceeds max_pixels (checked from the header)
    CIC_ERR_UNSUPPORTED = 4, // valid file using a feature we do not decode (e.g. 12-bit JPEG)
    CIC_ERR_NO_MEMORY = 5,
} cic_status;

enum { CIC_MESSAGE_CAPACITY = 256 };

/// A decoded image: RGB8 interleaved, row-major, `width * height * 3` bytes,
/// allocated with malloc; release with cic_free.
typedef struct {
    uint8_t *pixels;
    int32_t width;
    int32_t height;
    char message[CIC_MESSAGE_CAPACITY]; // set when a function returns an error
} cic_image;

/// Decodes a JPEG (baseline, progressive, grayscale, RGB, CMYK/YCCK) with libjpeg's
/// defaults (JDCT_ISLOW, fancy upsampling), ignoring EXIF orientation. Gray is replicated;
/// CMYK is read with Adobe inversion and converted as Pillow's cmyk2rgb. Premature end of
/// data is an error (CIC_ERR_TRUNCATED), as in Pillow without LOAD_TRUNCATED_IMAGES.
cic_status cic_decode_jpeg(const uint8_t *data, size_t size, uint64_t max_pixels, cic_image *out);

/// Decodes a PNG (any bit depth / colour type, interlaced or not). Alpha and tRNS are dropped;
/// 16-bit colour keeps the high byte; 16-bit gray is clipped to 255 (Pillow's I;16 -> RGB);
/// palette indices beyond PLTE map to black.
cic_status cic_decode_png(const uint8_t *data, size_t size, uint64_t max_pixels, cic_image *out);

/// Encodes RGB8 pixels (`width * height * 3` bytes) as an 8-bit RGB PNG in memory.
/// On success `*png` is malloc'd (`*png_size` bytes); release with cic_free.
cic_status cic_encode_png(const uint8_t *rgb, int32_t width, int32_t height,
                          uint8_t **png, size_t *png_size, char message[CIC_MESSAGE_CAPACITY]);

/// Encodes RGB8 pixels as a baseline JPEG (4:2:0 chroma, `quality` 1...100) in memory.
/// On success `*jpeg` is malloc'd (`*jpeg_size` bytes); release with cic_free.
cic_status cic_encode_jpeg(const uint8_t *rgb, int32_t width, int32_t height, int32_t quality,
                           uint8_t **jpeg, size_t *jpeg_size, char message[CIC_MESSAGE_CAPACITY]);

/// Frees a buffer returned by any cic_* function (NULL is allowed).
void cic_free(void *buffer);

#ifdef __cplusplus
}
#endif
#endif
