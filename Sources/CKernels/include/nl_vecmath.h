#ifndef NL_VECMATH_H
#define NL_VECMATH_H
/// Vector maths for the activations: exp, log, sigmoid, tanh, GELU (exact, with erf) and SiLU, by range
/// reduction and polynomials instead of a libm call per value. Three builds of one source: AVX-512 (16 lanes;
/// call only where nl_cpu_has_avx512() is 1), AVX2 + FMA (8 lanes; only where nl_cpu_has_avx2_fma() is 1) and
/// portable C (4 lanes of the compiler's generic vectors, any processor). Every lane does the same operations
/// in the same order with one rounding each (fused multiply-adds, IEEE division), so the three give the same
/// bits for every input, and a value does not depend on where a chunk starts or how long it is. Built for
/// another architecture, the AVX ones run the portable code.
///
/// Accuracy against Float64 over every float (Tests/TensorsTests/VectorMathTests.swift and the README's speed
/// section give the measured bounds): a few ulps where the result is a normal float; results in the denormal
/// range are within a few units of the smallest denormal. NaN gives NaN; ±inf and ±0 give the limits.

/// `function`: 0 exp, 1 log, 2 sigmoid, 3 tanh, 4 gelu (x Φ(x)), 5 silu (x σ(x)); y[i] = f(x[i]) for i < n.
/// x and y may be the same array; otherwise they must not overlap.
void nl_vmath_avx512(int function, const float *x, float *y, long n);
void nl_vmath_avx2(int function, const float *x, float *y, long n);
void nl_vmath_portable(int function, const float *x, float *y, long n);

/// Gradients that need the maths again: `function` 4 gelu (Φ(x) + x φ(x)), 5 silu (σ(x) (1 + x (1 − σ(x))));
/// dx[i] = g[i] f'(x[i]) for i < n (dx may be g).
void nl_vmath_grad_avx512(int function, const float *g, const float *x, float *dx, long n);
void nl_vmath_grad_avx2(int function, const float *g, const float *x, float *dx, long n);
void nl_vmath_grad_portable(int function, const float *g, const float *x, float *dx, long n);
#endif
