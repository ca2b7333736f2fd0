// FP32 products c = a·B (+ bias): B a frozen weight packed once (`cf32_gemm`), or activations
// packed block by block as the product runs, with the frozen weight as A (`cf32_gemm_rows`, the
// convolutions).
//
// Layouts:
//   panels  ⌈n/16⌉ panels × k rows × 16 columns: panel q, row p holds b[p][16q ..< 16q + 16], zero-padded.
//   block   KC-column slices of up to MC rows of A copied to rows of stride KC, so a tile reads its
//           rows at constant offsets from one pointer (in place, at the caller's row stride, the
//           AVX2 kernel measured 3–15% slower on the ViT's shapes), into a buffer of the thread's.
// Blocking: for each KC slice of the depth, for each MC-row block of A (in L2), for each group of
// panels, for each tile of rows: the tile's KC × 16·NP slice of B stays in L1. A tile keeps its
// sums in registers over one slice and in c between slices (exact: a float stored and reloaded
// is the same float), so every element is the chain acc = fma(a[i][p], b[p][j], acc) for
// p = 0, 1, …, k − 1 from acc = 0, then acc + bias[j]: the same operations in the same order
// whatever the tile shape, the block, the row's place in the call or the kernel (a fused
// multiply-add rounds once, so an AVX-512 lane, an AVX2 lane and `fmaf` agree bit for bit).
#include "CFloat32.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

enum {
    KC = 256,   // depth per slice: a 12-row tile's A (12 KiB) and two panels' B (32 KiB) fit L1
    MC = 144,   // rows per block of A: 144 KiB, in L2 (a multiple of both kernels' tile heights)
    NC = 1024,  // columns per block of a B packed per call (`cf32_gemm_rows`): KC × NC = 1 MiB, each
                // element of B packed once, every row of A run against it
};

size_t cf32_panel_elements(int n, int k) { return (size_t)((n + 15) / 16) * (size_t)k * 16; }


// Once per weight: panels[(q·k + p)·16 + j] = b[p][16q + j] = b[p·row_step + (16q + j)·column_step].
void cf32_pack(const float *b, int k, int n, ptrdiff_t row_step, ptrdiff_t column_step, float *panels) {
    int count = (n + 15) / 16;
    for (int q = 0; q < count; q++) {
        int width = n - 16 * q < 16 ? n - 16 * q : 16;
        for (int p = 0; p < k; p++) {
            float *line = panels + ((size_t)q * k + p) * 16;
            const float *src = b + p * row_step + (ptrdiff_t)16 * q * column_step;
            if (column_step == 1 && width == 16) {
                for (int j = 0; j < 16; j++) line[j] = src[j];
            } else {
                for (int j = 0; j < width; j++) line[j] = src[j * column_step];
            }
            for (int j = width; j < 16; j++) line[j] = 0;
        }
    }
}

// One tile: rows a[r·as + p] (r < MR; `as` KC in a copied block, the row stride in place), `kc` rows of NP panels from `b` (panel q at b + q·step), into
// c's first `valid` columns; sums start from 0 when `first`, else from c; `bias` (moved to the
// tile's first column) is added as the tile stores its final sums, NULL before the last slice.
typedef void (*tile_fn)(const float *a, size_t as, int kc, const float *b, size_t step, float *c, int ldc, int valid, int first,
                        const float *bias);

// Portable C: one row at a time over one panel (mr ≤ 12 rows, 16 columns).
static void tile_portable(const float *a, size_t as, int mr, int kc, const float *b, float *c, int ldc, int valid, int first,
                          const float *bias) {
    for (int r = 0; r < mr; r++) {
        float acc[16];
        for (int j = 0; j < 16; j++) acc[j] = first || j >= valid ? 0 : c[(size_t)r * ldc + j];
        for (int p = 0; p < kc; p++) {
            float x = a[r * as + p];
            for (int j = 0; j < 16; j++) acc[j] = fmaf(x, b[p * 16 + j], acc[j]);
        }
        for (int j = 0; j < valid; j++) c[(size_t)r * ldc + j] = bias ? acc[j] + bias[j] : acc[j];
    }
}

#if defined(__x86_64__)

