// Convolution data movement in AVX-512 (see nl_kernels.h). Small planes: each window row of an image's channel
// is at most 32 floats of input, so one pair of vectors holds it and a permute picks any kernel column's
// values. 2x2 max pooling: even and odd lanes by permutes, partial rows by masks.
#include "nl_kernels.h"
#include "nl_lanes.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define NL_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

static int fits(long oh, long ow, long width, long kw) {
  return oh * ow <= 16 && (oh - 1) * width + kw - 1 + ow <= 32;
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

/// Sixteen 2x2 windows of a row pair (`count` of them from window j0): their maxima, and in `place` each
/// winner's place in its window (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right); a candidate wins only
/// when greater, so ties and NaN stay with the earlier.
NL_AVX512 static inline __m512 pool_windows(const float *top, const float *bottom, long j0, long count, __m512i *place) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __mmask16 lowHalf = first_lanes(2 * count), highHalf = first_lanes(2 * count - 16);
  const __m512 t0 = _mm512_maskz_loadu_ps(lowHalf, top + 2 * j0), t1 = _mm512_maskz_loadu_ps(highHalf, top + 2 * j0 + 16);
  const __m512 b0 = _mm512_maskz_loadu_ps(lowHalf, bottom + 2 * j0), b1 = _mm512_maskz_loadu_ps(highHalf, bottom + 2 * j0 + 16);
  __m512 best = _mm512_permutex2var_ps(t0, even, t1);
  __m512i at = _mm512_setzero_si512();
  __m512 candidate = _mm512_permutex2var_ps(t0, odd, t1);
  __mmask16 better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
  best = _mm512_mask_mov_ps(best, better, candidate);
  at = _mm512_mask_mov_epi32(at, better, _mm512_set1_epi32(1));
  candidate = _mm512_permutex2var_ps(b0, even, b1);
  better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
  best = _mm512_mask_mov_ps(best, better, candidate);
  at = _mm512_mask_mov_epi32(at, better, _mm512_set1_epi32(2));
  candidate = _mm512_permutex2var_ps(b0, odd, b1);
  better = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
  best = _mm512_mask_mov_ps(best, better, candidate);
  *place = _mm512_mask_mov_epi32(at, better, _mm512_set1_epi32(3));
  return best;
}

/// The ReLU as the separate one computes it: values below zero become zero (NaN and -0 stay).
NL_AVX512 static inline __m512 relu_below_zero(__m512 v) {
  return _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps());
}

/// The two pooling entry points below in one loop: each window's maximum to `dst`, and its winner either as an
/// offset in the plane (`argmax`) or as a code (`codes`: its place, + 4 where the gradient passes); the other
/// pointer is NULL.
NL_AVX512 static inline int maxpool_plane(const float *src, long width, long pooled_height, long pooled_width, float *dst,
                                          int *argmax, uint8_t *codes, int relu) {
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), one = _mm512_set1_epi32(1);
  for (long pi = 0; pi < pooled_height; pi++) {
    const float *top = src + 2 * pi * width, *bottom = top + width;
    for (long j0 = 0; j0 < pooled_width; j0 += 16) {
      const long count = pooled_width - j0 < 16 ? pooled_width - j0 : 16, k = pi * pooled_width + j0;
      __m512i place;
      __m512 best = pool_windows(top, bottom, j0, count, &place);
      if (argmax) {
        // The winner's offset in the plane: its window's top-left, + 1 on the right, + a row below.
        const __m512i left = _mm512_add_epi32(_mm512_slli_epi32(lanes, 1), _mm512_set1_epi32((int)(2 * pi * width + 2 * j0)));
        const __m512i at = _mm512_add_epi32(_mm512_add_epi32(left, _mm512_and_si512(place, one)),
                                            _mm512_mullo_epi32(_mm512_srli_epi32(place, 1), _mm512_set1_epi32((int)width)));
        _mm512_mask_storeu_epi32(argmax + k, first_lanes(count), at);
      } else {
        // The gradient passes where the ReLU's output is positive (NaN, zeros and clipped values stop it).
        const __mmask16 passes = relu ? _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ) : (__mmask16)0xffff;
        place = _mm512_mask_or_epi32(place, passes, place, _mm512_set1_epi32(4));
        _mm_mask_storeu_epi8(codes + k, first_lanes(count), _mm512_cvtepi32_epi8(place));
      }
      if (relu) best = relu_below_zero(best);
      _mm512_mask_storeu_ps(dst + k, first_lanes(count), best);
    }
  }
  return 1;
}

