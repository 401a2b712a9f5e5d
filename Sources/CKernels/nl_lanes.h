#ifndef NL_LANES_H
#define NL_LANES_H
// Lane masks for the 16-lane AVX-512 kernels (nl_kernels.c, nl_bf16.c): plain C, shared by both.

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
#endif
