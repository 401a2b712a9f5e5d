#ifndef NL_LANES_H
#define NL_LANES_H
// Lane masks for the 16-lane AVX-512 kernels (nl_kernels.c, nl_bf16.c), plain C, and the one 16-lane sum the
// float32 and bfloat16 dot products share (nl_gemm.c, nl_bf16.c).

/// The first `count` of 16 lanes (none when count <= 0, all from 16 on).
static inline unsigned short first_lanes(long count) {
  return count <= 0 ? 0 : count >= 16 ? 0xFFFF : (unsigned short)((1u << count) - 1);
}

/// Lanes lo ..< hi of 16 (clamped).
static inline unsigned short lane_range(long lo, long hi) {
  if (lo < 0) lo = 0;
  if (hi > 16) hi = 16;
  return hi <= lo ? 0 : (unsigned short)(first_lanes(hi) & ~first_lanes(lo));
}

/// Whether a window is "same" and small enough for the masks below: stride 1 (the caller's to check), square,
/// kh = 2 pad + 1 (so the output plane is the input's), at most 7x7, on planes of at most 1,024 positions.
static inline int same_window_fits(long height, long width, long oh, long ow, long kh, long kw, long pad) {
  return oh == height && ow == width && kh == 2 * pad + 1 && kw == kh && kh <= 7 && height * width <= 1024;
}

/// For a "same" window (same_window_fits): each window position k = ki kw + kj shifts the plane by
/// shift[k] = (ki - pad) width + (kj - pad), and valid[k][b] holds the lanes of the plane's 16-position block b
/// for which that shift stays inside the image: direction +1 for the unfold (position p reads p + shift[k]),
/// -1 for the fold (position p takes from p - shift[k]). Returns the number of blocks.
static inline long same_window_masks(long height, long width, long kh, long pad, int direction, long shift[49],
                                     unsigned short valid[49][64]) {
  const long plane = height * width, blocks = (plane + 15) / 16;
  for (long k = 0; k < kh * kh; k++) {
    const long dy = direction * (k / kh - pad), dx = direction * (k % kh - pad);
    shift[k] = (k / kh - pad) * width + (k % kh - pad);
    long y = 0, x = 0;
    for (long b = 0; b < blocks; b++) {
      unsigned m = 0;
      for (long l = 0; l < 16 && 16 * b + l < plane; l++) {
        if (y + dy >= 0 && y + dy < height && x + dx >= 0 && x + dx < width) m |= 1u << l;
        if (++x == width) { x = 0; y++; }
      }
      valid[k][b] = (unsigned short)m;
    }
  }
  return blocks;
}

/// The direct convolution's taps (nl_conv_direct and its AVX2 twin): offsets[j] of tap j = (c, ky, kx), in that
/// order, from an output row's first input value; returns their count, or 0 for the shapes the kernels refuse
/// (output rows of 16 or fewer values, or more than 32; more than 256 taps).
static inline long direct_taps(long channels, long height, long width, long kh, long kw, long ow, long offsets[256]) {
  const long kdim = channels * kh * kw;
  if (ow <= 16 || ow > 32 || kdim > 256 || kdim < 1) return 0;
  for (long ci = 0, j = 0; ci < channels; ci++)
    for (long ky = 0; ky < kh; ky++)
      for (long kx = 0; kx < kw; kx++) offsets[j++] = (ci * height + ky) * width + kx;
  return kdim;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
/// The sum of sixteen lanes held as two halves (lanes 0-7 in `low`, 8-15 in `high`) as a tree: halves,
/// quarters, eighths, then the last two. A fixed order: every dot-product kernel reduces this way (the AVX2 one
/// on its two halves, the AVX-512 ones through reduce16), so they give the same bits.
__attribute__((target("avx"))) static inline float reduce8x2(__m256 low, __m256 high) {
  const __m256 eight = _mm256_add_ps(low, high);
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}
/// reduce8x2 of a vector's two halves.
__attribute__((target("avx512f,avx512dq"))) static inline float reduce16(__m512 v) {
  return reduce8x2(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}
#endif
#endif