NL_AVX512
int nl_maxpool2x2(const float *src, long width, long pooled_height, long pooled_width, float *dst, int *argmax, int relu) {
  return maxpool_plane(src, width, pooled_height, pooled_width, dst, argmax, NULL, relu);
}

NL_AVX512
int nl_maxpool2x2_codes(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes, int relu) {
  return maxpool_plane(src, width, pooled_height, pooled_width, dst, NULL, codes, relu);
}

NL_AVX512
int nl_unpool2x2_codes(const float *g, const uint8_t *codes, long height, long width, float *plane) {
  const long ph = height / 2, pw = width / 2;
  // Lane l of a row's 32 belongs to window l / 2: the low 16 lanes to windows 0-7, the high ones to 8-15.
  const __m512i low = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i high = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  // Each lane's code where it holds its window's winner and the gradient passes: 4 + its place (0 left, 1 right;
  // + 2 on the window's bottom row).
  const __m512i topWanted = _mm512_set_epi32(5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4);
  const __m512i bottomWanted = _mm512_add_epi32(topWanted, _mm512_set1_epi32(2));
  // Sixteen windows at a time, both rows of each window pair from one load of their gradients and codes.
  for (long j0 = 0; j0 < pw; j0 += 16) {
    const long count = pw - j0 < 16 ? pw - j0 : 16;
    const __mmask16 windows = first_lanes(count);
    // Lanes past the last window (zero gradient, code 0: no pass) hold zeros: a last odd column among them.
    const long fill = width - 2 * j0;
    const __mmask16 lowLanes = first_lanes(fill), highLanes = first_lanes(fill - 16);
    for (long pi = 0; pi < ph; pi++) {
      const long k = pi * pw + j0;
      const __m512 gv = _mm512_maskz_loadu_ps(windows, g + k);
      const __m512i at = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(windows, codes + k));
      const __m512 gLow = _mm512_permutexvar_ps(low, gv), gHigh = _mm512_permutexvar_ps(high, gv);
      const __m512i atLow = _mm512_permutexvar_epi32(low, at), atHigh = _mm512_permutexvar_epi32(high, at);
      // A lane gets its window's gradient where it holds the winner and the gradient passes; zero elsewhere.
      float *top = plane + 2 * pi * width + 2 * j0, *bottom = top + width;
      _mm512_mask_storeu_ps(top, lowLanes, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(atLow, topWanted), gLow));
      _mm512_mask_storeu_ps(top + 16, highLanes, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(atHigh, topWanted), gHigh));
      _mm512_mask_storeu_ps(bottom, lowLanes, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(atLow, bottomWanted), gLow));
      _mm512_mask_storeu_ps(bottom + 16, highLanes, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(atHigh, bottomWanted), gHigh));
    }
  }
  // A row whose windows end one short of it (odd width, a multiple of 16 windows): its last value.
  if (width % 2 == 1 && pw % 16 == 0)
    for (long r = 0; r < 2 * ph; r++) plane[r * width + width - 1] = 0;
  for (long c = 2 * ph * width; c < height * width; c++) plane[c] = 0;
  return 1;
}

