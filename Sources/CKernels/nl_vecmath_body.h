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
/// Clamp to [lo, hi] (a NaN becomes lo: callers put NaN back at the end).
INLINE VF S(clamp)(VF a, float lo, float hi) {
  VF l = lo, h = hi;
  a = S(sel)(a > l, a, l);
  return S(sel)(a < h, a, h);
}

/// e^(hi + lo) as p 2^k with p in [0.7, 1.42]: hi clamped to [-110, 100] (beyond, e^x is 0 or inf after
/// scaling); lo a small correction (|lo| < ulp(hi)).
INLINE VF S(exp_core)(VF hi, VF lo, VI *k) {
  hi = S(clamp)(hi, -110.0f, 100.0f);
  const VF magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer (nearest, ties to even)
  VF t = S(fma)(hi, (VF)1.44269504088896341f, magic);
  VF kf = t - magic;
  *k = (VI)t - (VI)magic;
  VF r = S(fma)(kf, (VF)-0.693359375f, hi);
  r = S(fma)(kf, (VF)2.12194440e-4f, r);
  r = r + lo;
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

INLINE VF S(nan_back)(VF x, VF y) { return S(sel)(x != x, x, y); }

INLINE VF S(exp)(VF x) {
  VI k;
  VF p = S(exp_core)(x, (VF)0.0f, &k);
  return S(nan_back)(x, S(scale)(p, k));
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
/// with d = 1 + e^-|x|. `num` is 1 (k = 0) for x >= 0 and p (e^x = p 2^k) below.
INLINE void S(sigmoid_parts)(VF x, VF *num, VF *d, VI *k, VF *e) {
  VI kk;
  VF p = S(exp_core)(-S(abs)(x), (VF)0.0f, &kk);
  *e = S(scale)(p, kk);
  *d = 1.0f + *e;
  VI pos = x >= 0.0f;
  *num = S(sel)(pos, (VF)1.0f, p);
  *k = ~pos & kk;
}

INLINE VF S(sigmoid)(VF x) {
  VF num, d, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &e);
  return S(nan_back)(x, S(scale)(num / d, k));
}

INLINE VF S(silu)(VF x) {
  VF num, d, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &e);
  // Below -200 the true value rounds to -0 anyway; the clamp keeps -inf from giving -inf * 0.
  VF xc = S(sel)(x < -200.0f, (VF)-200.0f, x);
  return S(nan_back)(x, S(scale)((xc * num) / d, k));
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
  VF p = S(exp_core)(a + a, (VF)0.0f, &k);
  VF far = 1.0f - 2.0f / (S(scale)(p, k) + 1.0f);
  VF v = S(sel)(a < 0.625f, near, far);
  v = (VF)(((VI)v & 0x7fffffff) | ((VI)x & (VI)0x80000000));  // x's sign (also for -0)
  return S(nan_back)(x, v);
}

/// Φ(x), the normal CDF, for |x| >= 1 (x clamped to [-20, 20]), as q = ½ erfc(|x| / √2) = qm 2^k, and the
/// density's e^{-x²/2} = p 2^k: erfc(t) = e^{-t²} g(t) / (1 + 2t) with g(t) = (1 + 2t) e^{t²} erfc(t), a smooth
/// function between 1.28 and 2/√π, by a degree-10 polynomial in y = (t − 2) / (t + 2) (fitted over t >= 0.7 to
/// a relative error of 7e-8 with the coefficients in float). x² is split into x*x and its rounding error (a
/// fused multiply-add) so that e^{-x²/2} keeps its accuracy where x²/2 is large.
INLINE void S(normal_tail)(VF xc, VF *qm, VF *p, VI *k) {
  VF h = xc * xc, l = S(fma)(xc, xc, -h);
  *p = S(exp_core)(-0.5f * h, -0.5f * l, k);
  VF t = S(abs)(xc) * 0.70710678118654752f;
  VF y = (t - 2.0f) / (t + 2.0f);
  VF g = (VF)2.525570744e-04f;
  g = S(fma)(g, y, (VF)-2.762439253e-04f);
  g = S(fma)(g, y, (VF)-1.553571667e-03f);
  g = S(fma)(g, y, (VF)1.209240640e-03f);
  g = S(fma)(g, y, (VF)8.763451129e-03f);
  g = S(fma)(g, y, (VF)-8.025317453e-03f);
  g = S(fma)(g, y, (VF)-5.422617495e-02f);
  g = S(fma)(g, y, (VF)1.640507430e-01f);
  g = S(fma)(g, y, (VF)-1.660300791e-01f);
  g = S(fma)(g, y, (VF)-9.276381135e-02f);
  g = S(fma)(g, y, (VF)1.276978374e+00f);
  *qm = (0.5f * g * *p) / S(fma)(t, (VF)2.0f, (VF)1.0f);
}

