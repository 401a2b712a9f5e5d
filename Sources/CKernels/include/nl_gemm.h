#ifndef NL_GEMM_H
#define NL_GEMM_H
/// The GEMM's inner kernels in C intrinsics, each compiled for its instruction set by a per-function target
/// attribute (whatever the package's build flags), so that a build without -march flags still gets them.
/// Call the AVX2 ones only where nl_cpu_has_avx2_fma() is 1 and the AVX-512 ones only where
/// nl_cpu_has_avx512() is 1. Built for another architecture they do nothing (the Swift kernels serve there).
///
/// Each does, term by term, exactly what the Swift kernels it replaced did (one fused multiply-add per term in
/// k order, the same write-back), so the results are the same to the bit.

/// The micro-kernels: the rows x columns corner of the MR x NR tile of C (+)= (MR x kc panel of A)(kc x NR
/// panel of B). `a` holds MR values per step (packed), `b` NR values per step, `ldb` floats apart (NR when
/// packed, B's row stride when read in place). With `accumulate` the tile is added to C (c + tile), else C
/// is overwritten (it need not be cleared); `bias`, when not NULL, adds bias[r] to row r afterwards.
void nl_gemm_avx2_6x16(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias);
void nl_gemm_avx512_8x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                         int accumulate, const float *bias);
void nl_gemm_avx512_12x32(long kc, const float *a, const float *b, long ldb, float *c, long ldc, long rows, long columns,
                          int accumulate, const float *bias);

/// C[i, j] += dot(A row i, B row j) for rows row_begin ..< row_end of C and its n columns, A and B row-major
/// with k contiguous terms (A·Bᵀ: a convolution's weight gradient). Nothing is packed: a 4 x 4 tile of
/// outputs keeps sixteen 16-lane partial sums in registers while it streams four rows of A and four of B.
/// k is cut into blocks of `block_k` terms (B's block stays in L2 while the row tiles pass over it) and
/// sub-blocks of 1,024 (a row tile's four rows stay in L1); between sub-blocks the partial sums wait in
/// `scratch` (64 bytes x 16 per 4 x 4 tile, rows and columns rounded up to 4). Each output's lanes add their
/// terms in k order and are summed as a tree at the end: the result does not depend on how rows are shared.
void nl_dot_nt_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, void *scratch, long block_k);

/// Peak-rate probes: `iterations` rounds of 12 independent fused multiply-adds on 16 lanes (AVX-512, 384
/// flops a round) or 8 lanes (AVX2, 192 flops a round). The result only keeps the loop alive.
float nl_fma_loop_avx512(long iterations, float seed);
float nl_fma_loop_avx2(long iterations, float seed);
#endif
