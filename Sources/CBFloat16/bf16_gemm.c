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

// Once per weight: panels[(q·pairs + p)·32 + 2j + h] = b[2p + h][16q + j] = b[(2p + h)·row_step + (16q + j)·column_step].
void cbf16_pack(const float *b, int k, int n, ptrdiff_t row_step, ptrdiff_t column_step, uint16_t *panels) {
    int pairs = (k + 1) / 2, count = (n + 15) / 16;
    for (int q = 0; q < count; q++)
        for (int p = 0; p < pairs; p++) {
            uint16_t *line = panels + ((size_t)q * pairs + p) * 32;
            for (int j = 0; j < 16; j++)
                for (int h = 0; h < 2; h++) {
                    int row = 2 * p + h, col = 16 * q + j;
                    line[2 * j + h] = (row < k && col < n) ? to_bf16(b[row * row_step + col * column_step]) : 0;
                }
        }
}

// Columns per block of `cbf16_conv`: the block's panels (block × k↑2 BF16) take at most 512 KiB, so they stay in L2.
static int conv_block(int k) {
    int block = 262144 / cbf16_row_stride(k) / 32 * 32;
    return block < 32 ? 32 : block > 1024 ? 1024 : block;
}

size_t cbf16_conv_scratch_elements(int k) {
    size_t block = (size_t)conv_block(k);
    // the panels, two fp32 rows, then the runs (4 ints per column at most)
    return block * (size_t)cbf16_row_stride(k) + 4 * block + 8 * block;
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

// Output height (or width) of `size` input rows (or columns) under `s`.
static int conv_out(int size, const cbf16_conv_shape *s) { return (size + 2 * s->padding - s->kernel) / s->stride + 1; }

// What a tile adds to its sums before storing them: a bias per column (a linear layer's) and/or
// per row (a convolution's output channel), then a residual laid out as c, then ReLU when `relu`.
// Tiles take the fields as arguments, their pointers moved to the tile (a struct argument cost a
// store-forwarding stall per call).
typedef struct {
    const float *column_bias, *row_bias, *residual;
    int relu;
} epilogue;

typedef void (*tile_fn)(const uint16_t *a, int ks, const uint16_t *b, int pairs, float *c, int ldc, int valid,
                        const float *column_bias, const float *row_bias, const float *residual, int relu);

// One MR × (16·NP) tile; `valid` = columns of c to write (≤ 16·NP), `b` = its first panel.
#define TILE(MR, NP)                                                                                  \
    TARGET static void tile_##MR##_##NP(const uint16_t *a, int ks, const uint16_t *b, int pairs,      \
                                        float *c, int ldc, int valid, const float *column_bias,       \
                                        const float *row_bias, const float *residual, int relu) {     \
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
            __m512 add = column_bias ? _mm512_maskz_loadu_ps(mask, column_bias + 16 * q) : _mm512_setzero_ps(); \
            for (int r = 0; r < MR; r++) {                                                            \
                __m512 v = _mm512_add_ps(acc[r][q], add);                                             \
                if (row_bias) v = _mm512_add_ps(v, _mm512_set1_ps(row_bias[r]));                      \
                if (residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual + (size_t)r * ldc + 16 * q)); \
                if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());                                  \
                _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * q, mask, v);                         \
            }                                                                                         \
        }                                                                                             \
    }

TILE(1, 1) TILE(2, 1) TILE(3, 1) TILE(4, 1) TILE(5, 1) TILE(6, 1) TILE(7, 1) TILE(8, 1)
TILE(1, 2) TILE(2, 2) TILE(3, 2) TILE(4, 2) TILE(5, 2) TILE(6, 2) TILE(7, 2) TILE(8, 2)

static const tile_fn tiles[2][8] = {
    {tile_1_1, tile_2_1, tile_3_1, tile_4_1, tile_5_1, tile_6_1, tile_7_1, tile_8_1},
    {tile_1_2, tile_2_2, tile_3_2, tile_4_2, tile_5_2, tile_6_2, tile_7_2, tile_8_2},
};

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

