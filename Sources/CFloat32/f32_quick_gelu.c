// QuickGELU, f(x) = x·σ(1.702x), and its derivative, on AVX-512F or AVX2 (portable C otherwise),
// with every operation of Swift's scalar definition (`QuickGELU.value`, `valueAndDerivative`,
// `FastExp.exp`) in the same order and each rounded on its own (no fused multiply-add): the three
// kernels and the Swift reference give the same bits. The transformer MLP calls it through
// `QuickGELU.forward` and `forwardSavingDerivative`, where Swift's own loop ran 4 lanes wide.
#include "CFloat32.h"
#pragma clang fp contract(off)
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// FastExp.exp: clamp to [−80, 88], 2ⁿ·e^r with n = round(v·log₂e), a degree-7 polynomial in r; 0 below −80.
static inline float exp_scalar(float x) {
    float v = x < -80.0f ? -80.0f : (x > 88.0f ? 88.0f : x);
    float shifted = v * 1.442695040888963f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = (v - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float mantissa = (1.0f + r) + (r * r) * p;
    uint32_t bits;
    memcpy(&bits, &shifted, 4);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float power;
    memcpy(&power, &bits, 4);
    return x < -80.0f ? 0.0f : mantissa * power;
}

static inline float value_scalar(float x) { return x / (1.0f + exp_scalar(-1.702f * x)); }

static inline void both_scalar(float x, float *value, float *derivative) {
    float s = 1.0f / (1.0f + exp_scalar(-1.702f * x));
    *value = x * s;
    *derivative = s * (1.0f + (1.702f * x) * (1.0f - s));
}

static void row_portable(float *y, float *x, const float *bias, int cols, int saving) {
    for (int c = 0; c < cols; c++) {
        float v = bias ? x[c] + bias[c] : x[c];
        if (saving) {
            both_scalar(v, y + c, x + c);
        } else {
            if (bias && y != x) x[c] = v;
            y[c] = value_scalar(v);
        }
    }
}

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

AVX512 static inline __m512 exp512(__m512 x) {
    __mmask16 low = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-80.0f), _CMP_LT_OQ);
    __mmask16 high = _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.0f), _CMP_GT_OQ);
    __m512 v = _mm512_mask_blend_ps(high, x, _mm512_set1_ps(88.0f));
    v = _mm512_mask_blend_ps(low, v, _mm512_set1_ps(-80.0f));
    __m512 shifted = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.442695040888963f)), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_sub_ps(_mm512_sub_ps(v, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f))),
                             _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    __m512 mantissa = _mm512_add_ps(_mm512_add_ps(_mm512_set1_ps(1.0f), r), _mm512_mul_ps(_mm512_mul_ps(r, r), p));
    __m512i bits = _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000)),
                                    _mm512_set1_epi32(127));
    __m512 power = _mm512_castsi512_ps(_mm512_slli_epi32(bits, 23));
    return _mm512_mask_blend_ps(low, _mm512_mul_ps(mantissa, power), _mm512_setzero_ps());
}

AVX512 static void row512(float *y, float *x, const float *bias, int cols, int saving) {
    const __m512 one = _mm512_set1_ps(1.0f), k = _mm512_set1_ps(1.702f), minus_k = _mm512_set1_ps(-1.702f);
    int c = 0;
    for (; c + 16 <= cols; c += 16) {
        __m512 v = _mm512_loadu_ps(x + c);
        if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + c));
        __m512 e = exp512(_mm512_mul_ps(minus_k, v));
        if (saving) {
            __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, e));
            _mm512_storeu_ps(y + c, _mm512_mul_ps(v, s));
            __m512 d = _mm512_mul_ps(s, _mm512_add_ps(one, _mm512_mul_ps(_mm512_mul_ps(k, v), _mm512_sub_ps(one, s))));
            _mm512_storeu_ps(x + c, d);
        } else {
            if (bias && y != x) _mm512_storeu_ps(x + c, v);
            _mm512_storeu_ps(y + c, _mm512_div_ps(v, _mm512_add_ps(one, e)));
        }
    }
    row_portable(y + c, x + c, bias ? bias + c : NULL, cols - c, saving);   // the tail
}

AVX2 static inline __m256 exp256(__m256 x) {
    __m256 low = _mm256_cmp_ps(x, _mm256_set1_ps(-80.0f), _CMP_LT_OQ);
    __m256 high = _mm256_cmp_ps(x, _mm256_set1_ps(88.0f), _CMP_GT_OQ);
    __m256 v = _mm256_blendv_ps(x, _mm256_set1_ps(88.0f), high);
    v = _mm256_blendv_ps(v, _mm256_set1_ps(-80.0f), low);
    __m256 shifted = _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.442695040888963f)), _mm256_set1_ps(12582912.0f));
    __m256 n = _mm256_sub_ps(shifted, _mm256_set1_ps(12582912.0f));
    __m256 r = _mm256_sub_ps(_mm256_sub_ps(v, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
                             _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    __m256 mantissa = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(1.0f), r), _mm256_mul_ps(_mm256_mul_ps(r, r), p));
    __m256i bits = _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000)),
                                    _mm256_set1_epi32(127));
    __m256 power = _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23));
    return _mm256_blendv_ps(_mm256_mul_ps(mantissa, power), _mm256_setzero_ps(), low);
}

AVX2 static void row256(float *y, float *x, const float *bias, int cols, int saving) {
    const __m256 one = _mm256_set1_ps(1.0f), k = _mm256_set1_ps(1.702f), minus_k = _mm256_set1_ps(-1.702f);
    int c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256 v = _mm256_loadu_ps(x + c);
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
        __m256 e = exp256(_mm256_mul_ps(minus_k, v));
        if (saving) {
            __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
            _mm256_storeu_ps(y + c, _mm256_mul_ps(v, s));
            __m256 d = _mm256_mul_ps(s, _mm256_add_ps(one, _mm256_mul_ps(_mm256_mul_ps(k, v), _mm256_sub_ps(one, s))));
            _mm256_storeu_ps(x + c, d);
        } else {
            if (bias && y != x) _mm256_storeu_ps(x + c, v);
            _mm256_storeu_ps(y + c, _mm256_div_ps(v, _mm256_add_ps(one, e)));
        }
    }
    row_portable(y + c, x + c, bias ? bias + c : NULL, cols - c, saving);   // the tail
}
#endif

void cf32_quick_gelu(int kernel, float *y, float *x, const float *bias, int rows, int cols, int saving_derivative) {
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * cols, *xr = x + (size_t)r * cols;
#if defined(__x86_64__)
        if (kernel == CF32_AVX512) {
            row512(yr, xr, bias, cols, saving_derivative);
            continue;
        }
        if (kernel == CF32_AVX2) {
            row256(yr, xr, bias, cols, saving_derivative);
            continue;
        }
#endif
        row_portable(yr, xr, bias, cols, saving_derivative);
    }
}
