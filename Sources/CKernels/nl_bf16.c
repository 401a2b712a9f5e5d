// Mixed-precision GEMM pieces on AVX512_BF16 (see nl_gemm.h): packing float32 operands into bfloat16 pairs,
// the 8 x 32 micro-kernel on VDPBF16PS, and the A·Bᵀ dot products of a convolution's weight gradient.
#include "nl_gemm.h"
#include "nl_lanes.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <string.h>

#define NL_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))

static inline long min_l(long a, long b) { return a < b ? a : b; }

/// One float as bfloat16 bits, as VCVTNEPS2BF16 does it: denormals to (signed) zero, NaN kept a quiet NaN,
/// else rounded to nearest even.
static inline uint32_t bf16_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0) return (u >> 16) & 0x8000u;
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}
static inline uint32_t pair(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

NL_BF16
void nl_pack_a_bf16(long mc, long kc, const float *a, long lda, int trans, uint32_t *out) {
  const long kp = (kc + 1) / 2;
  for (long i = 0; i < mc; i += 8) {
    const long height = min_l(8, mc - i);
    uint32_t *panel = out + (i / 8) * kp * 8;
    if (height == 8 && !trans) {
      // Each row's pairs are its bfloat16 values read as words: convert 32 terms of the 8 rows, then write
      // the 8 x 16 words column by column.
      uint32_t words[8][16];
      for (long p = 0; p < kc; p += 32) {
        for (int r = 0; r < 8; r++) {
          const float *row = a + (i + r) * lda + p;
          const __m512 x0 = _mm512_maskz_loadu_ps(first_lanes(kc - p), row), x1 = _mm512_maskz_loadu_ps(first_lanes(kc - p - 16), row + 16);
          _mm512_storeu_si512(words[r], (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
        }
        const long count = min_l(16, kp - p / 2);
        for (long w = 0; w < count; w++) {
          uint32_t *column = panel + (p / 2 + w) * 8;
          for (int r = 0; r < 8; r++) column[r] = words[r][w];
        }
      }
    } else if (height == 8) {
      // Stored as [k, m]: terms 2 p2 and 2 p2 + 1 of the 8 rows are two runs of 8 floats; interleave them.
      const __m256i order = _mm256_setr_epi16(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
      for (long p2 = 0; p2 < kp; p2++) {
        const __m256 x0 = _mm256_loadu_ps(a + (2 * p2) * lda + i);
        const __m256 x1 = 2 * p2 + 1 < kc ? _mm256_loadu_ps(a + (2 * p2 + 1) * lda + i) : _mm256_setzero_ps();
        const __m256i both = (__m256i)_mm256_cvtne2ps_pbh(x1, x0);
        _mm256_storeu_si256((__m256i *)(panel + p2 * 8), _mm256_permutexvar_epi16(order, both));
      }
    } else {
      for (long p2 = 0; p2 < kp; p2++) {
        for (long r = 0; r < 8; r++) {
          float lo = 0, hi = 0;
          if (r < height) {
            const long p = 2 * p2;
            lo = trans ? a[p * lda + i + r] : a[(i + r) * lda + p];
            if (p + 1 < kc) hi = trans ? a[(p + 1) * lda + i + r] : a[(i + r) * lda + p + 1];
          }
          panel[p2 * 8 + r] = pair(lo, hi);
        }
      }
    }
  }
}

NL_BF16
void nl_pack_b_bf16(long kc, long nc, const float *b, long ldb, int trans, uint32_t *out) {
  const long kp = (kc + 1) / 2;
  // Element 2j of the result is term 2 p2 of column j, element 2j + 1 term 2 p2 + 1.
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                         20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (long j = 0; j < nc; j += 32) {
    const long width = min_l(32, nc - j);
    uint32_t *panel = out + (j / 32) * kp * 32;
    if (!trans) {
      const __mmask16 m0 = first_lanes(width), m1 = first_lanes(width - 16);
      for (long p2 = 0; p2 < kp; p2++) {
        const float *r0 = b + (2 * p2) * ldb + j;
        const __m512 x00 = _mm512_maskz_loadu_ps(m0, r0), x01 = _mm512_maskz_loadu_ps(m1, r0 + 16);
        __m512 x10 = _mm512_setzero_ps(), x11 = _mm512_setzero_ps();
        if (2 * p2 + 1 < kc) {
          x10 = _mm512_maskz_loadu_ps(m0, r0 + ldb);
          x11 = _mm512_maskz_loadu_ps(m1, r0 + ldb + 16);
        }
        _mm512_storeu_si512(panel + p2 * 32, _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(x10, x00)));
        _mm512_storeu_si512(panel + p2 * 32 + 16, _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(x11, x01)));
      }
    } else {
      for (long q = 0; q < 32; q++) {
        const float *column = q < width ? b + (j + q) * ldb : NULL;
        for (long p2 = 0; p2 < kp; p2++) {
          const long p = 2 * p2;
          panel[p2 * 32 + q] = column ? pair(column[p], p + 1 < kc ? column[p + 1] : 0) : 0;
        }
      }
    }
  }
}

NL_BF16
void nl_gemm_bf16_8x32(long kp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias) {
  __m512 acc[8][2];
  for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (long p = 0; p < kp; p++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
    for (int r = 0; r < 8; r++) {
      const __m512bh v = (__m512bh)_mm512_set1_epi32((int)a[r]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], v, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], v, b1);
    }
    a += 8;
    b += 32;
  }
  if (rows == 8 && columns == 32) {
    for (int r = 0; r < 8; r++) {
      __m512 lo = acc[r][0], hi = acc[r][1];
      float *row = c + r * ldc;
      if (accumulate) {
        lo = _mm512_add_ps(_mm512_loadu_ps(row), lo);
        hi = _mm512_add_ps(_mm512_loadu_ps(row + 16), hi);
      }
      if (bias) {
        const __m512 v = _mm512_set1_ps(bias[r]);
        lo = _mm512_add_ps(lo, v);
        hi = _mm512_add_ps(hi, v);
      }
      _mm512_storeu_ps(row, lo);
      _mm512_storeu_ps(row + 16, hi);
    }
  } else {
    float tile[8 * 32];
    for (int r = 0; r < 8; r++) {
      _mm512_storeu_ps(tile + r * 32, acc[r][0]);
      _mm512_storeu_ps(tile + r * 32 + 16, acc[r][1]);
    }
    for (long r = 0; r < rows; r++) {
      for (long q = 0; q < columns; q++) {
        float v = accumulate ? c[r * ldc + q] + tile[r * 32 + q] : tile[r * 32 + q];
        if (bias) v += bias[r];
        c[r * ldc + q] = v;
      }
    }
  }
}

