import CCPU

/// glibc gives large blocks (over 128 KiB at first) fresh pages from the kernel and returns them on free,
/// so every big tensor pays page faults and zeroing again. Keeping such blocks in the heap lets training
/// steps reuse their memory; runs once, before the first tensor is made.
enum MemoryTuning {
  static let configured: Bool = {
    nl_keep_large_blocks()
    return true
  }()
}
