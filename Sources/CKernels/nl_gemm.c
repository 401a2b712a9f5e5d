// The GEMM's inner kernels (see nl_gemm.h): AVX2+FMA and AVX-512 micro-kernels and the AVX-512 dot products
// for A·Bᵀ. Per-function target attributes, so the package needs no -march flag; the Swift side calls them only
// where the processor has the instructions (CCPU). Keep `a * b + c` out of the scalar code: C may contract it
// into a fused multiply-add where the Swift loops round twice.
#include "nl_gemm.h"
#include "nl_lanes.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define NL_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define NL_AVX2 __attribute__((target("avx2,fma")))

// MARK: - Micro-kernels

/// The corner of a tile parked in `tile` (NR floats a row) written into C value by value: an edge tile.
static inline void put_edge(const float *tile, long nr, float *c, long ldc, long rows, long columns, int accumulate,
                            const float *bias) {
  for (long r = 0; r < rows; r++) {
    for (long q = 0; q < columns; q++) {
      float v = accumulate ? c[r * ldc + q] + tile[r * nr + q] : tile[r * nr + q];
      if (bias) v += bias[r];
      c[r * ldc + q] = v;
    }
  }
}

/// An MR x 32 tile in 2 * MR accumulators of 16 lanes (MR a constant: the loops unroll, the array lives in
/// registers).
#define NL_TILE_512(MR)                                                                                      \
  __m512 acc[MR][2];                                                                                         \
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();                                   \
  if (rows == MR && columns == 32)                                                                           \
    for (int r = 0; r < MR; r++) {                                                                           \
      _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);                                                \
      _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);                                           \
    }                                                                                                        \
  for (long p = 0; p < kc; p++) {                                                                            \
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);                                       \
    for (int r = 0; r < MR; r++) {                                                                           \
      const __m512 v = _mm512_set1_ps(a[r]);                                                                 \
      acc[r][0] = _mm512_fmadd_ps(v, b0, acc[r][0]);                                                         \
      acc[r][1] = _mm512_fmadd_ps(v, b1, acc[r][1]);                                                         \
    }                                                                                                        \
    a += MR;                                                                                                 \
    b += ldb;                                                                                                \
  }                                                                                                          \
  if (rows == MR && columns == 32) {                                                                         \
    for (int r = 0; r < MR; r++) {                                                                           \
      __m512 lo = acc[r][0], hi = acc[r][1];                                                                 \
      float *row = c + r * ldc;                                                                              \
      if (accumulate) {                                                                                      \
        lo = _mm512_add_ps(_mm512_loadu_ps(row), lo);                                                        \
        hi = _mm512_add_ps(_mm512_loadu_ps(row + 16), hi);                                                   \
      }                                                                                                      \
      if (bias) {                                                                                            \
        const __m512 v = _mm512_set1_ps(bias[r]);                                                            \
        lo = _mm512_add_ps(lo, v);                                                                           \
        hi = _mm512_add_ps(hi, v);                                                                           \
      }                                                                                                      \
      _mm512_storeu_ps(row, lo);                                                                             \
      _mm512_storeu_ps(row + 16, hi);                                                                        \
    }                                                                                                        \
  } else {                                                                                                   \
    float tile[MR * 32];                                                                                     \
    for (int r = 0; r < MR; r++) {                                                                           \
      _mm512_storeu_ps(tile + r * 32, acc[r][0]);                                                            \
      _mm512_storeu_ps(tile + r * 32 + 16, acc[r][1]);                                                       \
    }                                                                                                        \
    put_edge(tile, 32, c, ldc, rows, columns, accumulate, bias);                                             \
  }

#define NL_TILE_ARGS                                                                                         \
  long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns, int accumulate,   \
  const float *bias
#define NL_INLINE static inline __attribute__((always_inline))

NL_AVX512 NL_INLINE void tile_avx512_8x32(NL_TILE_ARGS) { NL_TILE_512(8) }
NL_AVX512 NL_INLINE void tile_avx512_12x32(NL_TILE_ARGS) { NL_TILE_512(12) }

NL_AVX512
void nl_gemm_avx512_8x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                         int accumulate, const float *bias) {
  tile_avx512_8x32(kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias);
}

NL_AVX512
void nl_gemm_avx512_12x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                          int accumulate, const float *bias) {
  tile_avx512_12x32(kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias);
}

