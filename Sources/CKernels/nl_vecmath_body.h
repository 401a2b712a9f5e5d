// The vector maths of nl_vecmath.c for one lane count: included once per build with VW (lanes), VF and VI (the
// float and int vector types) and NL_NAME (the suffix) defined. Not a public header.
//
// exp: e^x = 2^k e^r with k = round(x / ln 2) and r = x − k ln 2 (ln 2 in two parts, Cody-Waite), e^r by
// Cephes' degree-7 polynomial (1 + r + r² P(r)), 2^k applied by two exact multiplications by powers of two so
// that denormal results are rounded once. The helpers keep e^x as (p, k) so that sigmoid, SiLU and GELU can
// multiply and divide p before scaling: their results stay accurate down into the denormals.

#define S(name) NL_NAME(nl_vm_##name)
#define INLINE static inline __attribute__((always_inline))

INLINE VF S(fma)(VF a, VF b, VF c) { return __builtin_elementwise_fma(a, b, c); }
/// m ? a : b, lane by lane (m: all ones or zero).
INLINE VF S(sel)(VI m, VF a, VF b) { return (VF)((m & (VI)a) | (~m & (VI)b)); }
INLINE VF S(abs)(VF a) { return (VF)((VI)a & 0x7fffffff); }
INLINE VF S(load)(const float *p) { VF v; __builtin_memcpy(&v, p, sizeof v); return v; }
INLINE void S(store)(float *p, VF v) { __builtin_memcpy(p, &v, sizeof v); }
/// Clamp to [lo, hi] (a NaN becomes lo: callers put NaN back at the end). On x86, MAXPS and MINPS are exactly
/// these selections (the second operand where either is NaN), one instruction each.
INLINE VF S(clamp)(VF a, float lo, float hi) {
  VF l = lo, h = hi;
#if VW == 16
  return (VF)_mm512_min_ps(_mm512_max_ps((__m512)a, (__m512)l), (__m512)h);
#elif VW == 8
  return (VF)_mm256_min_ps(_mm256_max_ps((__m256)a, (__m256)l), (__m256)h);
#else
  a = S(sel)(a > l, a, l);
  return S(sel)(a < h, a, h);
#endif
}

/// The range reduction of e^x for x in [-110, 100]: x = k ln 2 + r with k = round(x / ln 2) (as an integer and
/// as the float kf) and |r| <= ln 2 / 2 (ln 2 in two parts, Cody-Waite). Returns r.
INLINE VF S(exp_reduce)(VF x, VI *k, VF *kf) {
  const VF magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer (nearest, ties to even)
  VF t = S(fma)(x, (VF)1.44269504088896341f, magic);
  *kf = t - magic;
  *k = (VI)t - (VI)magic;
  VF r = S(fma)(*kf, (VF)-0.693359375f, x);
  return S(fma)(*kf, (VF)2.12194440e-4f, r);
}

/// e^x as p 2^k with p in [0.7, 1.42], k also as the float kf: x clamped to [-110, 100] (beyond, e^x is 0 or
/// inf after scaling).
INLINE VF S(exp_core)(VF x, VI *k, VF *kf) {
  VF r = S(exp_reduce)(S(clamp)(x, -110.0f, 100.0f), k, kf);
  VF y = (VF)1.9875691500e-4f;
  y = S(fma)(y, r, (VF)1.3981999507e-3f);
  y = S(fma)(y, r, (VF)8.3334519073e-3f);
  y = S(fma)(y, r, (VF)4.1665795894e-2f);
  y = S(fma)(y, r, (VF)1.6666665459e-1f);
  y = S(fma)(y, r, (VF)5.0000001201e-1f);
  y = S(fma)(y, r * r, r);
  return y + 1.0f;
}

/// v 2^k for k in [-160, 146], by 2^(k/2) then 2^(k - k/2): the first product is exact whenever v is at least
/// 2^-60, so a denormal result is rounded once.
///
/// With AVX-512, one VSCALEFPS does it: v 2^k rounded once, the same value (the two products round only in the
/// second, where the result is denormal), in 2 instructions instead of 8.
INLINE VF S(scale)(VF v, VI k) {
#if VW == 16
  return (VF)_mm512_scalef_ps((__m512)v, (__m512)__builtin_convertvector(k, VF));
#else
  VI k1 = k >> 1, k2 = k - k1;
  VF s1 = (VF)((k1 + 127) << 23), s2 = (VF)((k2 + 127) << 23);
  return v * s1 * s2;
#endif
}

