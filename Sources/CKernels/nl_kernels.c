// Convolution data movement in AVX-512 (see nl_kernels.h). Small planes: each window row of an image's channel
// is at most 32 floats of input, so one pair of vectors holds it and a permute picks any kernel column's
// values. 2x2 max pooling: even and odd lanes by permutes, partial rows by masks.
#include "nl_kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define NL_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

static int fits(long oh, long ow, long width, long kw) {
  return oh * ow <= 16 && (oh - 1) * width + kw - 1 + ow <= 32;
}

/// The first `count` lanes (0 ... 16).
static inline unsigned short first_lanes(long count) {
  return count <= 0 ? 0 : count >= 16 ? 0xFFFF : (unsigned short)((1u << count) - 1);
}

NL_AVX512
int nl_unfold_small(const float *x, long images, long image_size, long channels, long height, long width,
                    long kh, long kw, long oh, long ow, float *cols, long row_stride, const float *source_end) {
  if (!fits(oh, ow, width, kw)) return 0;
  const long plane = oh * ow;
  // Lane q of the plane reads the window row's float (q / ow) * width + q % ow, plus kj.
  int offsets[16];
  for (long q = 0; q < 16; q++) offsets[q] = q < plane ? (int)((q / ow) * width + q % ow) : 0;
  const __m512i base = _mm512_loadu_si512(offsets);
  const __mmask16 out = first_lanes(plane);
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      for (long i = 0; i < images; i++) {
        const float *src = x + i * image_size + (c * height + ki) * width;
        const long readable = source_end - src;
        const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(readable), src);
        const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(readable - 16), src + 16);
        for (long kj = 0; kj < kw; kj++) {
          const __m512i at = _mm512_add_epi32(base, _mm512_set1_epi32((int)kj));
          _mm512_mask_storeu_ps(cols + (row + kj) * row_stride + i * plane, out, _mm512_permutex2var_ps(lo, at, hi));
        }
      }
      row += kw;
    }
  }
  return 1;
}

NL_AVX512
int nl_fold_small(const float *cols, long images, long image_size, long channels, long height, long width,
                  long kh, long kw, long oh, long ow, float *gx, long row_stride) {
  if (!fits(oh, ow, width, kw) || kw > 16) return 0;
  const long plane = oh * ow, span = (oh - 1) * width + kw - 1 + ow;
  // For kernel column kj: which lane of the plane lands on each float of the window rows (low and high 16),
  // and which floats receive one.
  int from[16][32];
  __mmask16 low[16], high[16];
  for (long kj = 0; kj < kw; kj++) {
    low[kj] = 0;
    high[kj] = 0;
    for (long p = 0; p < 32; p++) from[kj][p] = 0;
    for (long q = 0; q < plane; q++) {
      const long p = (q / ow) * width + q % ow + kj;
      from[kj][p] = (int)q;
      if (p < 16) low[kj] |= (__mmask16)(1u << p); else high[kj] |= (__mmask16)(1u << (p - 16));
    }
  }
  const __mmask16 in = first_lanes(plane), spanLow = first_lanes(span), spanHigh = first_lanes(span - 16);
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      for (long i = 0; i < images; i++) {
        // Only the floats of the window rows are read and written back (the rest may be another thread's).
        float *dst = gx + i * image_size + (c * height + ki) * width;
        __m512 lo = _mm512_maskz_loadu_ps(spanLow, dst), hi = _mm512_maskz_loadu_ps(spanHigh, dst + 16);
        for (long kj = 0; kj < kw; kj++) {
          const __m512 v = _mm512_maskz_loadu_ps(in, cols + (row + kj) * row_stride + i * plane);
          const __m512i fromLow = _mm512_loadu_si512(from[kj]), fromHigh = _mm512_loadu_si512(from[kj] + 16);
          // Added only where a value lands: the others keep their bits exactly.
          lo = _mm512_mask_add_ps(lo, low[kj], lo, _mm512_permutexvar_ps(fromLow, v));
          hi = _mm512_mask_add_ps(hi, high[kj], hi, _mm512_permutexvar_ps(fromHigh, v));
        }
        _mm512_mask_storeu_ps(dst, spanLow, lo);
        _mm512_mask_storeu_ps(dst + 16, spanHigh, hi);
      }
      row += kw;
    }
  }
  return 1;
}

