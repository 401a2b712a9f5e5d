#ifndef NL_CPU_H
#define NL_CPU_H
/// 1 when the processor runs AVX-512 F, BW, DQ and VL instructions and FMA (and the OS saves their registers);
/// 0 elsewhere, and on every other architecture.
int nl_cpu_has_avx512(void);

/// 1 when the processor runs AVX2 and FMA instructions; 0 elsewhere, and on every other architecture.
int nl_cpu_has_avx2_fma(void);

/// AVX-512 (as above) and AVX512_BF16 (VDPBF16PS, VCVTNE2PS2BF16): the bfloat16 kernels.
int nl_cpu_has_avx512_bf16(void);

/// Keeps large freed blocks in the heap (glibc's mallopt), so big tensors reuse memory instead of taking
/// fresh, zeroed pages from the kernel every time. Does nothing on other C libraries.
void nl_keep_large_blocks(void);
#endif