/// v 2^k, given k both as an integer and as the float kf (equal): AVX-512's VSCALEFPS takes kf as it is.
INLINE VF S(scale_kf)(VF v, VI k, VF kf) {
#if VW == 16
  (void)k;
  return (VF)_mm512_scalef_ps((__m512)v, (__m512)kf);
#else
  (void)kf;
  return S(scale)(v, k);
#endif
}

INLINE VF S(nan_back)(VF x, VF y) { return S(sel)(x != x, x, y); }

INLINE VF S(exp)(VF x) {
  VI k;
  VF kf;
  VF p = S(exp_core)(x, &k, &kf);
  return S(nan_back)(x, S(scale_kf)(p, k, kf));
}

/// Cephes' logf: x = m 2^e with m in [√½, √2), log m = f − f²/2 + f³ P(f) with f = m − 1, plus e ln 2 in two
/// parts. Denormals are scaled by 2^23 first.
INLINE VF S(log)(VF x) {
  VI den = x < 1.17549435e-38f;
  VF xs = S(sel)(den, x * 8388608.0f, x);
  VI bits = (VI)xs;
  VI e = ((bits >> 23) & 0xff) - 126;
  e = e - (den & 23);
  VF m = (VF)((bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  VI small = m < 0.707106781186547524f;
  e = e + small;  // small is -1 where m < √½: then m doubles
  m = S(sel)(small, m + m, m) - 1.0f;
  VF fe = __builtin_convertvector(e, VF);
  VF z = m * m;
  VF y = (VF)7.0376836292e-2f;
  y = S(fma)(y, m, (VF)-1.1514610310e-1f);
  y = S(fma)(y, m, (VF)1.1676998740e-1f);
  y = S(fma)(y, m, (VF)-1.2420140846e-1f);
  y = S(fma)(y, m, (VF)1.4249322787e-1f);
  y = S(fma)(y, m, (VF)-1.6668057665e-1f);
  y = S(fma)(y, m, (VF)2.0000714765e-1f);
  y = S(fma)(y, m, (VF)-2.4999993993e-1f);
  y = S(fma)(y, m, (VF)3.3333331174e-1f);
  y = y * m * z;
  y = S(fma)(fe, (VF)-2.12194440e-4f, y);
  y = S(fma)(z, (VF)-0.5f, y);
  VF r = m + y;
  r = S(fma)(fe, (VF)0.693359375f, r);
  const VF inf = __builtin_inff();
  r = S(sel)(x == 0.0f, -inf, r);
  r = S(sel)(x < 0.0f, (VF)__builtin_nanf(""), r);
  r = S(sel)(x == inf, inf, r);
  return S(nan_back)(x, r);
}

/// σ(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, as (numerator, scale k): value = (num / d) 2^k
/// with d = 1 + e^-|x|. `num` is 1 (k = 0) for x >= 0 and p (e^x = p 2^k) below. k also as the float kf.
INLINE void S(sigmoid_parts)(VF x, VF *num, VF *d, VI *k, VF *kf, VF *e) {
  VI kk;
  VF kkf;
  VF p = S(exp_core)(-S(abs)(x), &kk, &kkf);
  *e = S(scale_kf)(p, kk, kkf);
  *d = 1.0f + *e;
  VI pos = x >= 0.0f;
  *num = S(sel)(pos, (VF)1.0f, p);
  *k = ~pos & kk;
  *kf = (VF)(~pos & (VI)kkf);  // +0.0 where x >= 0
}

INLINE VF S(sigmoid)(VF x) {
  VF num, d, kf, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &kf, &e);
  return S(nan_back)(x, S(scale_kf)(num / d, k, kf));
}

INLINE VF S(silu)(VF x) {
  VF num, d, kf, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &kf, &e);
  // Below -200 the true value rounds to -0 anyway; the clamp keeps -inf from giving -inf * 0.
  VF xc = S(sel)(x < -200.0f, (VF)-200.0f, x);
  return S(nan_back)(x, S(scale_kf)((xc * num) / d, k, kf));
}

