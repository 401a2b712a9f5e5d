// Tensors' users (the lessons, bench) see the kernels' public names through it: GEMM.kernelName, Window2D,
// KernelSettings.withThreads.
@_exported import Kernels

/// glibc gives large blocks (over 128 KiB at first) fresh pages from the kernel and returns them on free,
/// so every big tensor pays page faults and zeroing again. Keeping such blocks in the heap lets training
/// steps reuse their memory; runs once, before the first tensor is made (see `KernelSettings.largeBlocksKept`).
enum MemoryTuning {
  static var configured: Bool { KernelSettings.largeBlocksKept }
}

