// The processor's features, for choosing a GEMM micro-kernel at run time.
#include "nl_cpu.h"

int nl_cpu_has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

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