/// Φ(x) for |x| < 1: ½ + x R(x²) with R(s) = erf(√(s/2)) / (2√s) by a degree-6 polynomial (relative error
/// 8e-8 in float).
INLINE VF S(normal_center)(VF x) {
  VF s = x * x;
  VF r = (VF)5.366629807e-07f;
  r = S(fma)(r, s, (VF)-9.271473573e-06f);
  r = S(fma)(r, s, (VF)1.153158810e-04f);
  r = S(fma)(r, s, (VF)-1.187285176e-03f);
  r = S(fma)(r, s, (VF)9.973549284e-03f);
  r = S(fma)(r, s, (VF)-6.649038196e-02f);
  r = S(fma)(r, s, (VF)3.989422917e-01f);
  return S(fma)(x, r, (VF)0.5f);
}

/// GELU(x) = x Φ(x) (the exact definition, with erf): x Φ(x) for |x| < 1, else x q below zero and x (1 − q)
/// above.
INLINE VF S(gelu)(VF x) {
  VF xc = S(clamp)(x, -20.0f, 20.0f), qm, p;
  VI k;
  S(normal_tail)(xc, &qm, &p, &k);
  VF neg = S(scale)(xc * qm, k);
  VF pos = x * (1.0f - S(scale)(qm, k));
  VF center = x * S(normal_center)(xc);
  VF y = S(sel)(S(abs)(x) < 1.0f, center, S(sel)(x < 0.0f, neg, pos));
  return S(nan_back)(x, y);
}

/// GELU'(x) = Φ(x) + x φ(x), φ(x) = e^{-x²/2} / √(2π).
INLINE VF S(gelu_grad)(VF x) {
  VF xc = S(clamp)(x, -20.0f, 20.0f), qm, p;
  VI k;
  S(normal_tail)(xc, &qm, &p, &k);
  VF q = S(scale)(qm, k);
  VF cdf = S(sel)(S(abs)(x) < 1.0f, S(normal_center)(xc), S(sel)(x < 0.0f, q, 1.0f - q));
  VF pdf = S(scale)(p * 0.398942280401432678f, k);
  return S(nan_back)(x, S(fma)(xc, pdf, cdf));
}

/// SiLU'(x) = σ(x) (1 + x (1 − σ(x))), with 1 − σ(x) = σ(−x) from the same exponential (no cancellation).
INLINE VF S(silu_grad)(VF x) {
  VF num, d, e;
  VI k;
  S(sigmoid_parts)(x, &num, &d, &k, &e);
  VF s = S(scale)(num / d, k);
  VF rest = S(sel)(x >= 0.0f, e, (VF)1.0f) / d;
  VF xc = S(clamp)(x, -200.0f, 200.0f);
  return S(nan_back)(x, s * S(fma)(xc, rest, (VF)1.0f));
}

#define NL_VM_LOOP(F)                                                         \
  {                                                                           \
    long i = 0;                                                               \
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