NL_AVX512
int nl_unpool2x2(const float *g, const float *y, const int *argmax, long height, long width, float *plane) {
  const long ph = height / 2, pw = width / 2;
  // Lane l of a row's 32 belongs to window l / 2: the low 16 lanes to windows 0-7, the high ones to 8-15.
  const __m512i low = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i high = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (long r = 0; r < 2 * ph; r++) {
    for (long j0 = 0; j0 < pw; j0 += 16) {
      const long count = pw - j0 < 16 ? pw - j0 : 16, k = (r / 2) * pw + j0;
      const __mmask16 windows = first_lanes(count);
      __m512 gv = _mm512_maskz_loadu_ps(windows, g + k);
      if (y) gv = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(windows, y + k), _mm512_setzero_ps(), _CMP_GT_OQ), gv);
      const __m512i at = _mm512_maskz_loadu_epi32(windows, argmax + k);
      // The winner's offset where the lane's own offset is: the gradient there, zero elsewhere.
      const __m512i first = _mm512_add_epi32(lanes, _mm512_set1_epi32((int)(r * width + 2 * j0)));
      const __mmask16 hitLow = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(low, at), first);
      const __mmask16 hitHigh = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(high, at), _mm512_add_epi32(first, _mm512_set1_epi32(16)));
      // Lanes past the last window (zero gradient, zero winner) hold zeros: a last odd column among them.
      const long fill = width - 2 * j0;
      float *row = plane + r * width + 2 * j0;
      _mm512_mask_storeu_ps(row, first_lanes(fill), _mm512_maskz_mov_ps(hitLow, _mm512_permutexvar_ps(low, gv)));
      _mm512_mask_storeu_ps(row + 16, first_lanes(fill - 16), _mm512_maskz_mov_ps(hitHigh, _mm512_permutexvar_ps(high, gv)));
    }
    // A row whose windows end one short of it (odd width, a multiple of 16 windows): its last value.
    if (width % 2 == 1 && pw % 16 == 0) plane[r * width + width - 1] = 0;
  }
  for (long c = 2 * ph * width; c < height * width; c++) plane[c] = 0;
  return 1;
}

NL_AVX512
int nl_maxpool2x2(const float *src, long width, long pooled_height, long pooled_width, float *dst, int *argmax, int relu) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (long pi = 0; pi < pooled_height; pi++) {
    const float *top = src + 2 * pi * width, *bottom = top + width;
    for (long j0 = 0; j0 < pooled_width; j0 += 16) {
      const long count = pooled_width - j0 < 16 ? pooled_width - j0 : 16;
      const __mmask16 windows = first_lanes(count);
      const __mmask16 lowHalf = first_lanes(2 * count), highHalf = first_lanes(2 * count - 16);
      const __m512 t0 = _mm512_maskz_loadu_ps(lowHalf, top + 2 * j0), t1 = _mm512_maskz_loadu_ps(highHalf, top + 2 * j0 + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(lowHalf, bottom + 2 * j0), b1 = _mm512_maskz_loadu_ps(highHalf, bottom + 2 * j0 + 16);
      // Offsets of each window's top-left value, then the other three; a candidate wins only when greater.
      const __m512i left = _mm512_add_epi32(_mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 1),
                                            _mm512_set1_epi32((int)(2 * pi * width + 2 * j0)));
      const __m512i below = _mm512_add_epi32(left, _mm512_set1_epi32((int)width)), one = _mm512_set1_epi32(1);
      __m512 best = _mm512_permutex2var_ps(t0, even, t1);
      __m512i at = left;
      __m512 candidate = _mm512_permutex2var_ps(t0, odd, t1);
      __mmask16 better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
      best = _mm512_mask_mov_ps(best, better, candidate);
      at = _mm512_mask_mov_epi32(at, better, _mm512_add_epi32(left, one));
      candidate = _mm512_permutex2var_ps(b0, even, b1);
      better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
      best = _mm512_mask_mov_ps(best, better, candidate);
      at = _mm512_mask_mov_epi32(at, better, below);
      candidate = _mm512_permutex2var_ps(b0, odd, b1);
      better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
      best = _mm512_mask_mov_ps(best, better, candidate);
      at = _mm512_mask_mov_epi32(at, better, _mm512_add_epi32(below, one));
      // The ReLU as the separate one computes it: values below zero become zero (NaN and -0 stay).
      if (relu) best = _mm512_mask_mov_ps(best, _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps());
      _mm512_mask_storeu_ps(dst + pi * pooled_width + j0, windows, best);
      _mm512_mask_storeu_epi32(argmax + pi * pooled_width + j0, windows, at);
    }
  }
  return 1;
}

