// The Kernels module: the engine's hot loops behind a small interface, and the only module that imports the C
// targets (CKernels: the AVX2/AVX-512 micro-kernels, dot products and data movement in intrinsics with
// per-function target attributes; CCPU: the processor's features). Tensors builds its ops on it:
//   GEMM.swift               packed, cache-blocked matrix product; micro-kernel chosen once at start-up
//   Unfold.swift             im2col / col2im (and the short copies they make)
//   ConvolutionEngine.swift  a convolution's batch in L2-sized chunks: forward, backward, shares summed in order
//   Pooling.swift            2x2 max pooling of a plane (C on AVX-512, Swift elsewhere)
//   Elementwise.swift        ReLU and its gradient, sums in a fixed order
//   Parallel.swift           parallelFor / elementwiseChunks over `KernelSettings.threads`
//   PeakProbe.swift          the FMA loop bench compares the kernels with
// Everything except `GEMM.multiply`, `GEMM.naive`, `GEMM.kernelName`, `Window2D`, `KernelSettings` and
// `PeakProbe` is `package`: visible to the package's modules and tests, not to a consumer.
import CCPU
import CKernels
import Foundation

/// The settings every kernel reads: fixed at start-up, or for a scope. No global variable to assign.
public enum KernelSettings {
  /// Whether the processor runs AVX-512 (F, BW, DQ, VL) and FMA; false on every other architecture.
  package static let hasAVX512 = processorHas(nl_cpu_has_avx512)
  /// Whether the processor runs AVX2 and FMA; false on every other architecture.
  package static let hasAVX2 = processorHas(nl_cpu_has_avx2_fma)
  /// Whether the processor runs AVX-512 (as above) and AVX512_BF16: the bfloat16 kernels.
  package static let hasBF16 = processorHas(nl_cpu_has_avx512_bf16)

  private static func processorHas(_ probe: () -> Int32) -> Bool {
    #if arch(x86_64)
    return probe() != 0
    #else
    return false
    #endif
  }

  /// The threads at start-up: `NEURAL_LESSONS_THREADS` when it is a positive number, else every core.
  public static let startupThreads: Int = {
    if let text = ProcessInfo.processInfo.environment["NEURAL_LESSONS_THREADS"], let n = Int(text), n > 0 { return min(n, 64) }
    return ProcessInfo.processInfo.activeProcessorCount
  }()

  @TaskLocal static var scopedThreads: Int?

  /// How many threads the kernels split work over: `startupThreads`, or the count given to `withThreads`
  /// around the current call. Results do not depend on it (every sum is taken in a fixed order).
  public static var threads: Int { scopedThreads ?? startupThreads }

  /// Runs `body` with the kernels split over `threads` threads (at least 1), e.g. to check that one and two
  /// threads give the same bits. Only the calling thread sees it (and the work it hands out).
  public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
    try $scopedThreads.withValue(max(1, threads), operation: body)
  }

  /// Keeps large freed blocks in the heap (glibc; nothing elsewhere), so big tensors reuse memory instead of
  /// taking fresh, zeroed pages from the kernel on every allocation. Runs once, whoever asks first.
  package static let largeBlocksKept: Bool = {
    nl_keep_large_blocks()
    return true
  }()
}

/// Whether the AVX-512 C kernels (CKernels) do the convolutions' data movement: where the GEMM's micro-kernel
/// is an AVX-512 one, so `NEURAL_LESSONS_KERNEL=avx2` (or `=portable`) takes the Swift paths for all of it (as
/// `make test`'s extra runs do).
package var cKernels: Bool { GEMM.kernel.usesAVX512 }

/// Whether AVX2 C kernels (nl_kernels_avx2.c) do part of it instead: the fused pooling, its gradient, the direct
/// first convolution and the unpadded stride-1 im2col/col2im, where the GEMM's micro-kernel is the AVX2 one (an
/// AVX2 processor, or `NEURAL_LESSONS_KERNEL=avx2`). The rest of the data movement takes the Swift paths there.
package var cKernelsAVX2: Bool { GEMM.kernel.blockID == GEMM.avx2.blockID }

/// The data caches of one core, read once at start-up (Linux: /sys/devices/system/cpu/cpu0/cache), for the
/// GEMM's block sizes. Where they cannot be read, typical sizes are assumed (and said so). Nothing that sets
/// the order of a sum depends on them, so the results are the same bits whatever they are.
package struct Caches: Sendable, CustomStringConvertible {
  /// Bytes of L1 data cache, of L2 and of L3 per CPU (an L3 shared by n logical CPUs counts 1/n; with SMT two
  /// hardware threads of a core each count as one).
  package var l1: Int, l2: Int, l3PerCore: Int
  /// Whether the sizes were read from the system (else assumed).
  package var measured: Bool

  package static let assumed = Caches(l1: 32 << 10, l2: 1 << 20, l3PerCore: 2 << 20, measured: false)
  package static let detected: Caches = read(from: "/sys/devices/system/cpu/cpu0/cache") ?? assumed

  package var description: String {
    "\(measured ? "caches" : "caches assumed"): L1d \(l1 >> 10) kB, L2 \(l2 >> 10) kB, L3 \(l3PerCore >> 10) kB a CPU"
  }

  /// The sizes in a sysfs cache folder (index0, index1, ...: level, type, size, shared_cpu_list), or nil.
  package static func read(from folder: String) -> Caches? {
    func text(_ path: String) -> String? {
      (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    var found = Caches(l1: 0, l2: 0, l3PerCore: 0, measured: true)
    for index in 0..<16 {
      let dir = "\(folder)/index\(index)"
      guard let level = text(dir + "/level").flatMap(Int.init), let type = text(dir + "/type"), type != "Instruction",
            let bytes = text(dir + "/size").flatMap(parseSize), bytes > 0 else { continue }
      let sharing = max(1, text(dir + "/shared_cpu_list").map(countCPUs) ?? 1)
      switch level {
      case 1: found.l1 = bytes
      case 2: found.l2 = bytes
      case 3: found.l3PerCore = bytes / sharing
      default: break
      }
    }
    guard found.l1 > 0, found.l2 > 0 else { return nil }
    if found.l3PerCore == 0 { found.l3PerCore = found.l2 }
    return found
  }

  /// "32K", "1024K", "2M" or a plain number of bytes.
  package static func parseSize(_ text: String) -> Int? {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.last, let unit = units[last] { return Int(text.dropLast()).map { $0 * unit } }
    return Int(text)
  }

  /// The CPUs in a list like "0-3,8,10-11".
  package static func countCPUs(_ list: String) -> Int {
    list.split(separator: ",").reduce(0) { total, part in
      let ends = part.split(separator: "-").compactMap { Int($0) }
      return total + (ends.count == 2 ? max(0, ends[1] - ends[0] + 1) : ends.count == 1 ? 1 : 0)
    }
  }
}