NL_BF16
void nl_rows_to_bf16(long rows, long n, const float *src, long lds, uint32_t *dst, long words) {
  for (long r = 0; r < rows; r++) {
    const float *row = src + r * lds;
    uint32_t *out = dst + r * words;
    long w = 0;
    for (; 2 * w < n; w += 16) {
      const long p = 2 * w;
      const __m512 x0 = _mm512_maskz_loadu_ps(first_lanes(n - p), row + p), x1 = _mm512_maskz_loadu_ps(first_lanes(n - p - 16), row + p + 16);
      _mm512_mask_storeu_epi32(out + w, first_lanes(words - w), (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
    }
    for (; w < words; w++) out[w] = 0;
  }
}

/// One R x Q tile of outputs (rows i0.., columns j0..): R x Q sixteen-lane sums over the words, then each
/// reduced as a tree. Rows and columns past the end repeat the last one; their sums are never written. An
/// output's value does not depend on the tile it was computed in.
#define NL_DOT_TILE(R, Q)                                                                                    \
  {                                                                                                          \
    const uint32_t *ar[R], *br[Q];                                                                           \
    for (int r = 0; r < R; r++) ar[r] = a + min_l(i0 + r, m - 1) * lda;                                      \
    for (int q = 0; q < Q; q++) br[q] = b + min_l(j0 + q, n - 1) * ldb;                                      \
    __m512 t[R * Q];                                                                                         \
    for (int x = 0; x < R * Q; x++) t[x] = _mm512_setzero_ps();                                              \
    for (long s = 0; s < words; s += 16) {                                                                   \
      __m512bh y[Q];                                                                                         \
      for (int q = 0; q < Q; q++) y[q] = (__m512bh)_mm512_loadu_si512(br[q] + s);                            \
      for (int r = 0; r < R; r++) {                                                                          \
        const __m512bh x = (__m512bh)_mm512_loadu_si512(ar[r] + s);                                          \
        for (int q = 0; q < Q; q++) t[r * Q + q] = _mm512_dpbf16_ps(t[r * Q + q], x, y[q]);                  \
      }                                                                                                      \
    }                                                                                                        \
    const long rows = min_l(R, m - i0), columns = min_l(Q, n - j0);                                          \
    for (long r = 0; r < rows; r++)                                                                          \
      for (long q = 0; q < columns; q++) c[(i0 + r) * ldc + j0 + q] += reduce16(t[r * Q + q]);               \
  }

NL_BF16
void nl_dot_nt_bf16(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                    long ldc) {
  // Tiles of 8 rows of A by 2 of B where A has 8 rows: each of B's rows (the long side, streamed from L2) is
  // read once per 8 rows of A instead of once per 4.
  const long tall = m >= 8 ? 8 : 4;
  for (long i0 = 0; i0 < m; i0 += tall) {
    for (long j0 = 0; j0 < n; j0 += tall == 8 ? 2 : 4) {
      if (tall == 8) NL_DOT_TILE(8, 2) else NL_DOT_TILE(4, 4)
    }
  }
}

NL_BF16
void nl_gemm_bf16_nt(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                     long ldc, int accumulate, uint32_t *scratch) {
  // A's rows as 8-row panels of pairs, all of it (a convolution's dY: few rows); then B 32 rows at a time,
  // transposed into a panel, and the micro-kernel over every panel of A.
  const long panels = (m + 7) / 8;
  uint32_t *pa = scratch, *pb = scratch + panels * 8 * words;
  for (long i0 = 0; i0 < m; i0 += 8) {
    uint32_t *panel = pa + (i0 / 8) * 8 * words;
    for (long r = 0; r < 8; r++) {
      const uint32_t *row = i0 + r < m ? a + (i0 + r) * lda : NULL;
      for (long p = 0; p < words; p++) panel[p * 8 + r] = row ? row[p] : 0;
    }
  }
  for (long j0 = 0; j0 < n; j0 += 32) {
    for (long q = 0; q < 32; q++) {
      const uint32_t *row = j0 + q < n ? b + (j0 + q) * ldb : NULL;
      for (long p = 0; p < words; p++) pb[p * 32 + q] = row ? row[p] : 0;
    }
    for (long i0 = 0; i0 < m; i0 += 8)
      nl_gemm_bf16_8x32(words, pa + (i0 / 8) * 8 * words, pb, c + i0 * ldc + j0, ldc, min_l(8, m - i0), min_l(32, n - j0),
                        accumulate, NULL);
  }
}

NL_BF16
int nl_unfold_padded_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                          long kw, long pad, long oh, long ow, uint16_t *cols, long row_stride) {
  const long blocks = (ow + 15) / 16;
  if (blocks > 8) return 0;
  const long plane = oh * ow, used = images * plane;
  if (same_window_fits(height, width, oh, ow, kh, kw, pad)) {
    // "Same" windows: each row of the columns is, image by image, its channel's plane shifted by a fixed
    // offset and masked at the edges, copied 16 positions at a time across the plane's rows (row by row, a
    // 7-wide plane would store 7 values at a time).
    const long window = kh * kw;
    __mmask16 valid[49][64];
    long shift[49];
    const long vectors = same_window_masks(height, width, kh, pad, +1, shift, valid);
    const __mmask16 last = first_lanes(plane - 16 * (vectors - 1));
    long row = 0;
    for (long c = 0; c < channels; c++) {
      for (long k = 0; k < window; k++, row++) {
        uint16_t *base = cols + row * row_stride;
        for (long i = 0; i < images; i++) {
          uint16_t *dst = base + i * plane;
          const float *src = x + i * image_size + c * plane + shift[k];
          for (long b = 0; b + 1 < vectors; b++)
            _mm256_storeu_si256((__m256i *)(dst + 16 * b), (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid[k][b], src + 16 * b)));
          const long b = vectors - 1;
          _mm256_mask_storeu_epi16(dst + 16 * b, last, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid[k][b], src + 16 * b)));
        }
        for (long q = used; q < row_stride; q++) base[q] = 0;
      }
    }
    return 1;
  }
  long row = 0;
  for (long c = 0; c < channels; c++) {
    for (long ki = 0; ki < kh; ki++) {
      // Output rows whose input row lies inside the image: oi in first ..< last.
      const long first = pad - ki > 0 ? pad - ki : 0, last = height + pad - ki < oh ? height + pad - ki : oh;
      for (long kj = 0; kj < kw; kj++, row++) {
        const long shift = kj - pad;
        __mmask16 store[8], valid[8];
        for (long b = 0; b < blocks; b++) {
          store[b] = first_lanes(ow - 16 * b);
          valid[b] = lane_range(-shift - 16 * b, width - shift - 16 * b) & store[b];
        }
        uint16_t *base = cols + row * row_stride;
        for (long i = 0; i < images; i++) {
          uint16_t *dst = base + i * plane;
          const float *img = x + i * image_size + c * height * width;
          for (long oi = 0; oi < oh; oi++) {
            uint16_t *d = dst + oi * ow;
            if (oi < first || oi >= last) {
              for (long b = 0; b < blocks; b++) _mm256_mask_storeu_epi16(d + 16 * b, store[b], _mm256_setzero_si256());
              continue;
            }
            const float *srow = img + (oi - pad + ki) * width + shift;
            for (long b = 0; b < blocks; b++) {
              const __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid[b], srow + 16 * b));
              _mm256_mask_storeu_epi16(d + 16 * b, store[b], v);
            }
          }
        }
        for (long q = used; q < row_stride; q++) base[q] = 0;
      }
    }
  }
  return 1;
}

