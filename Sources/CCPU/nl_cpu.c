// The processor's features, for choosing the GEMM's micro-kernels at run time (any other architecture: none).
#include "nl_cpu.h"
// Any C library header defines __GLIBC__ (below) where the library is glibc: without one it never is.
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
int nl_cpu_has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}

int nl_cpu_has_avx2_fma(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int nl_cpu_has_avx512_bf16(void) {
  __builtin_cpu_init();
  return nl_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
}
#else
int nl_cpu_has_avx512(void) { return 0; }
int nl_cpu_has_avx2_fma(void) { return 0; }
int nl_cpu_has_avx512_bf16(void) { return 0; }
#endif

#if defined(__GLIBC__)
#include <malloc.h>
void nl_keep_large_blocks(void) {
  // 32 MiB is the largest threshold glibc accepts on 64-bit systems (a larger value is refused); larger
  // blocks (a batch of 512 first-layer activations is 47 MB) would still be mapped and unmapped each time,
  // so no block is mapped on its own at all: every one comes from the heap, which is never trimmed.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#else
void nl_keep_large_blocks(void) {}
#endif
