// The fused pooling, its gradient and the direct convolution of nl_kernels.c for AVX2 processors (see
// nl_kernels.h): the same operations in the same order on 8-lane vectors, so the same bits as the AVX-512
// versions and the Swift paths. Masks are lane vectors here (AVX2 has no mask registers): masked loads read
// zeros in the lanes left out and never touch their memory. Partial stores are plain ones (store_first).
#include "nl_kernels.h"
#include "nl_lanes.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define NL_AVX2 __attribute__((target("avx2,fma")))
#define NL_INLINE static inline __attribute__((always_inline))

/// The first `count` of 8 lanes as a load/store mask (none when count <= 0, all from 8 on).
NL_AVX2 NL_INLINE __m256i first8(long count) {
  const long n = count < 0 ? 0 : count > 8 ? 8 : count;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// The first `count` lanes of `v` stored at `p` (all from 8 on, none when count <= 0), the memory after them
/// untouched: in plain stores of 4, 2 and 1 lanes, not a masked store (vmaskmovps to memory is slow on AMD's
/// processors: the unpooling spent most of its time in them on a Zen 3).
NL_AVX2 NL_INLINE void store_first(float *p, __m256 v, long count) {
  if (count >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 part = _mm256_castps256_ps128(v);
  if (count >= 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(v, 1);
    p += 4;
    count -= 4;
  }
  if (count >= 2) {
    _mm_storel_pi((__m64 *)p, part);
    part = _mm_movehl_ps(part, part);
    p += 2;
    count -= 2;
  }
  if (count >= 1) _mm_store_ss(p, part);
}

/// The even and the odd values of 16 consecutive floats (v0 then v1), each in order.
NL_AVX2 NL_INLINE void split_even_odd(__m256 v0, __m256 v1, __m256 *even, __m256 *odd) {
  // Within each 128-bit lane: v0's two evens, then v1's; the 64-bit pairs then put in order (0, 2, 1, 3).
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0x88)), 0xD8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(v0, v1, 0xDD)), 0xD8));
}

/// Where `better` is set, `candidate` becomes the best and `code` its place.
NL_AVX2 NL_INLINE void take_if_greater(__m256 candidate, int code, __m256 *best, __m256i *place) {
  const __m256 better = _mm256_cmp_ps(candidate, *best, _CMP_GT_OQ);
  *best = _mm256_blendv_ps(*best, candidate, better);
  *place = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*place), _mm256_castsi256_ps(_mm256_set1_epi32(code)), better));
}

NL_AVX2
int nl_maxpool2x2_codes_avx2(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes,
                             int relu) {
  const __m256 zero = _mm256_setzero_ps();
  const long outputs = pooled_height * pooled_width;
  for (long pi = 0; pi < pooled_height; pi++) {
    const float *top = src + 2 * pi * width, *bottom = top + width;
    // Eight windows at a time: their 16 values of each row in two (masked) loads.
    for (long j0 = 0; j0 < pooled_width; j0 += 8) {
      const long count = pooled_width - j0 < 8 ? pooled_width - j0 : 8, k = pi * pooled_width + j0;
      const __m256i low = first8(2 * count), high = first8(2 * count - 8);
      __m256 t0, t1, b0, b1;
      split_even_odd(_mm256_maskload_ps(top + 2 * j0, low), _mm256_maskload_ps(top + 2 * j0 + 8, high), &t0, &t1);
      split_even_odd(_mm256_maskload_ps(bottom + 2 * j0, low), _mm256_maskload_ps(bottom + 2 * j0 + 8, high), &b0, &b1);
      // Top-left, then each later place only where it is greater: ties and NaN stay with the earlier.
      __m256 best = t0;
      __m256i place = _mm256_setzero_si256();
      take_if_greater(t1, 1, &best, &place);
      take_if_greater(b0, 2, &best, &place);
      take_if_greater(b1, 3, &best, &place);
      // + 4 where the gradient passes: always, or with the ReLU where the pooled value is above zero.
      const __m256i passes = relu ? _mm256_castps_si256(_mm256_cmp_ps(best, zero, _CMP_GT_OQ)) : _mm256_set1_epi32(-1);
      place = _mm256_or_si256(place, _mm256_and_si256(passes, _mm256_set1_epi32(4)));
      const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(place), _mm256_extracti128_si256(place, 1));
      const __m128i bytes = _mm_packus_epi16(words, words);
      // The ReLU as the separate one computes it: below zero becomes zero (NaN and -0 stay).
      if (relu) best = _mm256_blendv_ps(best, zero, _mm256_cmp_ps(best, zero, _CMP_LT_OQ));
      if (k + 8 <= outputs) {
        // Whole vectors: a short block spills onto the next row's first outputs, written after it.
        _mm_storel_epi64((__m128i *)(codes + k), bytes);
        _mm256_storeu_ps(dst + k, best);
      } else {
        // The plane's last outputs: no further.
        const uint64_t eight = (uint64_t)_mm_cvtsi128_si64(bytes);
        for (long j = 0; j < count; j++) codes[k + j] = (uint8_t)(eight >> (8 * j));
        store_first(dst + k, best, count);
      }
    }
  }
  return 1;
}

