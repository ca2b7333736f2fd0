// CBFloat16: BF16 matrix products with FP32 accumulation on AVX512-BF16 (`vdpbf16ps`), for the
// towers' `--precision bf16`. Every output element is one fixed sequence of instructions
// over its own row of A and column of B, so a row's (and a column's) bits never depend on the
// other rows or columns in the call: batch slot, batch size and lanes change nothing.
#ifndef CBFLOAT16_H
#define CBFLOAT16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU executes AVX-512 F/BW/VL and AVX512-BF16 and the OS saves the zmm state, else 0.
int cbf16_available(void);

/// BF16 elements of B packed as panels for a product with `n` columns and depth `k`: ⌈n/16⌉ panels
/// of ⌈k/2⌉ rows of 16 pairs (b[2p][j], b[2p+1][j]), zero-padded.
size_t cbf16_panel_elements(int n, int k);

/// Packs B `[k, n]` with element (r, c) at `b[r·row_step + c·column_step]`: `(k, 1)` for B row-major
/// (`dy·W`, W `[out, in]`), `(1, k)` for B = wᵀ with w `[n, k]` row-major (`x·Wᵀ`).
void cbf16_pack(const float *b, int k, int n, ptrdiff_t row_step, ptrdiff_t column_step, uint16_t *panels);

/// Row stride (elements) of A in BF16: k rounded up to even.
int cbf16_row_stride(int k);

/// A `[m, k]` fp32 (row stride `lda`) → BF16 rows of `cbf16_row_stride(k)` elements
/// (round to nearest even; the odd tail element padded with 0).
void cbf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out);

/// c[m, n] = a · b (+ bias[j]), with a from `cbf16_convert_rows` and b from `cbf16_pack_transposed`;
/// row stride of c is `ldc`. Only call when `cbf16_available()` returned 1.
void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n, const float *bias, float *c, int ldc);

/// A convolution's input geometry: x is `[channels, batch, height, width]` fp32, the output
/// `[m, batch, Ho, Wo]`, the weight `[m, channels·kernel·kernel]` (im2col row order).
typedef struct {
    int channels, batch, height, width, kernel, stride, padding;
} cbf16_conv_shape;

/// BF16 elements of the scratch `cbf16_conv` needs for depth `k`.
size_t cbf16_conv_scratch_elements(int k);

/// out[m, n] = w · im2col(x) + bias[i] (per output channel) + residual[i, j] (NULL: none of either),
/// then ReLU when `relu`;
/// n = batch·Ho·Wo, w from `cbf16_convert_rows`. Block by block of output columns, im2col and
/// BF16 packing into `scratch` (`cbf16_conv_scratch_elements(k)`) then the product, so the packed
/// columns stay in cache. Every output column runs the micro-tiles' fixed instruction sequence
/// over its own im2col column, so its bits depend only on its own image, whatever the batch.
void cbf16_conv(const uint16_t *w, int m, const float *x, cbf16_conv_shape s, const float *bias, const float *residual,
                int relu, float *out, uint16_t *scratch);

#ifdef __cplusplus
}
#endif
#endif
