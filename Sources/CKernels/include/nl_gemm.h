#ifndef NL_GEMM_H
#define NL_GEMM_H
#include <stdint.h>
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

/// One block of the blocked product: every MR x NR tile of an mcb x ncb block of C (+)= A's panels (mr rows of
/// `words` steps each, packed) times B's, by micro-kernel `kernel` (0 avx2-6x16, 1 avx512-12x32, 2 avx512-8x32,
/// 3 bfloat16 8x32, `words` then counting pairs). B's panels are packed at `b` (words * NR values each), or,
/// with `b_in_place`, its full panels are read in place (`ldb` apart a step) and only the ragged last one is
/// packed, at `b`. `c` is the block's first row (rows `ldc` apart) and its columns are C's j0 ..< j0 + ncb:
/// column j at j, or, with `run_length` > 0, in runs of that many columns `run_stride` floats apart (run
/// j / run_length, then j % run_length into it); a tile straddling two runs goes through a buffer. Each tile
/// is the micro-kernel's arithmetic (inlined for the float32 kernels, a call for the bfloat16 one), as the
/// Swift loop's call per tile did it, so the same bits.
void nl_gemm_block(int kernel, long words, long mcb, long ncb, const float *a, const float *b, const float *b_in_place,
                   long ldb, float *c, long ldc, long j0, long run_length, long run_stride, int accumulate,
                   const float *bias);
/// C[i, j] += dot(A row i, B row j) for rows row_begin ..< row_end of C and its n columns, A and B row-major
/// with k contiguous terms (A·Bᵀ: a convolution's weight gradient). Nothing is packed: a 4 x 4 tile of
/// outputs keeps sixteen 16-lane partial sums in registers while it streams four rows of A and four of B.
/// k is cut into blocks of `block_k` terms (B's block stays in L2 while the row tiles pass over it) and
/// sub-blocks of 1,024 (a row tile's four rows stay in L1); between sub-blocks the partial sums wait in
/// `scratch` (64 bytes x 16 per 4 x 4 tile, rows and columns rounded up to 4). Each output's lanes add their
/// terms in k order and are summed as a tree at the end: the result does not depend on how rows are shared.
void nl_dot_nt_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, void *scratch, long block_k);
/// nl_dot_nt_avx512 on AVX2 + FMA: the same lanes (two 8-lane halves per output) and the same final tree, so
/// the same bits; no blocking (it only parks partial sums), C added to.
void nl_dot_nt_avx2(long row_begin, long row_end, long n, long k, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc);
/// nl_dot_nt_avx512 with each row of A in runs: k / run runs of `run` terms (at least 16, dividing k), run i
/// at i * run_stride from the row's start (a convolution's output gradient read in place, image by image,
/// instead of copied into contiguous rows). The same operations on the same terms: the same bits as on the
/// rows copied out whole.
void nl_dot_nt_runs_avx512(long row_begin, long row_end, long n, long k, const float *a, long lda, long run,
                           long run_stride, const float *b, long ldb, float *c, long ldc, void *scratch, long block_k);

/// Peak-rate probes: `iterations` rounds of 12 independent fused multiply-adds on 16 lanes (AVX-512, 384
/// flops a round) or 8 lanes (AVX2, 192 flops a round). The result only keeps the loop alive.
float nl_fma_loop_avx512(long iterations, float seed);
float nl_fma_loop_avx2(long iterations, float seed);

// MARK: - bfloat16 (call only where nl_cpu_has_avx512_bf16() is 1)

/// Mixed precision on AVX512_BF16: operands rounded to bfloat16 (8 significant bits, float32's range; round to
/// nearest even, denormals to zero, as VCVTNEPS2BF16), products summed in float32 by VDPBF16PS, which does two
/// multiply-adds per 32-bit lane: twice the arithmetic of a float32 FMA per instruction. Operands are stored
/// as pairs: one 32-bit word holds the bfloat16 values of terms 2p (low half) and 2p + 1 (high half).

