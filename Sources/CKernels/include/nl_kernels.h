#ifndef NL_KERNELS_H
#define NL_KERNELS_H
#include <stdint.h>
/// Convolution data movement that needs vector permutes or masked loads and stores (Swift's SIMD types have
/// neither), in AVX-512 intrinsics. Call them only where the processor has AVX-512 (nl_cpu_has_avx512): they
/// are compiled for it whatever the build flags. Built for another architecture they do nothing and return 0.

/// The unfold and fold below serve stride 1, no padding, an output plane of at most 16 values (oh * ow <= 16)
/// whose windows' input rows span at most 32 floats ((oh - 1) * width + kw - 1 + ow <= 32); for other shapes
/// they return 0 and do nothing; 1 when done.

/// im2col for `images` images `image_size` floats apart: row (c, ki, kj) of `cols` (rows `row_stride` floats
/// apart) gets image i's oh x ow window values at columns i * oh * ow ..< (i + 1) * oh * ow. Reads stay
/// before `source_end`.
int nl_unfold_small(const float *x, long images, long image_size, long channels, long height, long width,
                    long kh, long kw, long oh, long ow, float *cols, long row_stride, const float *source_end);

/// The adjoint: adds those columns back into the images' gradient `gx`, in the order of the rows (c, ki, kj),
/// as the scalar loop does (the same sums, bit for bit).
int nl_fold_small(const float *cols, long images, long image_size, long channels, long height, long width,
                  long kh, long kw, long oh, long ow, float *gx, long row_stride);


/// 2x2, stride-2 max pooling of one plane `width` floats wide into pooled_height x pooled_width values and their
/// winners' offsets within the plane: each window's maximum of its top-left, top-right, bottom-left and
/// bottom-right values, ties (and NaN) to the first in that order, as the scalar loop. With `relu`, the pooled
/// values below zero become zero (the winners stay). Reads only the windows, writes only the outputs.
/// AVX-512 only; returns 1.
int nl_maxpool2x2(const float *src, long width, long pooled_height, long pooled_width, float *dst, int *argmax, int relu);
/// nl_maxpool2x2 for a convolution's fused pooling, the same values, with each window's winner as a one-byte
/// code instead of an offset (a quarter of the memory): its place in the window (0 top-left, 1 top-right,
/// 2 bottom-left, 3 bottom-right), plus 4 where the gradient passes (always; with `relu`, only where the pooled
/// value is above zero). AVX-512 only; returns 1.
int nl_maxpool2x2_codes(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes, int relu);
/// The gradient of that pooling for one plane of `height` x `width`: from the pooled plane's gradient `g` and
/// its codes, each window's winner gets the gradient where its code says it passes, and every other value of
/// the plane zero (a last odd row or column too). Reads only the pooled plane's gradients and codes, writes
/// only the plane. AVX-512 only; returns 1.
int nl_unpool2x2_codes(const float *g, const uint8_t *codes, long height, long width, float *plane);
/// im2col for stride 1 and any padding (a "same" convolution), laid out as nl_unfold_small's: each output row
/// of each window row in masked vector loads (zeros where the window hangs over the image's edge). Returns 1.
int nl_unfold_padded(const float *x, long images, long image_size, long channels, long height, long width,
                     long kh, long kw, long pad, long oh, long ow, float *cols, long row_stride);

/// Its adjoint: adds the columns back into `gx`, each value's terms in the order of the rows (c, ki, kj), as the
/// general col2im. Returns 1.
int nl_fold_padded(const float *cols, long images, long image_size, long channels, long height, long width,
                   long kh, long kw, long pad, long oh, long ow, float *gx, long row_stride);

/// A convolution with stride 1 and no padding computed straight from the input, without im2col's columns:
/// out[i, f, y, x] = Σ_j weight[f, j] in[i, c, y + ky, x + kx] (+ bias[f]) over the taps j = (c, ky, kx) in that
/// order, for `images` images (in: images x channels x height x width; out: images x filters x oh x ow; weight:
/// filters x (channels kh kw); bias may be NULL). Each output is one chain of fused multiply-adds over j from
/// zero, then the bias added: the operations the GEMM's micro-kernels do on im2col's columns, so the same bits.
/// For 16 < ow <= 32 and at most 256 taps (one block of the GEMM's k, whose sums it reproduces); returns 1, or 0
/// (nothing written) for other shapes and where AVX-512 is not built.
int nl_conv_direct(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                   long ow, const float *weight, const float *bias, long filters, float *out);

/// The same three for AVX2 + FMA processors (nl_kernels_avx2.c): the same operations in the same order on
/// 8-lane vectors, so the same values, codes and bits; the same shapes taken and refused. Call them only where
/// the processor has AVX2 and FMA (nl_cpu_has_avx2_fma).
int nl_maxpool2x2_codes_avx2(const float *src, long width, long pooled_height, long pooled_width, float *dst, uint8_t *codes, int relu);
int nl_unpool2x2_codes_avx2(const float *g, const uint8_t *codes, long height, long width, float *plane);
int nl_conv_direct_avx2(const float *x, long images, long channels, long height, long width, long kh, long kw, long oh,
                        long ow, const float *weight, const float *bias, long filters, float *out);

/// im2col and its adjoint for stride 1 and no padding on AVX2 (the AVX-512 path has nl_unfold_small and
/// nl_fold_small for the smallest planes, Swift loops for the rest). nl_unfold_avx2: the columns as `im2col`
/// writes them, for output rows of at most 32 values, in whole 8-float vectors: each run's last vector spills up
/// to 7 floats past it (the next run overwrites them; the caller leaves room after each row's last run) and reads
/// past it only before `source_end`. nl_fold_avx2: adds the columns back into `gx` (input rows of at most 32
/// values), each input row's block of 8 read once, its terms added in the rows' order (ki, then kj) as the
/// row-by-row fold adds them, so the same sums, bit for bit; reads of the columns are masked to their runs.
/// Each returns 1, or 0 (nothing written) for shapes it does not take.
int nl_unfold_avx2(const float *x, long images, long image_size, long channels, long height, long width, long kh, long kw,
                   long oh, long ow, float *cols, long row_stride, const float *source_end);
int nl_fold_avx2(const float *cols, long images, long image_size, long channels, long height, long width, long kh, long kw,
                 long oh, long ow, float *gx, long row_stride);

#endif