NL_AVX2 NL_INLINE void tile_avx2_6x16(NL_TILE_ARGS) {
  __m256 acc[6][2];
  for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  // C's tile fetched while the products run: its rows are a row of C apart, often in no cache (a fifth of the
  // kernel's time went to these loads at n = 1,024 on a Zen 3).
  if (rows == 6 && columns == 16)
    for (int r = 0; r < 6; r++) {
      _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
      _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
    }
  for (long p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int r = 0; r < 6; r++) {
      const __m256 v = _mm256_set1_ps(a[r]);
      acc[r][0] = _mm256_fmadd_ps(v, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(v, b1, acc[r][1]);
    }
    a += 6;
    b += ldb;
  }
  if (rows == 6 && columns == 16) {
    for (int r = 0; r < 6; r++) {
      __m256 lo = acc[r][0], hi = acc[r][1];
      float *row = c + r * ldc;
      if (accumulate) {
        lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
        hi = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi);
      }
      if (bias) {
        const __m256 v = _mm256_set1_ps(bias[r]);
        lo = _mm256_add_ps(lo, v);
        hi = _mm256_add_ps(hi, v);
      }
      _mm256_storeu_ps(row, lo);
      _mm256_storeu_ps(row + 8, hi);
    }
  } else {
    float tile[6 * 16];
    for (int r = 0; r < 6; r++) {
      _mm256_storeu_ps(tile + r * 16, acc[r][0]);
      _mm256_storeu_ps(tile + r * 16 + 8, acc[r][1]);
    }
    put_edge(tile, 16, c, ldc, rows, columns, accumulate, bias);
  }
}

NL_AVX2
void nl_gemm_avx2_6x16(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias) {
  tile_avx2_6x16(kc, a, b, ldb, c, ldc, rows, columns, accumulate, bias);
}

// MARK: - Dot products for A·Bᵀ

/// Terms per sub-block: four rows of A over one sub-block (16 kB) stay in the L1 cache (512 and 2,048 measured
/// no faster; no sub-blocks at all, 20% slower on 32 x 28 x 3,600).
#define NL_SUB_BLOCK_K 1024

static inline long min_l(long a, long b) { return a < b ? a : b; }
static inline long max_l(long a, long b) { return a > b ? a : b; }

