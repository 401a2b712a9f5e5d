// Vector maths for the activations (see nl_vecmath.h): one source (nl_vecmath_body.h) compiled three times,
// for 16 lanes under AVX-512, 8 under AVX2 + FMA and 4 in portable generic vectors.
#include "nl_vecmath.h"
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#endif

// No contraction of a * b + c into a fused multiply-add behind our back: it would differ between the builds
// (the portable one has no FMA instruction). Every fused multiply-add is written out.
#pragma STDC FP_CONTRACT OFF

typedef float nl_vf4 __attribute__((ext_vector_type(4)));
typedef int nl_vi4 __attribute__((ext_vector_type(4)));
typedef float nl_vf8 __attribute__((ext_vector_type(8)));
typedef int nl_vi8 __attribute__((ext_vector_type(8)));
typedef float nl_vf16 __attribute__((ext_vector_type(16)));
typedef int nl_vi16 __attribute__((ext_vector_type(16)));

#define VW 4
#define VF nl_vf4
#define VI nl_vi4
#define NL_NAME(name) name##_portable
#include "nl_vecmath_body.h"
#undef VW
#undef VF
#undef VI
#undef NL_NAME

#if defined(__x86_64__) && defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VW 8
#define VF nl_vf8
#define VI nl_vi8
#define NL_NAME(name) name##_avx2
#include "nl_vecmath_body.h"
#undef VW
#undef VF
#undef VI
#undef NL_NAME
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)
#define VW 16
#define VF nl_vf16
#define VI nl_vi16
#define NL_NAME(name) name##_avx512
#include "nl_vecmath_body.h"
#undef VW
#undef VF
#undef VI
#undef NL_NAME
#pragma clang attribute pop
#else
void nl_vmath_avx512(int function, const float *x, float *y, long n) { nl_vmath_portable(function, x, y, n); }
void nl_vmath_avx2(int function, const float *x, float *y, long n) { nl_vmath_portable(function, x, y, n); }
void nl_vmath_grad_avx512(int function, const float *g, const float *x, float *dx, long n) { nl_vmath_grad_portable(function, g, x, dx, n); }
void nl_vmath_grad_avx2(int function, const float *g, const float *x, float *dx, long n) { nl_vmath_grad_portable(function, g, x, dx, n); }
#endif