/// Lanes lo ..< hi of 16 (clamped).
static inline unsigned short lane_range(long lo, long hi) {
  if (lo < 0) lo = 0;
  if (hi > 16) hi = 16;
  return hi <= lo ? 0 : (unsigned short)(first_lanes(hi) & ~first_lanes(lo));
}

NL_AVX512
int nl_unfold_padded(const float *x, long images, long image_size, long channels, long height, long width,
                     long kh, long kw, long pad, long oh, long ow, float *cols, long row_stride) {
  const long plane = oh * ow;
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      for (long kj = 0; kj < kw; kj++, row++) {
        const long shift = kj - pad;
        for (long i = 0; i < images; i++) {
          float *dst = cols + row * row_stride + i * plane;
          const float *img = x + i * image_size + c * height * width;
          for (long oi = 0; oi < oh; oi++) {
            const long ii = oi - pad + ki;
            float *d = dst + oi * ow;
            const int inside = ii >= 0 && ii < height;
            // Lanes whose input column oj + q + shift lies in 0 ..< width are loaded (the others are zero and
            // never read: masked lanes do not touch memory).
            const float *srow = img + (inside ? ii : 0) * width + shift;
            for (long oj = 0; oj < ow; oj += 16) {
              const __mmask16 valid = inside ? lane_range(-shift - oj, width - shift - oj) & first_lanes(ow - oj) : 0;
              _mm512_mask_storeu_ps(d + oj, first_lanes(ow - oj), _mm512_maskz_loadu_ps(valid, srow + oj));
            }
          }
        }
      }
    }
  }
  return 1;
}

NL_AVX512
int nl_fold_padded(const float *cols, long images, long image_size, long channels, long height, long width,
                   long kh, long kw, long pad, long oh, long ow, float *gx, long row_stride) {
  const long plane = oh * ow;
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      for (long kj = 0; kj < kw; kj++, row++) {
        const long shift = kj - pad;
        for (long i = 0; i < images; i++) {
          const float *src = cols + row * row_stride + i * plane;
          float *img = gx + i * image_size + c * height * width;
          for (long oi = 0; oi < oh; oi++) {
            const long ii = oi - pad + ki;
            if (ii < 0 || ii >= height) continue;
            float *grow = img + ii * width + shift;
            for (long oj = 0; oj < ow; oj += 16) {
              const __mmask16 valid = lane_range(-shift - oj, width - shift - oj) & first_lanes(ow - oj);
              if (!valid) continue;
              const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(valid, grow + oj), _mm512_maskz_loadu_ps(valid, src + oi * ow + oj));
              _mm512_mask_storeu_ps(grow + oj, valid, sum);
            }
          }
        }
      }
    }
  }
  return 1;
}

#else
int nl_unfold_small(const float *x, long images, long image_size, long channels, long height, long width,
                    long kh, long kw, long oh, long ow, float *cols, long row_stride, const float *source_end) {
  return 0;
}
int nl_fold_small(const float *cols, long images, long image_size, long channels, long height, long width,
                  long kh, long kw, long oh, long ow, float *gx, long row_stride) {
  return 0;
}
int nl_unpool2x2(const float *g, const float *y, const int *argmax, long height, long width, float *plane) {
  return 0;
}
int nl_maxpool2x2(const float *src, long width, long pooled_height, long pooled_width, float *dst, int *argmax, int relu) {
  return 0;
}
int nl_unfold_padded(const float *x, long images, long image_size, long channels, long height, long width,
                     long kh, long kw, long pad, long oh, long ow, float *cols, long row_stride) {
  return 0;
}
int nl_fold_padded(const float *cols, long images, long image_size, long channels, long height, long width,
                   long kh, long kw, long pad, long oh, long ow, float *gx, long row_stride) {
  return 0;
}
#endif