NL_BF16
int nl_unfold_pack_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                        long kw, long pad, long block_pairs, uint32_t *out) {
  // "Same" windows only (output plane = input plane): then column j of image i reads its channel's plane at
  // position p + (ki - pad) * width + (kj - pad), a fixed shift of p for every (ki, kj).
  const long window = kh * kw;
  if (kh != 2 * pad + 1 || kw != 2 * pad + 1 || window > 49 || block_pairs <= 0) return 0;
  const long plane = height * width, n = images * plane, panels = (n + 31) / 32;
  const long kdim = channels * window, kp = (kdim + 1) / 2;
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                         20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  // Each panel's 32 columns as runs within one image (at most 33 of them: planes of one position), each run's
  // lanes valid for each window position, and where lane 0 of the run's pointer sits in its image.
  enum { max_runs = 33 };
  long shift[49];
  for (long k = 0; k < window; k++) shift[k] = (k / kw - pad) * width + (k % kw - pad);
  uint32_t lanes[max_runs][49];
  long origin[max_runs];
  for (long q = 0; q < panels; q++) {
    long runs = 0;
    for (long j = 32 * q; j < n && j < 32 * q + 32; runs++) {
      const long i = j / plane, p0 = j % plane, count = min_l(32 * q + 32 - j, plane - p0), lane0 = j - 32 * q;
      origin[runs] = i * image_size + p0 - lane0;
      // The run's lanes whose input row (column) lies inside the image, for each window row (column).
      uint32_t rows[7] = {0}, columns[7] = {0};
      long y = p0 / width, xx = p0 % width;
      for (long l = 0; l < count; l++) {
        const uint32_t bit = 1u << (lane0 + l);
        for (long d = 0; d < kh; d++) {
          if (y + d - pad >= 0 && y + d - pad < height) rows[d] |= bit;
          if (xx + d - pad >= 0 && xx + d - pad < width) columns[d] |= bit;
        }
        if (++xx == width) { xx = 0; y++; }
      }
      for (long ki = 0; ki < kh; ki++)
        for (long kj = 0; kj < kw; kj++) lanes[runs][ki * kw + kj] = rows[ki] & columns[kj];
      j += count;
    }
    // Rows 2 t and 2 t + 1 of the columns (row r: channel r / window, window position r % window, counted
    // along without divisions), converted and interleaved as nl_pack_b_bf16 does, into pair t of the panel in
    // its k block.
    long c = 0, k = 0;
    for (long first = 0; first < kp; first += block_pairs) {
      const long words = min_l(block_pairs, kp - first);
      uint32_t *dst = out + first * panels * 32 + q * words * 32;
      for (long t = 0; t < words; t++, dst += 32) {
        __m512 v[2][2];
        for (int h = 0; h < 2; h++) {
          v[h][0] = v[h][1] = _mm512_setzero_ps();
          if (c < channels) {
            const float *base = x + c * plane + shift[k];
            for (long s = 0; s < runs; s++) {
              const uint32_t m = lanes[s][k];
              v[h][0] = _mm512_mask_loadu_ps(v[h][0], (__mmask16)m, base + origin[s]);
              v[h][1] = _mm512_mask_loadu_ps(v[h][1], (__mmask16)(m >> 16), base + origin[s] + 16);
            }
          }
          if (++k == window) { k = 0; c++; }
        }
        _mm512_storeu_si512(dst, _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(v[1][0], v[0][0])));
        _mm512_storeu_si512(dst + 16, _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(v[1][1], v[0][1])));
      }
    }
  }
  return 1;
}

