// CFloat32: FP32 matrix products against frozen weights packed once (and the MLP's QuickGELU), on AVX-512F or AVX2+FMA
// chosen at run time (portable C on other CPUs). Every output element is one fused multiply-add
// chain over its own row of A and column of B, in k order from zero, then its bias: its bits never
// depend on the other rows or columns in the call, on the tile or thread split, or on which of the
// three kernels ran (a fused multiply-add rounds once, whatever the vector width).
#ifndef CFLOAT32_H
#define CFLOAT32_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The kernels: portable C (`fmaf`), AVX2 + FMA (6-row × 16-column tiles), AVX-512F (12 × 32).
enum { CF32_PORTABLE = 0, CF32_AVX2 = 1, CF32_AVX512 = 2 };

/// The fastest kernel this CPU runs with its vector state saved by the OS (cpuid + xgetbv).
int cf32_best_kernel(void);

/// Floats of B packed for a product with `n` columns and depth `k`: ⌈n/16⌉ panels of k rows × 16 columns.
size_t cf32_panel_elements(int n, int k);

/// Packs B `[k, n]` with element (r, c) at `b[r·row_step + c·column_step]`, zero-padded to whole
/// panels: `(n, 1)` for B row-major (`dy·W`, W `[out, in]`), `(1, k)` for B = wᵀ with w `[n, k]`
/// row-major (`x·Wᵀ`).
void cf32_pack(const float *b, int k, int n, ptrdiff_t row_step, ptrdiff_t column_step, float *panels);

/// c[m, n] = a[m, k] · B (+ bias[j]); a row-major with row stride `lda`, c with `ldc`, B from
/// `cf32_pack`; `kernel` one of CF32_* that the CPU runs (at most `cf32_best_kernel()`). A is
/// copied block by block into a buffer of the calling thread's (144 KiB, kept for the thread's
/// life). Single-threaded: callers split rows (or whole panels of columns) between threads.
void cf32_gemm(int kernel, const float *a, int m, int k, int lda, const float *panels, int n, const float *bias,
               float *c, int ldc);

/// c[m, n] = a[m, k] · b[k, n] with both operands as they lie (row strides `lda`, `ldb`): the
/// frozen weight on the left (a convolution's `[Cout, Cin·k·k]`), the activations on the right,
/// packed 256 × 1024 at a time into a buffer of the calling thread's (1 MiB). Same chains, same bits as
/// `cf32_gemm` on B packed once: a column's results depend only on that column.
void cf32_gemm_rows(int kernel, const float *a, int m, int k, int lda, const float *b, int ldb, int n, float *c, int ldc);

/// QuickGELU over `[rows, cols]`: x[r, c] += bias[c] (when `bias`), then y = x·σ(1.702x); with
/// `saving_derivative`, x is then overwritten with f′(x) (the training forward). `y` may be `x`
/// (inference, in place). The bits of Swift's scalar `QuickGELU` on every kernel.
void cf32_quick_gelu(int kernel, float *y, float *x, const float *bias, int rows, int cols, int saving_derivative);

#ifdef __cplusplus
}
#endif
#endif
