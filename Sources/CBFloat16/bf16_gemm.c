// BF16 products with FP32 accumulation: c = a·b on AVX512-BF16.
//
// Layouts (all zero-padded, so padding adds exact zeros):
//   a       [m, ks] BF16 rows, ks = k rounded up to even: pairs (a[i][2p], a[i][2p+1]) are 32-bit words.
//   panels  ⌈n/16⌉ panels × ⌈k/2⌉ pair-rows × 16 columns × 2: one 64-byte line per (panel, pair-row).
// A micro-tile is MR ≤ 8 rows × NP ≤ 2 panels (32 columns): 16 zmm accumulators; for each pair-row
// p it loads NP panel lines and, per row, broadcasts the row's pair and issues `vdpbf16ps`. Each
// accumulator lane sees the same instructions in the same order whatever MR, NP and the blocking,
// so an output element depends only on its own row and column.
#include "CBFloat16.h"
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

// Round to nearest even; NaN stays a (quiet) NaN. The weights are packed with this once; the
// activations per call with `vcvtne2ps2bf16` (the same rounding; subnormal inputs read as zero).
static inline uint16_t to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

int cbf16_row_stride(int k) { return (k + 1) & ~1; }

size_t cbf16_panel_elements(int n, int k) { return (size_t)((n + 15) / 16) * (size_t)((k + 1) / 2) * 32; }

// Once per weight: panels[(q·pairs + p)·32 + 2j + h] = wᵀ[2p + h][16q + j] = w[16q + j][2p + h].
void cbf16_pack_transposed(const float *w, int n, int k, int ldw, uint16_t *panels) {
    int pairs = (k + 1) / 2, count = (n + 15) / 16;
    for (int q = 0; q < count; q++)
        for (int p = 0; p < pairs; p++) {
            uint16_t *line = panels + ((size_t)q * pairs + p) * 32;
            for (int j = 0; j < 16; j++)
                for (int h = 0; h < 2; h++) {
                    int row = 2 * p + h, col = 16 * q + j;
                    line[2 * j + h] = (row < k && col < n) ? to_bf16(w[(size_t)col * ldw + row]) : 0;
                }
        }
}

#if defined(__x86_64__)

int cbf16_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0;   // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) return 0;   // XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM saved by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    int bf16 = (a >> 5) & 1;
    return f && bw && vl && bf16;
}

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

typedef void (*tile_fn)(const uint16_t *a, int ks, const uint16_t *b, int pairs, const float *bias,
                        float *c, int ldc, int valid, int accumulate);

// One MR × (16·NP) tile; `valid` = columns of c to write (≤ 16·NP), `b` = its first panel.
#define TILE(MR, NP)                                                                                  \
    TARGET static void tile_##MR##_##NP(const uint16_t *a, int ks, const uint16_t *b, int pairs,      \
                                        const float *bias, float *c, int ldc, int valid, int accumulate) { \
        __m512 acc[MR][NP];                                                                           \
        for (int r = 0; r < MR; r++)                                                                  \
            for (int q = 0; q < NP; q++) acc[r][q] = _mm512_setzero_ps();                             \
        for (int p = 0; p < pairs; p++) {                                                             \
            __m512bh bv[NP];                                                                          \
            for (int q = 0; q < NP; q++)                                                              \
                bv[q] = (__m512bh)_mm512_loadu_si512(b + ((size_t)q * pairs + p) * 32);               \
            for (int r = 0; r < MR; r++) {                                                            \
                uint32_t pair;                                                                        \
                memcpy(&pair, a + (size_t)r * ks + 2 * p, 4);                                         \
                __m512bh av = (__m512bh)_mm512_set1_epi32((int)pair);                                 \
                for (int q = 0; q < NP; q++) acc[r][q] = _mm512_dpbf16_ps(acc[r][q], av, bv[q]);      \
            }                                                                                         \
        }                                                                                             \
        for (int q = 0; q < NP; q++) {                                                                \
            int left = valid - 16 * q;                                                                \
            if (left <= 0) break;                                                                     \
            __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);          \
            __m512 add = bias ? _mm512_maskz_loadu_ps(mask, bias + 16 * q) : _mm512_setzero_ps();     \
            for (int r = 0; r < MR; r++) {                                                            \
                float *out = c + (size_t)r * ldc + 16 * q;                                            \
                __m512 v = _mm512_add_ps(acc[r][q], add);                                             \
                if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));               \
                _mm512_mask_storeu_ps(out, mask, v);                                                  \
            }                                                                                         \
        }                                                                                             \
    }