/// A's block [mc x kc] (A(i, p) = a[i * lda + p], or a[p * lda + i] with `trans`) as 8-row panels of pairs:
/// out[panel * kp * 8 + p2 * 8 + r] = (A(8 panel + r, 2 p2), A(8 panel + r, 2 p2 + 1)), kp = (kc + 1) / 2; zeros
/// past the edges.
void nl_pack_a_bf16(long mc, long kc, const float *a, long lda, int trans, uint32_t *out);
/// B's block [kc x nc] (B(p, j) = b[p * ldb + j], or b[j * ldb + p] with `trans`) as 32-column panels of pairs:
/// out[panel * kp * 32 + p2 * 32 + q] = (B(2 p2, 32 panel + q), B(2 p2 + 1, 32 panel + q)); zeros past the edges.
void nl_pack_b_bf16(long kc, long nc, const float *b, long ldb, int trans, uint32_t *out);
/// The 8 x 32 micro-kernel over kp packed pairs (contract as nl_gemm_avx512_8x32's, with `b` packed).
void nl_gemm_bf16_8x32(long kp, const uint32_t *a, const uint32_t *b, float *c, long ldc, long rows, long columns,
                       int accumulate, const float *bias);
/// Rows of n floats (`lds` apart) as rows of `words` pairs (zeros past n; words >= (n + 1) / 2).
void nl_rows_to_bf16(long rows, long n, const float *src, long lds, uint32_t *dst, long words);
/// C[i, j] += dot(A row i, B row j) over `words` pairs (a multiple of 16), i < m, j < n: A·Bᵀ from rows made by
/// nl_rows_to_bf16. Each output's sixteen lanes are summed as a tree at the end, in a fixed order.
void nl_dot_nt_bf16(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                    long ldc);
/// C (+)= A·Bᵀ for rows of pairs (as nl_dot_nt_bf16's, any `words`) through the packed 8 x 32 micro-kernel: each
/// output summed lane-wise in pair order, no reduction at the end (for short rows, where the dot products'
/// final sums would cost as much as the products). `scratch` holds ((m + 7) / 8 * 8 + 32) * words words.
/// `accumulate` adds to C, else overwrites it.
void nl_gemm_bf16_nt(long m, long n, long words, const uint32_t *a, long lda, const uint32_t *b, long ldb, float *c,
                     long ldc, int accumulate, uint32_t *scratch);
/// im2col for stride 1 and any padding (as nl_unfold_padded) straight into bfloat16: row r of the columns at
/// cols + r * row_stride (in 16-bit values), image i's positions from i * oh * ow, zeros from images * oh * ow
/// up to row_stride (even: the rows are then rows of pairs for nl_dot_nt_bf16). Returns 1 (0 where not built).
int nl_unfold_padded_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                          long kw, long pad, long oh, long ow, uint16_t *cols, long row_stride);
/// im2col straight into B's packed panels (nl_pack_b_bf16's layout, the same bits as nl_unfold_padded then
/// nl_pack_b_bf16) for "same" windows (kh = kw = 2 pad + 1, stride 1: the output plane is the input's): B is
/// [channels * kh * kw x images * height * width]; its pairs in k blocks of `block_pairs`, block b's panels from
/// out + b * block_pairs * panels * 32 (panels = ceil(columns / 32)), each of min(block_pairs, pairs left) * 32
/// words. Returns 1 (0 for other windows, or where not built).
int nl_unfold_pack_bf16(const float *x, long images, long image_size, long channels, long height, long width, long kh,
                        long kw, long pad, long block_pairs, uint32_t *out);
/// The bfloat16 peak probe: `iterations` rounds of 12 independent VDPBF16PS on 16 lanes (768 flops a round:
/// each lane does two multiply-adds).
float nl_bf16_dot_loop(long iterations, float seed);
#endif