// c[m, n] = a · panels, then the epilogue: row blocks of MC, then 32-column panel pairs, then 8-row tiles.
static void multiply(const uint16_t *a, int m, int ks, const uint16_t *panels, int n, float *c, int ldc, epilogue e) {
    enum { MC = 64 };   // rows per block: MC rows of A and one 32-column panel pair stay in L2
    int pairs = ks / 2, count = (n + 15) / 16;
    for (int i0 = 0; i0 < m; i0 += MC) {
        int i1 = i0 + MC < m ? i0 + MC : m;
        for (int q = 0; q < count; q += 2) {
            int np = count - q >= 2 ? 2 : 1, valid = n - 16 * q < 32 ? n - 16 * q : 32;
            const uint16_t *b = panels + (size_t)q * pairs * 32;
            for (int i = i0; i < i1; i += 8) {
                int mr = i1 - i < 8 ? i1 - i : 8;
                tiles[np - 1][mr - 1](a + (size_t)i * ks, ks, b, pairs, c + (size_t)i * ldc + 16 * q, ldc, valid,
                                      e.column_bias ? e.column_bias + 16 * q : NULL, e.row_bias ? e.row_bias + i : NULL,
                                      e.residual ? e.residual + (size_t)i * ldc + 16 * q : NULL, e.relu);
            }
        }
    }
}

void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n, const float *bias, float *c, int ldc) {
    multiply(a, m, cbf16_row_stride(k), panels, n, c, ldc, (epilogue){bias, NULL, NULL, 0});
}

// A run of output columns within one output row: image b, row oy, columns ox0 ..< ox0 + run.
typedef struct {
    int b, oy, ox0, run;
} segment;

// The runs covering output columns [j0, j0 + count); returns how many (≤ count).
static int segments(const cbf16_conv_shape *s, int j0, int count, segment *out) {
    int Ho = conv_out(s->height, s), Wo = conv_out(s->width, s), used = 0;
    int b = j0 / (Ho * Wo), oy = j0 % (Ho * Wo) / Wo, ox0 = j0 % Wo;
    for (int j = j0, end = j0 + count; j < end; used++) {
        int run = Wo - ox0 < end - j ? Wo - ox0 : end - j;
        out[used] = (segment){b, oy, ox0, run};
        j += run;
        ox0 = 0;
        if (++oy == Ho) { oy = 0; b++; }
    }
    return used;
}

// Row (ch·kernel + ky)·kernel + kx of im2col(x) over `runs`: for each run the values
// x[ch, b, oy·stride + ky − pad, ox·stride + kx − pad] (0 outside the image).
TARGET static void im2col_row(float *dst, const float *x, const cbf16_conv_shape *s, int ch, int ky, int kx,
                              const segment *runs, int used) {
    for (int r = 0; r < used; r++) {
        segment g = runs[r];
        int iy = g.oy * s->stride + ky - s->padding;
        if (iy < 0 || iy >= s->height) {
            memset(dst, 0, (size_t)g.run * sizeof(float));
        } else if (s->stride == 1) {   // ix = ox + kx − pad: zeros, one run of the input row, zeros
            const float *src = x + ((size_t)(ch * s->batch + g.b) * s->height + iy) * s->width;
            int shift = g.ox0 + kx - s->padding, lo = -shift, hi = s->width - shift;   // dst[t] = src[t + shift] for lo ≤ t < hi
            lo = lo < 0 ? 0 : lo > g.run ? g.run : lo;
            hi = hi < lo ? lo : hi > g.run ? g.run : hi;
            for (int t = 0; t < lo; t++) dst[t] = 0;
            int t = lo;
            for (; t + 16 <= hi; t += 16) _mm512_storeu_ps(dst + t, _mm512_loadu_ps(src + t + shift));
            if (t < hi) {
                __mmask16 tail = (__mmask16)((1u << (hi - t)) - 1);
                _mm512_mask_storeu_ps(dst + t, tail, _mm512_maskz_loadu_ps(tail, src + t + shift));
            }
            for (t = hi; t < g.run; t++) dst[t] = 0;
        } else {
            const float *src = x + ((size_t)(ch * s->batch + g.b) * s->height + iy) * s->width;
            for (int t = 0; t < g.run; t++) {
                int ix = (g.ox0 + t) * s->stride + kx - s->padding;
                dst[t] = ix >= 0 && ix < s->width ? src[ix] : 0;
            }
        }
        dst += g.run;
    }
}

