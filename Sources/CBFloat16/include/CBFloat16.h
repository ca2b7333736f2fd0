// CBFloat16: BF16 matrix products with FP32 accumulation on AVX512-BF16 (`vdpbf16ps`), for the
// image towers' `--precision bf16`. Every output element is one fixed sequence of instructions
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

/// Packs B = wᵀ, where w is `[n, k]` row-major with row stride `ldw` (a linear layer's weight).
void cbf16_pack_transposed(const float *w, int n, int k, int ldw, uint16_t *panels);

/// Packs B = b, `[k, n]` row-major with row stride `ldb` (a convolution's im2col columns).
void cbf16_pack(const float *b, int k, int n, int ldb, uint16_t *panels);

/// Row stride (elements) of A in BF16: k rounded up to even.
int cbf16_row_stride(int k);

/// A `[m, k]` fp32 (row stride `lda`) → BF16 rows of `cbf16_row_stride(k)` elements
/// (round to nearest even; the odd tail element padded with 0).
void cbf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out);

/// c[m, n] = a · b (+ bias[j]) (+ c when `accumulate`), with a from `cbf16_convert_rows` and b
/// from `cbf16_pack*`; row stride of c is `ldc`. Only call when `cbf16_available()` returned 1.
void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n,
                const float *bias, float *c, int ldc, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