NL_AVX2
int nl_unpool2x2_codes_avx2(const float *g, const uint8_t *codes, long height, long width, float *plane) {
  const long ph = height / 2, pw = width / 2;
  // Lane l of a row's 16 belongs to window l / 2: the low 8 lanes to windows 0-3, the high ones to 4-7.
  const __m256i low = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), high = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
  // Each lane's code where it holds its window's winner and the gradient passes: 4 + its place (0 left, 1 right;
  // + 2 on the window's bottom row).
  const __m256i topWanted = _mm256_setr_epi32(4, 5, 4, 5, 4, 5, 4, 5), bottomWanted = _mm256_add_epi32(topWanted, _mm256_set1_epi32(2));
  // Eight windows at a time, both rows of each window pair from one load of their gradients and codes.
  for (long j0 = 0; j0 < pw; j0 += 8) {
    const long count = pw - j0 < 8 ? pw - j0 : 8;
    const __m256i windows = first8(count);
    // Lanes past the last window (zero gradient, code 0: no pass) hold zeros: a last odd column among them.
    const long fill = width - 2 * j0;
    const long lowLanes = fill, highLanes = fill - 8;
    for (long pi = 0; pi < ph; pi++) {
      const long k = pi * pw + j0;
      // The block's gradients and codes: in whole loads within the plane (lanes past the block's windows zeroed),
      // else value by value (the plane's last ones). The masked load and a byte copy through memory (a stalled
      // store forward) sat under half of this loop's samples on a Zen 3.
      __m256 gv;
      __m128i eight;
      if (k + 8 <= ph * pw) {
        gv = _mm256_and_ps(_mm256_loadu_ps(g + k), _mm256_castsi256_ps(windows));
        eight = _mm_loadl_epi64((const __m128i *)(codes + k));
      } else {
        gv = _mm256_maskload_ps(g + k, windows);
        uint64_t bytes = 0;
        for (long j = 0; j < count; j++) bytes |= (uint64_t)codes[k + j] << (8 * j);
        eight = _mm_cvtsi64_si128((long long)bytes);
      }
      const __m256i at = _mm256_cvtepu8_epi32(eight);
      const __m256 gLow = _mm256_permutevar8x32_ps(gv, low), gHigh = _mm256_permutevar8x32_ps(gv, high);
      const __m256i atLow = _mm256_permutevar8x32_epi32(at, low), atHigh = _mm256_permutevar8x32_epi32(at, high);
      // A lane gets its window's gradient where it holds the winner and the gradient passes; zero elsewhere.
      float *top = plane + 2 * pi * width + 2 * j0, *bottom = top + width;
      store_first(top, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(atLow, topWanted)), gLow), lowLanes);
      store_first(top + 8, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(atHigh, topWanted)), gHigh), highLanes);
      store_first(bottom, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(atLow, bottomWanted)), gLow), lowLanes);
      store_first(bottom + 8, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(atHigh, bottomWanted)), gHigh), highLanes);
    }
  }
  // A row whose windows end one short of it (odd width, a multiple of 8 windows): its last value.
  if (width % 2 == 1 && pw % 8 == 0)
    for (long r = 0; r < 2 * ph; r++) plane[r * width + width - 1] = 0;
  for (long c = 2 * ph * width; c < height * width; c++) plane[c] = 0;
  return 1;
}