// Panels of im2col(x) columns [j0, j0 + count); `rows` holds two fp32 im2col rows of a pair
// (a 1×1 stride-1 convolution reads x's rows in place).
TARGET static void pack_block(const float *x, const cbf16_conv_shape *s, int j0, int count, uint16_t *panels, float *rows,
                              segment *runs) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int kk = s->kernel, k = s->channels * kk * kk, pairs = (k + 1) / 2, count16 = (count + 15) / 16;
    int n = s->batch * conv_out(s->height, s) * conv_out(s->width, s);
    int direct = kk == 1 && s->stride == 1 && s->padding == 0;
    int used = direct ? 0 : segments(s, j0, count, runs);
    int ch = 0, ky = 0, kx = 0;   // of row 2p, stepped along without divisions
    for (int p = 0; p < pairs; p++) {
        const float *r0, *r1 = NULL;
        if (direct) {
            r0 = x + (size_t)(2 * p) * n + j0;
            if (2 * p + 1 < k) r1 = r0 + n;
        } else {
            for (int h = 0; h < 2 && 2 * p + h < k; h++) {
                im2col_row(rows + h * count, x, s, ch, ky, kx, runs, used);
                if (++kx == kk) { kx = 0; if (++ky == kk) { ky = 0; ch++; } }
            }
            r0 = rows;
            if (2 * p + 1 < k) r1 = rows + count;
        }
        for (int q = 0; q < count16; q++) {
            int left = count - 16 * q;
            __mmask16 mask = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            __m512 even = _mm512_maskz_loadu_ps(mask, r0 + 16 * q);
            __m512 odd = r1 ? _mm512_maskz_loadu_ps(mask, r1 + 16 * q) : _mm512_setzero_ps();
            __m512i both = (__m512i)_mm512_cvtne2ps_pbh(odd, even);   // [even 0..15 | odd 0..15]
            _mm512_storeu_si512(panels + ((size_t)q * pairs + p) * 32, _mm512_permutexvar_epi16(interleave, both));
        }
    }
}

void cbf16_conv(const uint16_t *w, int m, const float *x, cbf16_conv_shape s, const float *bias, const float *residual,
                int relu, float *out, uint16_t *scratch) {
    int k = s.channels * s.kernel * s.kernel, ks = cbf16_row_stride(k), block = conv_block(k);
    int n = s.batch * conv_out(s.height, &s) * conv_out(s.width, &s);
    float *rows = (float *)(scratch + (size_t)block * ks);
    segment *runs = (segment *)(rows + 2 * block);
    for (int j0 = 0; j0 < n; j0 += block) {
        int count = n - j0 < block ? n - j0 : block;
        pack_block(x, &s, j0, count, scratch, rows, runs);
        multiply(w, m, ks, scratch, count, out + j0, n, (epilogue){NULL, bias, residual ? residual + j0 : NULL, relu});
    }
}

#else

// Not x86-64: `cbf16_available()` is 0 and callers never reach the others; they do nothing.
int cbf16_available(void) { return 0; }

void cbf16_convert_rows(const float *a, int m, int k, int lda, uint16_t *out) {
    (void)a; (void)m; (void)k; (void)lda; (void)out;
}

void cbf16_gemm(const uint16_t *a, int m, int k, const uint16_t *panels, int n, const float *bias, float *c, int ldc) {
    (void)a; (void)m; (void)k; (void)panels; (void)n; (void)bias; (void)c; (void)ldc;
}

void cbf16_conv(const uint16_t *w, int m, const float *x, cbf16_conv_shape s, const float *bias, const float *residual,
                int relu, float *out, uint16_t *scratch) {
    (void)w; (void)m; (void)x; (void)s; (void)bias; (void)residual; (void)relu; (void)out; (void)scratch;
}

#endif