/// reduce16 of each of 16 vectors at once, lane x of the result the sum of t[x]: the same additions as
/// reduce16's tree (lanes i + 8, then i + 4, i + 2, i + 1) on every vector, so the same bits, but two vectors'
/// sums share each addition (15 additions and 30 shuffles instead of 16 x 8 operations: a tile of a short
/// product, 512 terms, spent a fifth of its time here).
NL_AVX512 static inline __m512 reduce16x16(const __m512 t[16]) {
  // The inputs paired so that the result comes out in t's order: a quarter of the result per row of the tile.
  static const int order[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  // Halves: [x.lo8, y.lo8] + [x.hi8, y.hi8] = lanes i + i + 8 of x, then of y.
  __m512 e[8];
  for (int p = 0; p < 8; p++) {
    const __m512 x = t[order[2 * p]], y = t[order[2 * p + 1]];
    e[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Quarters: i + i + 4 of four vectors, one per 128-bit lane.
  __m512 f[4];
  for (int p = 0; p < 4; p++)
    f[p] = _mm512_add_ps(_mm512_shuffle_f32x4(e[2 * p], e[2 * p + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(e[2 * p], e[2 * p + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  // Pairs within each 128-bit lane: i + i + 2, two vectors per lane.
  __m512 g[2];
  for (int p = 0; p < 2; p++)
    g[p] = _mm512_add_ps(_mm512_shuffle_ps(f[2 * p], f[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(f[2 * p], f[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Last: 0 + 1, four vectors per 128-bit lane, in t's order.
  return _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/// nl_dot_nt_avx512's loop; with `segment` > 0, each row of A is `k / segment` runs of `segment` terms
/// (at least 16), run i at `i * segment_stride` from the row's start: a vector that straddles two runs is
/// loaded in two masked parts, so each lane holds the same term as on a contiguous row. `segment` is a constant
/// in both callers, so the contiguous one keeps its plain loop.
NL_AVX512 static inline __attribute__((always_inline)) void dot_nt(
    long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb, float *c,
    long ldc, void *scratch, long block_k, long segment, long segment_stride) {
  if (row_end <= row_begin || n <= 0) return;
  // Blocks start on whole vectors (a block ending mid-vector would count the terms past it twice).
  block_k = k <= block_k ? k : max_l(16, block_k / 16 * 16);
  const long m = row_end - row_begin, tile_rows = (m + 3) / 4, tile_columns = (n + 3) / 4;
  float *sums = (float *)scratch;
  const long full_end = k - k % 16;
  // How far a row's pointer moves on from one run to the next (its terms stay indexed by their place in k).
  const long step = segment > 0 ? segment_stride - segment : 0;
  for (long k0 = 0; k0 < k; k0 += block_k) {
    const long k1 = min_l(k, k0 + block_k);
    for (long ti = 0; ti < tile_rows; ti++) {
      // Rows past the end repeat the last row; their sums are never read.
      const long i0 = row_begin + 4 * ti, last = row_end - 1;
      const float *ar[4];
      for (int r = 0; r < 4; r++) ar[r] = a + min_l(i0 + r, last) * lda;
      for (long s0 = k0; s0 < k1;) {
        const long s1 = min_l(k1, s0 + NL_SUB_BLOCK_K), vector_end = min_l(s1, full_end);
        for (long tj = 0; tj < tile_columns; tj++) {
          const long j0 = 4 * tj;
          const float *br[4];
          for (int q = 0; q < 4; q++) br[q] = b + min_l(j0 + q, n - 1) * ldb;
          // The run that holds term s0, and where it ends.
          const long run = segment > 0 ? s0 / segment : 0;
          long run_end = segment > 0 ? (run + 1) * segment : k;
          const float *at[4];
          for (int r = 0; r < 4; r++) at[r] = ar[r] + run * step;
          float *tile = sums + (ti * tile_columns + tj) * 256;
          __m512 t[16];
          for (int x = 0; x < 16; x++) t[x] = s0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(tile + 16 * x);
          for (long s = s0; s + 16 <= vector_end; s += 16) {
            __m512 x[4], y[4];
            for (int q = 0; q < 4; q++) y[q] = _mm512_loadu_ps(br[q] + s);
            if (segment <= 0 || s + 16 < run_end) {
              for (int r = 0; r < 4; r++) x[r] = _mm512_loadu_ps(at[r] + s);
            } else {
              // The lanes up to the run's end from this run, the rest from the next (none past k).
              const __mmask16 here = first_lanes(run_end - s), next = (__mmask16)(first_lanes(k - s) & ~here);
              for (int r = 0; r < 4; r++) x[r] = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(here, at[r] + s), next, at[r] + step + s);
              for (int r = 0; r < 4; r++) at[r] += step;
              run_end += segment;
            }
            for (int r = 0; r < 4; r++)
              for (int q = 0; q < 4; q++) t[r * 4 + q] = _mm512_fmadd_ps(x[r], y[q], t[r * 4 + q]);
          }
          if (s1 < k) {
            for (int x = 0; x < 16; x++) _mm512_storeu_ps(tile + 16 * x, t[x]);
            continue;
          }
          if (full_end < k) {
            // The last few terms, zeros in the lanes past them (all in the last run: runs are 16 terms or more).
            const __mmask16 lanes = (__mmask16)((1u << (k - full_end)) - 1);
            __m512 x[4], y[4];
            for (int r = 0; r < 4; r++) x[r] = _mm512_maskz_loadu_ps(lanes, ar[r] + (segment > 0 ? (k / segment - 1) * step : 0) + full_end);
            for (int q = 0; q < 4; q++) y[q] = _mm512_maskz_loadu_ps(lanes, br[q] + full_end);
            for (int r = 0; r < 4; r++)
              for (int q = 0; q < 4; q++) t[r * 4 + q] = _mm512_fmadd_ps(x[r], y[q], t[r * 4 + q]);
          }
          // Rows and columns past the edge were computed from repeated rows: only real outputs are written.
          const long columns = min_l(4, n - j0);
          float totals[16];
          _mm512_storeu_ps(totals, reduce16x16(t));
          for (int r = 0; r < 4; r++) {
            if (i0 + r >= row_end) break;
            float *row = c + (i0 + r) * ldc + j0;
            for (long q = 0; q < columns; q++) row[q] += totals[r * 4 + q];
          }
        }
        s0 = s1;
      }
    }
  }
}

NL_AVX512
void nl_dot_nt_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, void *scratch, long block_k) {
  dot_nt(row_begin, row_end, n, k, a, lda, b, ldb, c, ldc, scratch, block_k, 0, 0);
}

NL_AVX512
void nl_dot_nt_runs_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, long run,
                           long run_stride, const float *b, long ldb, float *c, long ldc, void *scratch, long block_k) {
  if (run < 16 || k % run != 0) abort();
  dot_nt(row_begin, row_end, n, k, a, lda, b, ldb, c, ldc, scratch, block_k, run, run_stride);
}

/// One 16-term step of nl_dot_nt_avx2's 2 x 3 tile at term s: each output's two halves take their fused
/// multiply-adds, half by half (the half's two values of A, then one of B at a time: 15 registers with the
/// twelve accumulators); with `masked`, lanes past k load zeros (`low`, `high`: the lanes wanted in each half).
NL_AVX2 static inline __attribute__((always_inline)) void dot_avx2_step(__m256 t[2][3][2], const float *ar[2], const float *br[3],
                                                                         long s, int masked, __m256i low, __m256i high) {
  for (int h = 0; h < 2; h++) {
    const __m256i lanes = h == 0 ? low : high;
    __m256 x[2];
    for (int r = 0; r < 2; r++) x[r] = masked ? _mm256_maskload_ps(ar[r] + s + 8 * h, lanes) : _mm256_loadu_ps(ar[r] + s + 8 * h);
    for (int q = 0; q < 3; q++) {
      const __m256 y = masked ? _mm256_maskload_ps(br[q] + s + 8 * h, lanes) : _mm256_loadu_ps(br[q] + s + 8 * h);
      for (int r = 0; r < 2; r++) t[r][q][h] = _mm256_fmadd_ps(x[r], y, t[r][q][h]);
    }
  }
}

/// Terms per sub-block of nl_dot_nt_avx2: three rows of B over one (12 kB) stay in the L1 cache while the rows
/// of A stream past them.
#define NL_AVX2_SUB_K 1024
/// Rows of A up to which nl_dot_nt_avx2 sub-blocks long rows (its parked partial sums, on the stack, are
/// 192 bytes a row); with more, each tile takes all of k at once.
#define NL_AVX2_SUB_ROWS 256

/// nl_dot_nt_avx512's sums on AVX2: each output's 16 lanes held as two 8-lane halves (lane l the terms l, l + 16,
/// ... in k order, zeros past k), then reduced by the same tree (reduce8x2). So the same bits as the AVX-512
/// kernel, whatever the blocking (sub-blocks only park partial sums). Tiles of 2 rows of A x 3 of B (twelve
/// accumulators): three rows of B at a time, against each pair of rows of A in turn, so that B's rows are
/// read from the L1 cache and only A's stream from L2 (2 x 2 tiles, a row of A against each row of B, read two
/// vectors from L2 per four multiply-adds: the AVX2 path's weight gradients ran at 0.7x numpy's rate).
NL_AVX2
void nl_dot_nt_avx2(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc) {
  if (row_end <= row_begin || n <= 0) return;
  const long full_end = k - k % 16, tail = k - full_end;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i low = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tail), lane);
  const __m256i high = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tail - 8), lane);
  const long sub = k > NL_AVX2_SUB_K && row_end - row_begin <= NL_AVX2_SUB_ROWS ? NL_AVX2_SUB_K : k;
  __m256 park[sub < k ? NL_AVX2_SUB_ROWS / 2 : 1][2][3][2];
  for (long j0 = 0; j0 < n; j0 += 3) {
    // A row of B past the end repeats the last; its sums are never written.
    const float *br[3] = {b + j0 * ldb, b + min_l(j0 + 1, n - 1) * ldb, b + min_l(j0 + 2, n - 1) * ldb};
    for (long s0 = 0; s0 < k; s0 += sub) {
      const long s1 = min_l(k, s0 + sub), vector_end = min_l(s1, full_end);
      for (long i0 = row_begin, pair = 0; i0 < row_end; i0 += 2, pair++) {
        // Likewise a row of A past the end.
        const float *ar[2] = {a + i0 * lda, a + min_l(i0 + 1, row_end - 1) * lda};
        __m256 t[2][3][2];
        for (int r = 0; r < 2; r++)
          for (int q = 0; q < 3; q++)
            for (int h = 0; h < 2; h++) t[r][q][h] = s0 == 0 ? _mm256_setzero_ps() : park[pair][r][q][h];
        for (long s = s0; s < vector_end; s += 16) dot_avx2_step(t, ar, br, s, 0, low, high);
        if (s1 < k) {
          for (int r = 0; r < 2; r++)
            for (int q = 0; q < 3; q++)
              for (int h = 0; h < 2; h++) park[pair][r][q][h] = t[r][q][h];
          continue;
        }
        if (tail > 0) dot_avx2_step(t, ar, br, full_end, 1, low, high);
        for (int r = 0; r < 2 && i0 + r < row_end; r++)
          for (int q = 0; q < 3 && j0 + q < n; q++) c[(i0 + r) * ldc + j0 + q] += reduce8x2(t[r][q][0], t[r][q][1]);
      }
    }
  }
}

// MARK: - Peak-rate probes

/// Twelve independent chains of fused multiply-adds on VEC, summed into `s` at the end.
#define NL_FMA_CHAINS(VEC, SET1, FMADD, ADD)                                                                 \
  VEC acc[12];                                                                                               \
  for (int x = 0; x < 12; x++) acc[x] = SET1(seed + (float)x);                                               \
  const VEC m = SET1(0.999999f), add = SET1(1e-7f);                                                          \
  for (long i = 0; i < iterations; i++)                                                                      \
    for (int x = 0; x < 12; x++) acc[x] = FMADD(acc[x], m, add);                                             \
  VEC s = acc[0];                                                                                            \
  for (int x = 1; x < 12; x++) s = ADD(s, acc[x]);

NL_AVX512
float nl_fma_loop_avx512(long iterations, float seed) {
  NL_FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps)
  return _mm512_reduce_add_ps(s);
}

NL_AVX2
float nl_fma_loop_avx2(long iterations, float seed) {
  NL_FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps)
  float lanes[8], total = 0;
  _mm256_storeu_ps(lanes, s);
  for (int x = 0; x < 8; x++) total += lanes[x];
  return total;
}


// MARK: - The block loop

/// Copies a tile's columns j ..< j + width between `tile` (nr floats a row) and C in runs, piece by piece
/// (each piece within one run): into the tile with `in`, else out of it.
static inline void copy_pieces(float *tile, long nr, float *c, long ldc, long j, long width, long height, long run_length,
                               long run_stride, int in) {
  for (long q = 0; q < width;) {
    const long at = (j + q) % run_length, count = width - q < run_length - at ? width - q : run_length - at;
    float *piece = c + ((j + q) / run_length) * run_stride + at;
    for (long r = 0; r < height; r++) {
      if (in) memcpy(tile + r * nr + q, piece + r * ldc, (size_t)count * sizeof(float));
      else memcpy(piece + r * ldc, tile + r * nr + q, (size_t)count * sizeof(float));
    }
    q += count;
  }
}

/// Every tile of one block (see nl_gemm_block in nl_gemm.h) with the micro-kernel TILE (MR x NR) inlined (the
/// float32 ones; the bfloat16 kernel, in nl_bf16.c, is called once per tile, its k blocks being long):
/// panel jr of B against each panel of A in turn, so that B's panel stays in the L1 cache while A's block
/// streams from L2. (A call per tile cost 5-7% where k is short: a first convolution's 27 terms.)
#define NL_BLOCK_LOOP(TILE, MR, NR)                                                                           \
  float tile[MR * NR];                                                                                       \
  for (long jr = 0; jr < ncb; jr += NR) {                                                                    \
    const long width = ncb - jr < NR ? ncb - jr : NR, j = j0 + jr;                                           \
    const int full = width == NR;                                                                            \
    const float *panel_b = b_in_place ? (full ? b_in_place + jr : b) : b + (jr / NR) * words * NR;          \
    const long step = b_in_place && full ? ldb : NR;                                                         \
    /* Where column j of C is (in runs: run j / length, then j % length into it), and whether the tile's     \
       columns straddle two runs (then it goes through `tile`, copied piece by piece). */                    \
    const long offset = run_length ? (j / run_length) * run_stride + j % run_length : j;                     \
    const int straddles = run_length && j / run_length != (j + width - 1) / run_length;                      \
    for (long ir = 0; ir < mcb; ir += MR) {                                                                  \
      const long height = mcb - ir < MR ? mcb - ir : MR;                                                     \
      const float *panel_a = a + (ir / MR) * words * MR;                                                     \
      const float *row_bias = bias ? bias + ir : NULL;                                                       \
      if (!straddles) {                                                                                      \
        TILE(words, panel_a, panel_b, step, c + ir * ldc + offset, ldc, height, width, accumulate, row_bias); \
        continue;                                                                                            \
      }                                                                                                      \
      /* Through the tile: C's pieces in (when adding to them), the product, the pieces back out. */         \
      if (accumulate) copy_pieces(tile, NR, c + ir * ldc, ldc, j, width, height, run_length, run_stride, 1);  \
      TILE(words, panel_a, panel_b, step, tile, NR, height, width, accumulate, row_bias);                    \
      copy_pieces(tile, NR, c + ir * ldc, ldc, j, width, height, run_length, run_stride, 0);                 \
    }                                                                                                        \
  }

#define NL_BLOCK_ARGS                                                                                        \
  long words, long mcb, long ncb, const float *a, const float *b, const float *b_in_place, long ldb, float *c,    \
  long ldc, long j0, long run_length, long run_stride, int accumulate, const float *bias

static inline void tile_bf16_8x32(NL_TILE_ARGS) {
  nl_gemm_bf16_8x32(kc, (const uint32_t *)a, (const uint32_t *)b, c, ldc, rows, columns, accumulate, bias);
}
NL_AVX2 static void block_avx2_6x16(NL_BLOCK_ARGS) { NL_BLOCK_LOOP(tile_avx2_6x16, 6, 16) }
NL_AVX512 static void block_avx512_12x32(NL_BLOCK_ARGS) { NL_BLOCK_LOOP(tile_avx512_12x32, 12, 32) }
NL_AVX512 static void block_avx512_8x32(NL_BLOCK_ARGS) { NL_BLOCK_LOOP(tile_avx512_8x32, 8, 32) }
static void block_bf16_8x32(NL_BLOCK_ARGS) { NL_BLOCK_LOOP(tile_bf16_8x32, 8, 32) }

void nl_gemm_block(int kernel, long words, long mcb, long ncb, const float *a, const float *b, const float *b_in_place,
                   long ldb, float *c, long ldc, long j0, long run_length, long run_stride, int accumulate,
                   const float *bias) {
  switch (kernel) {
  case 0: block_avx2_6x16(words, mcb, ncb, a, b, b_in_place, ldb, c, ldc, j0, run_length, run_stride, accumulate, bias); break;
  case 1: block_avx512_12x32(words, mcb, ncb, a, b, b_in_place, ldb, c, ldc, j0, run_length, run_stride, accumulate, bias); break;
  case 2: block_avx512_8x32(words, mcb, ncb, a, b, b_in_place, ldb, c, ldc, j0, run_length, run_stride, accumulate, bias); break;
  case 3: block_bf16_8x32(words, mcb, ncb, a, b, b_in_place, ldb, c, ldc, j0, run_length, run_stride, accumulate, bias); break;
  default: abort();  // no such kernel: a caller's bug
  }
}

#else
void nl_gemm_avx2_6x16(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias) {}
void nl_gemm_avx512_8x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                         int accumulate, const float *bias) {}
void nl_gemm_avx512_12x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                          int accumulate, const float *bias) {}
void nl_dot_nt_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, void *scratch, long block_k) {}
void nl_dot_nt_runs_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, long run,
                           long run_stride, const float *b, long ldb, float *c, long ldc, void *scratch, long block_k) {}
void nl_dot_nt_avx2(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc) {}
float nl_fma_loop_avx512(long iterations, float seed) { return seed; }
float nl_fma_loop_avx2(long iterations, float seed) { return seed; }
void nl_gemm_block(int kernel, long words, long mcb, long ncb, const float *a, const float *b, const float *b_in_place,
                   long ldb, float *c, long ldc, long j0, long run_length, long run_stride, int accumulate,
                   const float *bias) {
  abort();  // never called: kernels with a block number exist only on x86-64
}
#endif