/// tanh: Cephes' odd polynomial x + x³ P(x²) for |x| < 0.625, else 1 − 2 / (e^{2|x|} + 1) with x's sign.
INLINE VF S(tanh)(VF x) {
  VF a = S(abs)(x);
  VF z = x * x;
  VF y = (VF)-5.70498872745e-3f;
  y = S(fma)(y, z, (VF)2.06390887954e-2f);
  y = S(fma)(y, z, (VF)-5.37397155531e-2f);
  y = S(fma)(y, z, (VF)1.33314422036e-1f);
  y = S(fma)(y, z, (VF)-3.33332819422e-1f);
  VF near = S(fma)(y * z, x, x);
  VI k;
  VF kf;
  VF p = S(exp_core)(a + a, &k, &kf);
  VF far = 1.0f - 2.0f / (S(scale_kf)(p, k, kf) + 1.0f);
  VF v = S(sel)(a < 0.625f, near, far);
  v = (VF)(((VI)v & 0x7fffffff) | ((VI)x & (VI)0x80000000));  // x's sign (also for -0)
  return S(nan_back)(x, v);
}

/// e^(hi + lo) − 1 = em1 with e^(hi + lo) = (1 + em1) 2^k (k also as the float kf), for GELU: hi in [-110, 0]
/// (not clamped), lo a small correction (|lo| < ulp(hi)); e^r − 1 = r + r² P(r) with P of degree 4 (relative
/// error 2e-8 in em1, below 1e-8 in 1 + em1).
INLINE VF S(exp_m1_gelu)(VF hi, VF lo, VI *k, VF *kf) {
  VF r = S(exp_reduce)(hi, k, kf) + lo;
  VF y = (VF)1.3882516650e-03f;
  y = S(fma)(y, r, (VF)8.3665195853e-03f);
  y = S(fma)(y, r, (VF)4.1667200625e-02f);
  y = S(fma)(y, r, (VF)1.6666543484e-01f);
  y = S(fma)(y, r, (VF)4.9999997020e-01f);
  return S(fma)(y, r * r, r);
}

/// The normal distribution's tail q = Φ(−|x|) = ½ erfc(|x| / √2), for x clamped to [-14.8, 14.8] (beyond, Φ(x)
/// is 0 or 1 to float precision). One formula from 0 to 14.8, no branch: with a = |x| and y = (a − 4) / (a + 4),
/// q = e^{-a²/2} (1 − y) G(y), where G(y) = (a + 4) e^{a²/2} erfc(a / √2) / 16 is smooth and bounded (1/4 at
/// a = 0, towards 1/(8√(2π)) far out), so a degree-9 polynomial in y ∈ [−1, 0.58] gives it to a relative error
/// of 2e-8 (1e-7 in float arithmetic). −x²/2 is split into its rounded value and the rounding error (a fused
/// multiply-add) so that e^{-x²/2} keeps its accuracy where x²/2 is large.
///
/// Returns G(y), y, and e^{-x²/2} = (1 + em1) 2^k: q = (1 + em1) (1 − y) G(y) 2^k.
INLINE VF S(normal_tail)(VF xc, VF *em1, VI *k, VF *kf, VF *y) {
  VF m = xc * -0.5f, h = xc * m, l = S(fma)(xc, m, -h);
  *em1 = S(exp_m1_gelu)(h, l, k, kf);
  VF a = S(abs)(xc);
  *y = (a - 4.0f) / (a + 4.0f);
  VF g = (VF)-1.491542935e-05f;
  g = S(fma)(g, *y, (VF)2.576400038e-05f);
  g = S(fma)(g, *y, (VF)1.966101991e-04f);
  g = S(fma)(g, *y, (VF)-4.416805168e-04f);
  g = S(fma)(g, *y, (VF)-9.413684020e-04f);
  g = S(fma)(g, *y, (VF)7.551195566e-03f);
  g = S(fma)(g, *y, (VF)-2.331528813e-02f);
  g = S(fma)(g, *y, (VF)4.839204252e-02f);
  g = S(fma)(g, *y, (VF)-7.598707825e-02f);
  return S(fma)(g, *y, (VF)9.441064298e-02f);
}

/// GELU(x) = x Φ(x) (the exact definition, with erf): x q up to zero (±0 keep their sign) and x − x q above,
/// with x q = (1 + em1) (x − x y) G(y) 2^k. A NaN comes back through x − x q (x q is finite: it comes from the
/// clamped x), as the same quiet NaN on every path.
INLINE VF S(gelu)(VF x) {
  VF xc = S(clamp)(x, -14.8f, 14.8f), em1, kf, y;
  VI k;
  VF g = S(normal_tail)(xc, &em1, &k, &kf, &y);
  VF w = S(fma)(-xc, y, xc) * g;
  VF xq = S(scale_kf)(S(fma)(em1, w, w), k, kf);
  return S(sel)(x <= 0.0f, xq, x - xq);
}