/// One output row of FR filters, V vectors of 8 outputs (the last one `tail` lanes), in FR x V accumulators:
/// each tap's input row loaded in place, each output one chain of fused multiply-adds in tap order from zero,
/// then the bias. With 12 accumulators, the loops keep only four more values in registers (the 16 there are):
/// the tap's FR weights and one input vector at a time (FR = 3), or its V input vectors and one weight at a time
/// (V = 3). LAST loads the last vector: in full where the row's reads stay inside the input (the lanes past
/// `tail` are never stored), else masked.
#define NL_DIRECT_ROW(V, FR, LAST)                                                                           \
  {                                                                                                          \
    __m256 acc[FR][V];                                                                                       \
    for (int r = 0; r < FR; r++)                                                                             \
      for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();                                           \
    for (long j = 0; j < kdim; j++) {                                                                        \
      const float *s = src + offsets[j];                                                                     \
      if (FR <= 3) {                                                                                         \
        __m256 w[FR];                                                                                        \
        for (int r = 0; r < FR; r++) w[r] = _mm256_broadcast_ss(wr[r] + j);                                  \
        for (int v = 0; v < V; v++) {                                                                        \
          const __m256 in = v < V - 1 ? _mm256_loadu_ps(s + 8 * v) : LAST(s + 8 * v);                        \
          for (int r = 0; r < FR; r++) acc[r][v] = _mm256_fmadd_ps(w[r], in, acc[r][v]);                    \
        }                                                                                                    \
      } else {                                                                                               \
        __m256 in[V];                                                                                        \
        for (int v = 0; v < V; v++) in[v] = v < V - 1 ? _mm256_loadu_ps(s + 8 * v) : LAST(s + 8 * v);       \
        for (int r = 0; r < FR; r++) {                                                                       \
          const __m256 w = _mm256_broadcast_ss(wr[r] + j);                                                   \
          for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(w, in[v], acc[r][v]);                      \
        }                                                                                                    \
      }                                                                                                      \
    }                                                                                                        \
    for (int r = 0; r < FR && r < rows; r++) {                                                               \
      float *o = oi + (f0 + r) * plane + y * ow;                                                             \
      const __m256 b = bias ? _mm256_set1_ps(bias[f0 + r]) : _mm256_setzero_ps();                            \
      for (int v = 0; v < V; v++) {                                                                          \
        const __m256 value = bias ? _mm256_add_ps(acc[r][v], b) : acc[r][v];                                 \
        if (v < V - 1) _mm256_storeu_ps(o + 8 * v, value);                                                   \
        else store_first(o + 8 * v, value, tailCount);                                                    \
      }                                                                                                      \
    }                                                                                                        \
  }

#define NL_LOAD_FULL(p) _mm256_loadu_ps(p)
#define NL_LOAD_MASKED(p) _mm256_maskload_ps(p, tail)

/// nl_conv_direct with FR filters a tile and rows of V vectors.
#define NL_DIRECT(V, FR)                                                                                     \
  for (long i = 0; i < images; i++) {                                                                        \
    const float *xi = x + i * image;                                                                         \
    float *oi = out + i * filters * plane;                                                                   \
    for (long f0 = 0; f0 < filters; f0 += FR) {                                                              \
      const long rows = filters - f0 < FR ? filters - f0 : FR;                                               \
      /* Rows past the last filter repeat it (their sums are never stored). */                               \
      const float *wr[FR];                                                                                   \
      for (int r = 0; r < FR; r++) wr[r] = weight + (f0 + (r < rows ? r : rows - 1)) * kdim;                 \
      for (long y = 0; y < oh; y++) {                                                                        \
        const float *src = xi + y * width;                                                                   \
        if (src + reach <= end) NL_DIRECT_ROW(V, FR, NL_LOAD_FULL)                                           \
        else NL_DIRECT_ROW(V, FR, NL_LOAD_MASKED)                                                            \
      }                                                                                                      \
    }                                                                                                        \
  }

NL_AVX2
int nl_conv_direct_avx2(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                        long ow, const float *weight, const float *bias, long filters, float *out) {
  long offsets[256];
  const long kdim = direct_taps(channels, height, width, kh, kw, ow, offsets), plane = oh * ow, image = channels * height * width;
  if (kdim == 0) return 0;
  // How far past a row's start its last tap's last vector reads, and the input's end.
  const long reach = offsets[kdim - 1] + 8 * ((ow + 7) / 8);
  const float *end = x + images * image;
  // Twelve accumulators: 3 filters x 4 vectors for rows of 25 to 32, 4 x 3 for 17 to 24.
  if (ow > 24) {
    const long tailCount = ow - 24;
    const __m256i tail = first8(tailCount);
    NL_DIRECT(4, 3)
  } else {
    const long tailCount = ow - 16;
    const __m256i tail = first8(tailCount);
    NL_DIRECT(3, 4)
  }
  return 1;
}