TILE(1, 1) TILE(2, 1) TILE(3, 1) TILE(4, 1) TILE(5, 1) TILE(6, 1) TILE(7, 1) TILE(8, 1)
TILE(1, 2) TILE(2, 2) TILE(3, 2) TILE(4, 2) TILE(5, 2) TILE(6, 2) TILE(7, 2) TILE(8, 2)

static const tile_fn tiles[2][8] = {
    {tile_1_1, tile_2_1, tile_3_1, tile_4_1, tile_5_1, tile_6_1, tile_7_1, tile_8_1},
    {tile_1_2, tile_2_2, tile_3_2, tile_4_2, tile_5_2, tile_6_2, tile_7_2, tile_8_2},
};

// Per call, the activations: 16 floats of each row of a pair in, 32 interleaved BF16 out.
TARGET void cbf16_pack(const float *b, int k, int n, int ldb, uint16_t *panels) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int pairs = (k + 1) / 2, count = (n + 15) / 16;
    for (int q = 0; q < count; q++) {
        int left = n - 16 * q;
        __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        for (int p = 0; p < pairs; p++) {
            const float *r0 = b + (size_t)(2 * p) * ldb + 16 * q;
            __m512 even = _mm512_maskz_loadu_ps(mask, r0);
            __m512 odd = 2 * p + 1 < k ? _mm512_maskz_loadu_ps(mask, r0 + ldb) : _mm512_setzero_ps();
            __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);   // [even 0..15 | odd 0..15]
            _mm512_storeu_si512(panels + ((size_t)q * pairs + p) * 32, _mm512_permutexvar_epi16(interleave, both));
        }
    }
}

TARGET void cbf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out) {
    int ks = cbf16_row_stride(k);
    for (int i = 0; i < m; i++) {
        const float *row = a + (size_t)i * lda;
        uint16_t *dst = out + (size_t)i * ks;
        for (int j = 0; j < ks; j += 32) {
            int left = k - j;
            __mmask16 lo = left >= 16 ? (__mmask16)0xffff : (__mmask16)(left > 0 ? (1u << left) - 1 : 0);
            __mmask16 hi = left >= 32 ? (__mmask16)0xffff : (__mmask16)(left > 16 ? (1u << (left - 16)) - 1 : 0);
            __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, row + j + 16), _mm512_maskz_loadu_ps(lo, row + j));
            int count = ks - j < 32 ? ks - j : 32;
            _mm512_mask_storeu_epi16(dst + j, count == 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << count) - 1), v);
        }
    }
}

void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n,
                const float *bias, float *c, int ldc, int accumulate) {
    enum { MC = 64 };   // rows per block: MC rows of A and one 32-column panel pair stay in L2
    int ks = cbf16_row_stride(k), pairs = ks / 2, count = (n + 15) / 16;
    for (int i0 = 0; i0 < m; i0 += MC) {
        int i1 = i0 + MC < m ? i0 + MC : m;
        for (int q = 0; q < count; q += 2) {
            int np = count - q >= 2 ? 2 : 1, valid = n - 16 * q < 32 ? n - 16 * q : 32;
            const uint16_t *b = panels + (size_t)q * pairs * 32;
            const float *bq = bias ? bias + 16 * q : NULL;
            for (int i = i0; i < i1; i += 8) {
                int mr = i1 - i < 8 ? i1 - i : 8;
                tiles[np - 1][mr - 1](a + (size_t)i * ks, ks, b, pairs, bq, c + (size_t)i * ldc + 16 * q, ldc, valid, accumulate);
            }
        }
    }
}

#else

// Not x86-64: `cbf16_available()` is 0 and callers never reach the others; they do nothing.
int cbf16_available(void) { return 0; }

void cbf16_pack(const float *b, int k, int n, int ldb, uint16_t *panels) {
    (void)b; (void)k; (void)n; (void)ldb; (void)panels;
}

void cbf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out) {
    (void)a; (void)m; (void)k; (void)lda; (void)out;
}

void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n,
                const float *bias, float *c, int ldc, int accumulate) {
    (void)a; (void)m; (void)k; (void)panels; (void)n; (void)bias; (void)c; (void)ldc; (void)accumulate;
}

#endif
