// The processor's features, for choosing the GEMM's micro-kernels at run time (any other architecture: none).
#include "nl_cpu.h"

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
#else
int nl_cpu_has_avx512(void) { return 0; }
int nl_cpu_has_avx2_fma(void) { return 0; }
#endif

#if defined(__GLIBC__)
#include <malloc.h>
void nl_keep_large_blocks(void) {
  // 32 MiB is the largest threshold glibc accepts on 64-bit systems (a larger value is refused).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#else
void nl_keep_large_blocks(void) {}
#endif
