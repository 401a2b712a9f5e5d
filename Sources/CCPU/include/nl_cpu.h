#ifndef NL_CPU_H
#define NL_CPU_H
/// 1 when the processor runs AVX-512 F, BW, DQ and VL instructions (and the OS saves their registers).
int nl_cpu_has_avx512(void);
#endif