/// GELU'(x) = Φ(x) + x φ(x), φ(x) = e^{-x²/2} / √(2π).
INLINE VF S(gelu_grad)(VF x) {
  VF xc = S(clamp)(x, -14.8f, 14.8f), em1, kf, y;
  VI k;
  VF g = S(normal_tail)(xc, &em1, &k, &kf, &y);
  VF w = S(fma)(-y, g, g);
  VF q = S(scale_kf)(S(fma)(em1, w, w), k, kf);
  VF cdf = S(sel)(x < 0.0f, q, 1.0f - q);
  const VF c = 0.398942280401432678f;
  VF pdf = S(scale_kf)(S(fma)(em1, c, c), k, kf);
  return S(nan_back)(x, S(fma)(xc, pdf, cdf));
}

/// SiLU'(x) = σ(x) (1 + x (1 − σ(x))), with 1 − σ(x) = σ(−x) from the same exponential (no cancellation).
INLINE VF S(silu_grad)(VF x) {
  VF num, d, kf, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &kf, &e);
  VF s = S(scale_kf)(num / d, k, kf);
  VF rest = S(sel)(x >= 0.0f, e, (VF)1.0f) / d;
  VF xc = S(clamp)(x, -200.0f, 200.0f);
  return S(nan_back)(x, s * S(fma)(xc, rest, (VF)1.0f));
}

#define NL_VM_LOOP(F)                                                         \
  {                                                                           \
    long i = 0;                                                               \
    /* Two vectors a step: their independent chains interleave (5-12% faster on a Zen 3). */ \
    for (; i + 2 * VW <= n; i += 2 * VW) {                                    \
      const VF a = F(S(load)(x + i)), b = F(S(load)(x + i + VW));             \
      S(store)(y + i, a);                                                     \
      S(store)(y + i + VW, b);                                                \
    }                                                                         \
    for (; i + VW <= n; i += VW) S(store)(y + i, F(S(load)(x + i)));          \
    if (i < n) {                                                              \
      float in[VW] = {0}, out[VW];                                            \
      for (long j = 0; i + j < n; j++) in[j] = x[i + j];                      \
      S(store)(out, F(S(load)(in)));                                          \
      for (long j = 0; i + j < n; j++) y[i + j] = out[j];                     \
    }                                                                         \
  }

void NL_NAME(nl_vmath)(int function, const float *x, float *y, long n) {
  switch (function) {
  case 0: NL_VM_LOOP(S(exp)) break;
  case 1: NL_VM_LOOP(S(log)) break;
  case 2: NL_VM_LOOP(S(sigmoid)) break;
  case 3: NL_VM_LOOP(S(tanh)) break;
  case 4: NL_VM_LOOP(S(gelu)) break;
  case 5: NL_VM_LOOP(S(silu)) break;
  default: break;
  }
}

#define NL_VM_GRAD_LOOP(F)                                                                \
  {                                                                                       \
    long i = 0;                                                                           \
    for (; i + 2 * VW <= n; i += 2 * VW) {                                                \
      const VF a = S(load)(g + i) * F(S(load)(x + i));                                    \
      const VF b = S(load)(g + i + VW) * F(S(load)(x + i + VW));                          \
      S(store)(dx + i, a);                                                                \
      S(store)(dx + i + VW, b);                                                           \
    }                                                                                     \
    for (; i + VW <= n; i += VW) S(store)(dx + i, S(load)(g + i) * F(S(load)(x + i)));    \
    if (i < n) {                                                                          \
      float in[VW] = {0}, gin[VW] = {0}, out[VW];                                         \
      for (long j = 0; i + j < n; j++) { in[j] = x[i + j]; gin[j] = g[i + j]; }           \
      S(store)(out, S(load)(gin) * F(S(load)(in)));                                       \
      for (long j = 0; i + j < n; j++) dx[i + j] = out[j];                                \
    }                                                                                     \
  }

void NL_NAME(nl_vmath_grad)(int function, const float *g, const float *x, float *dx, long n) {
  switch (function) {
  case 4: NL_VM_GRAD_LOOP(S(gelu_grad)) break;
  case 5: NL_VM_GRAD_LOOP(S(silu_grad)) break;
  default: break;
  }
}

#undef S
#undef INLINE
#undef NL_VM_LOOP
#undef NL_VM_GRAD_LOOP
