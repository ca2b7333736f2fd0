// CFloat32: FP32 matrix products against frozen weights packed once, on AVX-512F or AVX2+FMA
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

/// Floats of scratch one `cf32_gemm` call needs (its block of A; one per concurrent call).
size_t cf32_scratch_elements(void);

/// c[m, n] = a[m, k] · B (+ bias[j]); a row-major with row stride `lda`, c with `ldc`, B from
/// `cf32_pack`; `kernel` one of CF32_* that the CPU runs (at most `cf32_best_kernel()`).
/// Single-threaded: callers split rows (or whole panels of columns) between threads.
void cf32_gemm(int kernel, const float *a, int m, int k, int lda, const float *panels, int n, const float *bias,
               float *c, int ldc, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