int cf32_best_kernel(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CF32_PORTABLE;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!fma || !osxsave || !avx) return CF32_PORTABLE;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x6) != 0x6) return CF32_PORTABLE;   // XMM and YMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return CF32_PORTABLE;
    if (!((b >> 5) & 1)) return CF32_PORTABLE;     // AVX2
    int avx512f = (b >> 16) & 1, zmm_saved = (lo & 0xe0) == 0xe0;   // opmask, ZMM_Hi256, Hi16_ZMM
    return avx512f && zmm_saved ? CF32_AVX512 : CF32_AVX2;
}

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

// AVX-512F: MR rows × NP panels (≤ 12 × 2: 24 zmm accumulators); per depth step NP loads of B and
// MR broadcasts of A folded into the multiply-adds.
#define TILE512(MR, NP)                                                                                         \
    AVX512 static void t512_##MR##_##NP(const float *a, size_t as, int kc, const float *b, size_t step, float *c, int ldc, \
                                        int valid, int first, const float *bias) {                              \
        __m512 acc[MR][NP];                                                                                     \
        __mmask16 mask[NP];                                                                                     \
        for (int q = 0; q < NP; q++) {                                                                          \
            int left = valid - 16 * q;                                                                          \
            mask[q] = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;            \
        }                                                                                                       \
        for (int r = 0; r < MR; r++)                                                                            \
            for (int q = 0; q < NP; q++)                                                                        \
                acc[r][q] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[q], c + (size_t)r * ldc + 16 * q); \
        _Pragma("clang loop unroll_count(4)")   /* measured 2-4% over a rolled loop */                        \
        for (int p = 0; p < kc; p++) {                                                                          \
            __m512 bv[NP];                                                                                      \
            for (int q = 0; q < NP; q++) bv[q] = _mm512_loadu_ps(b + q * step + (size_t)p * 16);                \
            for (int r = 0; r < MR; r++) {                                                                      \
                __m512 av = _mm512_set1_ps(a[r * as + p]);                                                      \
                for (int q = 0; q < NP; q++) acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);                 \
            }                                                                                                   \
        }                                                                                                       \
        for (int q = 0; q < NP; q++) {                                                                          \
            if (!mask[q]) break;                                                                                \
            __m512 add = bias ? _mm512_maskz_loadu_ps(mask[q], bias + 16 * q) : _mm512_setzero_ps();            \
            for (int r = 0; r < MR; r++)                                                                        \
                _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * q, mask[q],                                    \
                                      bias ? _mm512_add_ps(acc[r][q], add) : acc[r][q]);                        \
        }                                                                                                       \
    }

TILE512(1, 1) TILE512(2, 1) TILE512(3, 1) TILE512(4, 1) TILE512(5, 1) TILE512(6, 1)
TILE512(7, 1) TILE512(8, 1) TILE512(9, 1) TILE512(10, 1) TILE512(11, 1) TILE512(12, 1)
TILE512(1, 2) TILE512(2, 2) TILE512(3, 2) TILE512(4, 2) TILE512(5, 2) TILE512(6, 2)
TILE512(7, 2) TILE512(8, 2) TILE512(9, 2) TILE512(10, 2) TILE512(11, 2) TILE512(12, 2)

static const tile_fn tiles512[2][12] = {
    {t512_1_1, t512_2_1, t512_3_1, t512_4_1, t512_5_1, t512_6_1, t512_7_1, t512_8_1, t512_9_1, t512_10_1, t512_11_1, t512_12_1},
    {t512_1_2, t512_2_2, t512_3_2, t512_4_2, t512_5_2, t512_6_2, t512_7_2, t512_8_2, t512_9_2, t512_10_2, t512_11_2, t512_12_2},
};