/// The masks of one window column's output rows, block by block of 16 outputs: `store[b]` the block's outputs
/// that exist, `valid[b]` those whose input column oj + shift lies in 0 ..< width. Returns the block count, or
/// 0 when a row has more than 8 blocks (then the callers take the Swift path).
static inline long row_masks(long ow, long width, long shift, __mmask16 *store, __mmask16 *valid) {
  const long blocks = (ow + 15) / 16;
  if (blocks > 8) return 0;
  for (long b = 0; b < blocks; b++) {
    const long oj = 16 * b;
    store[b] = first_lanes(ow - oj);
    valid[b] = lane_range(-shift - oj, width - shift - oj) & store[b];
  }
  return blocks;
}

NL_AVX512
int nl_unfold_padded(const float *x, long images, long image_size, long channels, long height, long width,
                     long kh, long kw, long pad, long oh, long ow, float *cols, long row_stride) {
  if ((ow + 15) / 16 > 8) return 0;
  const long plane = oh * ow;
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      // Output rows whose input row lies inside the image: oi in first ..< last.
      const long first = pad - ki > 0 ? pad - ki : 0, last = height + pad - ki < oh ? height + pad - ki : oh;
      for (long kj = 0; kj < kw; kj++, row++) {
        const long shift = kj - pad;
        __mmask16 store[8], valid[8];
        const long blocks = row_masks(ow, width, shift, store, valid);
        for (long i = 0; i < images; i++) {
          float *dst = cols + row * row_stride + i * plane;
          const float *img = x + i * image_size + c * height * width;
          // Rows over the top or bottom edge are zeros; the others are masked loads of an input row (lanes over
          // the left or right edge are zero and never read: masked lanes do not touch memory).
          for (long oi = 0; oi < oh; oi++) {
            float *d = dst + oi * ow;
            if (oi < first || oi >= last) {
              for (long b = 0; b < blocks; b++) _mm512_mask_storeu_ps(d + 16 * b, store[b], _mm512_setzero_ps());
              continue;
            }
            const float *srow = img + (oi - pad + ki) * width + shift;
            for (long b = 0; b < blocks; b++) _mm512_mask_storeu_ps(d + 16 * b, store[b], _mm512_maskz_loadu_ps(valid[b], srow + 16 * b));
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
  const long blocks = (width + 15) / 16;
  if (blocks > 8 || kw > 16) return 0;
  const long plane = oh * ow;
  if (same_window_fits(height, width, oh, ow, kh, kw, pad)) {
    // "Same" windows: input position p takes window position k's value from output position p - shift[k]
    // (where that one lies inside the plane), 16 positions at a time across the plane's rows, added in the
    // same order (k = ki kw + kj) as below, so the same sums.
    const long window = kh * kw;
    __mmask16 valid[49][64];
    long shift[49];
    const long vectors = same_window_masks(height, width, kh, pad, -1, shift, valid);
    for (long c = 0; c < channels; c++) {
      for (long i = 0; i < images; i++) {
        float *img = gx + i * image_size + c * plane;
        const float *src = cols + c * window * row_stride + i * plane;
        for (long b = 0; b < vectors; b++) {
          const __mmask16 store = first_lanes(plane - 16 * b);
          __m512 acc = _mm512_maskz_loadu_ps(store, img + 16 * b);
          for (long k = 0; k < window; k++) {
            const __mmask16 m = valid[k][b];
            if (m) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, src + k * row_stride + 16 * b - shift[k]));
          }
          _mm512_mask_storeu_ps(img + 16 * b, store, acc);
        }
      }
    }
    return 1;
  }
  // Each input row is read once and written once: its 16-value blocks gather every window position's
  // contribution (masked loads of the columns, zeros past the output's edges) in registers, added in the
  // order of the window rows (ki, then kj), the order in which a row-by-row fold would add them.
  __mmask16 store[8], from[8][16];
  for (long b = 0; b < blocks; b++) {
    store[b] = first_lanes(width - 16 * b);
    for (long kj = 0; kj < kw; kj++) from[b][kj] = lane_range(kj - pad - 16 * b, ow + kj - pad - 16 * b) & store[b];
  }
  for (long c = 0; c < channels; c++) {
    for (long i = 0; i < images; i++) {
      float *img = gx + i * image_size + c * height * width;
      for (long ii = 0; ii < height; ii++) {
        float *grow = img + ii * width;
        for (long b = 0; b < blocks; b++) {
          __m512 acc = _mm512_maskz_loadu_ps(store[b], grow + 16 * b);
          for (long ki = 0; ki < kh; ki++) {
            const long oi = ii + pad - ki;
            if (oi < 0 || oi >= oh) continue;
            const float *src = cols + ((c * kh + ki) * kw) * row_stride + i * plane + oi * ow + 16 * b + pad;
            for (long kj = 0; kj < kw; kj++) {
              const __mmask16 m = from[b][kj];
              if (m) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, src + kj * row_stride - kj));
            }
          }
          _mm512_mask_storeu_ps(grow + 16 * b, store[b], acc);
        }
      }
    }
  }
  return 1;
}

