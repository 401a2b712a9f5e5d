import Foundation

/// Keras-style progress for training: on a terminal, one line per epoch redrawn as batches finish
/// ("12/50 [=====>........] - ETA: 3s - loss: 0.4321 - accuracy: 0.8750"); otherwise (a file, a pipe, CI)
/// one plain line per epoch when it ends.
public final class ProgressPrinter {
  public enum Mode: Sendable { case automatic, terminal, plain, silent }
  let mode: Mode
  /// Report every n-th epoch (and the last): small lessons train for hundreds of short epochs.
  public var every: Int
  private var lastDraw: UInt64 = 0
  private var current = 0
  private var total = 0
  private let write: (String) -> Void

  /// `write` receives the text (default: standard output, flushed).
  public init(mode: Mode = .automatic, every: Int = 1, write: ((String) -> Void)? = nil) {
    self.every = max(1, every)
    if mode == .automatic {
      self.mode = isatty(STDOUT_FILENO) != 0 ? .terminal : .plain
    } else {
      self.mode = mode
    }
    self.write = write ?? { text in
      // Through stdio like print, so lines come out in order whether stdout is a terminal or a pipe.
      print(text, terminator: "")
      fflush(nil)
    }
  }

  private var shows: Bool { current % every == 0 || current == total || current == 1 }

  public func epochStarted(_ epoch: Int, of total: Int) {
    current = epoch
    self.total = total
    if mode == .terminal && shows { write("Epoch \(epoch)/\(total)\n") }
  }

  /// After each batch: redraws the bar on a terminal at most ten times a second (and at the last batch).
  public func batchFinished(_ batch: Int, of total: Int, elapsed: Double, metrics: [(String, Double)]) {
    guard mode == .terminal, shows else { return }
    let now = DispatchTime.now().uptimeNanoseconds
    guard batch == total || now - lastDraw > 100_000_000 else { return }
    lastDraw = now
    let width = 30
    let done = Int(Double(width) * Double(batch) / Double(max(total, 1)))
    let bar = String(repeating: "=", count: max(0, done - (batch < total ? 1 : 0))) + (batch < total ? ">" : "") + String(repeating: ".", count: width - done)
    let digits = String(total).count
    let counter = String(repeating: " ", count: digits - String(batch).count) + "\(batch)/\(total)"
    let timing = batch < total
      ? " - ETA: " + Self.duration(elapsed / Double(batch) * Double(total - batch))
      : " - \(Self.duration(elapsed)) \(Int((elapsed / Double(max(total, 1)) * 1000).rounded()))ms/step"
    write("\r\(counter) [\(bar)]\(timing)" + Self.format(metrics) + "\u{1b}[K" + (batch == total ? "" : ""))
  }

  /// At the end of an epoch, with every metric (validation included).
  public func epochFinished(_ epoch: Int, of total: Int, batches: Int, elapsed: Double, metrics: [(String, Double)]) {
    guard shows else { return }
    switch mode {
    case .terminal:
      write("\r\(batches)/\(batches) [\(String(repeating: "=", count: 30))] - \(Self.duration(elapsed)) \(Int((elapsed / Double(max(batches, 1)) * 1000).rounded()))ms/step" + Self.format(metrics) + "\u{1b}[K\n")
    case .plain:
      write("Epoch \(epoch)/\(total) - \(batches) batches - \(Self.duration(elapsed))" + Self.format(metrics) + "\n")
    case .silent, .automatic: break
    }
  }

  static func format(_ metrics: [(String, Double)]) -> String {
    metrics.map { " - \($0.0): " + String(format: "%.4f", $0.1) }.joined()
  }

  static func duration(_ s: Double) -> String {
    if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
    if s < 60 { return String(format: "%.0fs", s) }
    return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
  }
}