// AVX2 + FMA: MR rows × one panel as two ymm halves (≤ 6 × 16: 12 accumulators). A panel with
// fewer than 16 valid columns (only n's last) goes through a 16-column copy of its rows.
#define TILE256(MR)                                                                                             \
    AVX2 static void t256_##MR(const float *a, size_t as, int kc, const float *b, size_t step, float *c, int ldc, int valid, \
                               int first, const float *bias) {                                                  \
        (void)step;                                                                                             \
        float edge[MR * 16];                                                                                    \
        float *out = c;                                                                                         \
        int stride = ldc;                                                                                       \
        if (valid < 16) {                                                                                       \
            out = edge;                                                                                         \
            stride = 16;                                                                                        \
            for (int r = 0; r < MR; r++)                                                                        \
                for (int j = 0; j < 16; j++) edge[r * 16 + j] = first || j >= valid ? 0 : c[(size_t)r * ldc + j]; \
        }                                                                                                       \
        __m256 acc[MR][2];                                                                                      \
        for (int r = 0; r < MR; r++)                                                                            \
            for (int h = 0; h < 2; h++)                                                                         \
                acc[r][h] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(out + (size_t)r * stride + 8 * h);   \
        _Pragma("clang loop unroll_count(4)")                                                                   \
        for (int p = 0; p < kc; p++) {                                                                          \
            __m256 b0 = _mm256_loadu_ps(b + (size_t)p * 16), b1 = _mm256_loadu_ps(b + (size_t)p * 16 + 8);      \
            for (int r = 0; r < MR; r++) {                                                                      \
                __m256 av = _mm256_broadcast_ss(a + r * as + p);                                                \
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);                                                 \
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);                                                 \
            }                                                                                                   \
        }                                                                                                       \
        for (int h = 0; h < 2; h++) {                                                                           \
            float lanes[8];                                                                                     \
            for (int j = 0; j < 8; j++) lanes[j] = bias && 8 * h + j < valid ? bias[8 * h + j] : 0;             \
            __m256 add = _mm256_loadu_ps(lanes);                                                                \
            for (int r = 0; r < MR; r++)                                                                        \
                _mm256_storeu_ps(out + (size_t)r * stride + 8 * h, bias ? _mm256_add_ps(acc[r][h], add) : acc[r][h]); \
        }                                                                                                       \
        if (valid < 16)                                                                                         \
            for (int r = 0; r < MR; r++) memcpy(c + (size_t)r * ldc, edge + r * 16, (size_t)valid * sizeof(float)); \
    }

TILE256(1) TILE256(2) TILE256(3) TILE256(4) TILE256(5) TILE256(6)

static const tile_fn tiles256[6] = {t256_1, t256_2, t256_3, t256_4, t256_5, t256_6};

#else

int cf32_best_kernel(void) { return CF32_PORTABLE; }

#endif

// Packs rows [0, kc) × columns [0, nc) of a row-major B (row stride `ldb`) into ⌈nc/16⌉ panels
// of kc × 16 at `panels`, zero-padded past nc: the layout the tiles read. Each row is read once,
// front to back.
static void pack_block(const float *b, size_t ldb, int kc, int nc, float *panels) {
    int count = (nc + 15) / 16;
    for (int p = 0; p < kc; p++) {
        const float *row = b + (size_t)p * ldb;
        for (int q = 0; q < count; q++) {
            float *line = panels + ((size_t)q * kc + p) * 16;
            int columns = nc - 16 * q < 16 ? nc - 16 * q : 16;
            if (columns == 16) {
                memcpy(line, row + 16 * q, 16 * sizeof(float));
            } else {
                for (int c = 0; c < 16; c++) line[c] = c < columns ? row[16 * q + c] : 0;
            }
        }
    }
}