/// Direct convolution, stride 1, no padding, 16 < ow <= 32 (see nl_kernels.h): one output row of 8 filters in
/// 16 accumulators, each tap's input row loaded in place (an image's channels stay in the L1 cache).
NL_AVX512
int nl_conv_direct(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                   long ow, const float *weight, const float *bias, long filters, float *out) {
  long offsets[256];
  const long kdim = direct_taps(channels, height, width, kh, kw, ow, offsets), plane = oh * ow, image = channels * height * width;
  if (kdim == 0) return 0;
  const __mmask16 tail = (__mmask16)((1u << (ow - 16)) - 1);
  for (long i = 0; i < images; i++) {
    const float *xi = x + i * image;
    float *oi = out + i * filters * plane;
    for (long f0 = 0; f0 < filters; f0 += 8) {
      const long rows = filters - f0 < 8 ? filters - f0 : 8;
      // Rows past the last filter repeat it (their sums are never stored).
      const float *wr[8];
      for (int r = 0; r < 8; r++) wr[r] = weight + (f0 + (r < rows ? r : rows - 1)) * kdim;
      for (long y = 0; y < oh; y++) {
        const float *row = xi + y * width;
        __m512 acc[8][2];
        for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (long j = 0; j < kdim; j++) {
          const float *src = row + offsets[j];
          const __m512 b0 = _mm512_loadu_ps(src), b1 = _mm512_maskz_loadu_ps(tail, src + 16);
          for (int r = 0; r < 8; r++) {
            const __m512 v = _mm512_set1_ps(wr[r][j]);
            acc[r][0] = _mm512_fmadd_ps(v, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(v, b1, acc[r][1]);
          }
        }
        for (int r = 0; r < rows; r++) {
          __m512 lo = acc[r][0], hi = acc[r][1];
          if (bias) {
            const __m512 v = _mm512_set1_ps(bias[f0 + r]);
            lo = _mm512_add_ps(lo, v);
            hi = _mm512_add_ps(hi, v);
          }
          float *o = oi + (f0 + r) * plane + y * ow;
          _mm512_storeu_ps(o, lo);
          _mm512_mask_storeu_ps(o + 16, tail, hi);
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
int nl_maxpool2x2(const float *src, long width, long pooled_height, long pooled_width, float *dst, int *argmax, int relu) {
  return 0;
}
int nl_maxpool2x2_codes(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes, int relu) {
  return 0;
}
int nl_unpool2x2_codes(const float *g, const uint8_t *codes, long height, long width, float *plane) { return 0; }
int nl_unfold_padded(const float *x, long images, long image_size, long channels, long height, long width,
                     long kh, long kw, long pad, long oh, long ow, float *cols, long row_stride) {
  return 0;
}
int nl_fold_padded(const float *cols, long images, long image_size, long channels, long height, long width,
                   long kh, long kw, long pad, long oh, long ow, float *gx, long row_stride) {
  return 0;
}
int nl_conv_direct(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                   long ow, const float *weight, const float *bias, long filters, float *out) {
  return 0;
}
#endif