NL_AVX2
int nl_unfold_avx2(const float *x, long images, long image_size, long channels, long height, long width, long kh, long kw,
                   long oh, long ow, float *cols, long row_stride, const float *source_end) {
  if (ow > 32 || ow < 1 || oh < 1) return 0;
  const long plane = oh * ow, vectors = (ow + 7) / 8;
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      for (long kj = 0; kj < kw; kj++, row++) {
        for (long i = 0; i < images; i++) {
          const float *src = x + i * image_size + (c * height + ki) * width + kj;
          float *dst = cols + row * row_stride + i * plane;
          if (ow == 4) {
            // Two runs a vector: the window's rows oi and oi + 1 side by side.
            long oi = 0;
            for (; oi + 2 <= oh; oi += 2, src += 2 * width, dst += 8)
              _mm256_storeu_ps(dst, _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src)), _mm_loadu_ps(src + width), 1));
            if (oi < oh) _mm_storeu_ps(dst, _mm_loadu_ps(src));
            continue;
          }
          // Whole vectors, the last one spilling past the run (the next run, or the room after the row, takes
          // it); read past the run only before the input's end (then masked).
          for (long oi = 0; oi < oh; oi++, src += width, dst += ow) {
            for (long v = 0; v < vectors; v++) {
              const float *from = src + 8 * v;
              const __m256 value = source_end - from >= 8 ? _mm256_loadu_ps(from) : _mm256_maskload_ps(from, first8(source_end - from));
              _mm256_storeu_ps(dst + 8 * v, value);
            }
          }
        }
      }
    }
  }
  return 1;
}

NL_AVX2
int nl_fold_avx2(const float *cols, long images, long image_size, long channels, long height, long width, long kh, long kw,
                 long oh, long ow, float *gx, long row_stride) {
  if (width > 32 || kw > 16 || oh < 1 || ow < 1) return 0;
  const long plane = oh * ow, blocks = (width + 7) / 8;
  // For each 8-value block b of an input row and window column kj: the lanes jj whose output column jj - kj
  // lies in 0 ..< ow (those get a term; the others load zeros and never touch memory).
  __m256i from[4][16];
  for (long b = 0; b < blocks; b++)
    for (long kj = 0; kj < kw; kj++) {
      const long lo = kj - 8 * b, hi = ow + kj - 8 * b;
      from[b][kj] = _mm256_andnot_si256(first8(lo), first8(hi));
    }
  for (long c = 0; c < channels; c++) {
    for (long i = 0; i < images; i++) {
      float *img = gx + i * image_size + c * height * width;
      for (long ii = 0; ii < height; ii++) {
        float *grow = img + ii * width;
        for (long b = 0; b < blocks; b++) {
          const long count = width - 8 * b;
          // The row's values in registers, each window position's terms added in the order of the rows of the
          // columns (ki, then kj): the order in which a row-by-row fold adds them, so the same sums.
          __m256 acc = count >= 8 ? _mm256_loadu_ps(grow + 8 * b) : _mm256_maskload_ps(grow + 8 * b, first8(count));
          for (long ki = 0; ki < kh; ki++) {
            const long oi = ii - ki;
            if (oi < 0 || oi >= oh) continue;
            const float *src = cols + ((c * kh + ki) * kw) * row_stride + i * plane + oi * ow + 8 * b;
            for (long kj = 0; kj < kw; kj++)
              acc = _mm256_add_ps(acc, _mm256_maskload_ps(src + kj * row_stride - kj, from[b][kj]));
          }
          store_first(grow + 8 * b, acc, count);
        }
      }
    }
  }
  return 1;
}

#else
int nl_unfold_avx2(const float *x, long images, long image_size, long channels, long height, long width, long kh, long kw,
                   long oh, long ow, float *cols, long row_stride, const float *source_end) {
  return 0;
}
int nl_fold_avx2(const float *cols, long images, long image_size, long channels, long height, long width, long kh, long kw,
                 long oh, long ow, float *gx, long row_stride) {
  return 0;
}
int nl_maxpool2x2_codes_avx2(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes,
                             int relu) {
  return 0;
}
int nl_unpool2x2_codes_avx2(const float *g, const uint8_t *codes, long height, long width, float *plane) { return 0; }
int nl_conv_direct_avx2(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                        long ow, const float *weight, const float *bias, long filters, float *out) {
  return 0;
}
#endif