// One KC-deep slice [pc, pc + kc) of the product over rows [0, m) and the n columns of the panels
// at `b` (the first panel's row pc; `step` floats from one panel to the next), MC rows of A at a
// time copied to `block`, or read in place when `block` is NULL.
static void slice(int kernel, const float *a, int m, int lda, int pc, int kc, int first, int last, const float *b,
                  size_t step, int n, const float *bias, float *c, int ldc, float *block) {
    int mr_max = kernel == CF32_AVX512 ? 12 : kernel == CF32_AVX2 ? 6 : 12;
    int np_max = kernel == CF32_AVX512 ? 2 : 1;
    int count = (n + 15) / 16;
    for (int ic = 0; ic < m; ic += MC) {
        int mc = m - ic < MC ? m - ic : MC;
        if (block)
            for (int r = 0; r < mc; r++) memcpy(block + (size_t)r * KC, a + (size_t)(ic + r) * lda + pc, (size_t)kc * sizeof(float));
        const float *rows = block ? block : a + (size_t)ic * lda + pc;
        size_t as = block ? KC : (size_t)lda;
        for (int q = 0; q < count; q += np_max) {
            int np = count - q < np_max ? count - q : np_max;
            int valid = n - 16 * q < 16 * np ? n - 16 * q : 16 * np;
            const float *tb = b + q * step;
            const float *tile_bias = last && bias ? bias + 16 * q : NULL;
            for (int i = 0; i < mc; i += mr_max) {
                int mr = mc - i < mr_max ? mc - i : mr_max;
                const float *ta = rows + (size_t)i * as;
                float *tc = c + (size_t)(ic + i) * ldc + 16 * q;
                // the next tile's rows of c, which it reads or writes first: a row of c is ldc
                // floats from the next, so each would otherwise be a cache miss
                int next = mc - i - mr < mr_max ? mc - i - mr : mr_max;
                for (int r = 0; r < next; r++) {
                    __builtin_prefetch(tc + (size_t)(mr + r) * ldc, 1, 3);
                    if (np == 2) __builtin_prefetch(tc + (size_t)(mr + r) * ldc + 16, 1, 3);
                }
#if defined(__x86_64__)
                if (kernel == CF32_AVX512) {
                    tiles512[np - 1][mr - 1](ta, as, kc, tb, step, tc, ldc, valid, first, tile_bias);
                    continue;
                }
                if (kernel == CF32_AVX2) {
                    tiles256[mr - 1](ta, as, kc, tb, step, tc, ldc, valid, first, tile_bias);
                    continue;
                }
#endif
                tile_portable(ta, as, mr, kc, tb, tc, ldc, valid, first, tile_bias);
            }
        }
    }
}

// c = bias (or 0) where the depth is 0: an empty sum.
static void empty_sum(int m, int n, const float *bias, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = bias ? bias[j] : 0;
}

#if !defined(__x86_64__)
#define KERNEL(k) CF32_PORTABLE
#else
#define KERNEL(k) (k)
#endif

// The calling thread's buffers, allocated on its first product and freed when it exits: a block
// of A (MC × KC floats, 144 KiB) for `cf32_gemm`, a block of packed B (KC × NC, 1 MiB) for
// `cf32_gemm_rows` (whose A, a convolution's weight, is read in place: copying it again for every
// 1024 columns measured 5–10% slower on RN50).
typedef struct { float *a, *b; } buffers;
static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *p) {
    buffers *t = p;
    free(t->a);
    free(t->b);
    free(t);
}

static void make_key(void) { pthread_key_create(&buffers_key, free_buffers); }

// This thread's buffers, the one `rows_mode` needs allocated; aborts when memory is exhausted.
static buffers *thread_buffers(int rows_mode) {
    pthread_once(&buffers_once, make_key);
    buffers *t = pthread_getspecific(buffers_key);
    if (!t) {
        if (!(t = calloc(1, sizeof *t))) abort();
        pthread_setspecific(buffers_key, t);
    }
    if (!rows_mode && !t->a && !(t->a = aligned_alloc(64, (size_t)MC * KC * sizeof(float)))) abort();
    if (rows_mode && !t->b && !(t->b = aligned_alloc(64, (size_t)KC * NC * sizeof(float)))) abort();
    return t;
}

void cf32_gemm(int kernel, const float *a, int m, int k, int lda, const float *panels, int n, const float *bias,
               float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        empty_sum(m, n, bias, c, ldc);
        return;
    }
    for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC;
        slice(KERNEL(kernel), a, m, lda, pc, kc, pc == 0, pc + kc == k, panels + (size_t)pc * 16, (size_t)k * 16, n, bias,
              c, ldc, thread_buffers(0)->a);
    }
}

void cf32_gemm_rows(int kernel, const float *a, int m, int k, int lda, const float *b, int ldb, int n, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        empty_sum(m, n, NULL, c, ldc);
        return;
    }
    buffers *t = thread_buffers(1);
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC;
            pack_block(b + (size_t)pc * ldb + jc, (size_t)ldb, kc, nc, t->b);
            slice(KERNEL(kernel), a, m, lda, pc, kc, pc == 0, pc + kc == k, t->b, (size_t)kc * 16, nc, NULL, c + jc, ldc, NULL);
        }
    }
}
