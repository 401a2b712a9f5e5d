#ifndef NL_CPU_H
#define NL_CPU_H
/// 1 when the processor runs AVX-512 F, BW, DQ and VL instructions (and the OS saves their registers).
int nl_cpu_has_avx512(void);


/// Keeps large freed blocks in the heap (glibc's mallopt), so big tensors reuse memory instead of taking
/// fresh, zeroed pages from the kernel every time. Does nothing on other C libraries.
void nl_keep_large_blocks(void);
#endif