NL_BF16
float nl_bf16_dot_loop(long iterations, float seed) {
  __m512 acc[12];
  for (int x = 0; x < 12; x++) acc[x] = _mm512_set1_ps(seed + (float)x);
  const __m512bh m = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f), add = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  for (long i = 0; i < iterations; i++)
    for (int x = 0; x < 12; x++) acc[x] = _mm512_dpbf16_ps(acc[x], m, add);
  __m512 s = acc[0];
  for (int x = 1; x < 12; x++) s = _mm512_add_ps(s, acc[x]);
  return _mm512_reduce_add_ps(s);
}

#else
float nl_bf16_dot_loop(long iterations, float seed) { return seed; }
void nl_gemm_bf16_nt(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                     long ldc, int accumulate, uint32_t *scratch) {}
int nl_unfold_padded_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                          long kw, long pad, long oh, long ow, uint16_t *cols, long row_stride) {
  return 0;
}
int nl_unfold_pack_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                        long kw, long pad, long block_pairs, uint32_t *out) {
  return 0;
}
void nl_pack_a_bf16(long mc, long kc, const float *a, long lda, int trans, uint32_t *out) {}
void nl_pack_b_bf16(long kc, long nc, const float *b, long ldb, int trans, uint32_t *out) {}
void nl_gemm_bf16_8x32(long kp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias) {}
void nl_rows_to_bf16(long rows, long n, const float *src, long lds, uint32_t *dst, long words) {}
void nl_dot_nt_bf16(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                    long ldc) {}
#endif
