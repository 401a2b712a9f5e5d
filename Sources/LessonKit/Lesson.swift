import Foundation
import Networks
import Plotting
import Support

/// Why a lesson stopped: one line saying what is wrong and what to do.
public struct LessonError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension LessonError: LocalizedError {
  public var errorDescription: String? { description }
}

/// What a running lesson shares: its output folder, the figures it wrote, its summary numbers and progress.
///
/// ```swift
/// let lesson = try Lesson(name: "01-neuron", options: options)
/// try lesson.save(figure, as: "loss")          // loss.png and loss.svg
/// lesson.summary["final_loss"] = .number(0.12)
/// try lesson.finish()                          // summary.json, atomically
/// ```
public final class Lesson {
  public let name: String
  public let options: LessonOptions
  /// The output folder.
  public let folder: String
  /// Figure names written so far, in order.
  public private(set) var figures: [String] = []
  /// The key numbers, written to summary.json by `finish()`.
  public var summary: [String: SummaryValue] = [:]
  private let started = DispatchTime.now().uptimeNanoseconds

  /// Where figures wait until `finish()`: a hidden folder inside the output folder, so that a run that fails
  /// (or is interrupted) never replaces a figure of an earlier, good run.
  public let staging: String
  private var stagingToken: Int?
  private var finished = false

  /// Checks that the output folder can be written before any work starts (an empty `--out` or the root
  /// folder is refused), and makes the staging folder for the figures.
  public init(name: String, options: LessonOptions) throws {
    self.name = name
    self.options = options
    do {
      // A quick run has its own default folder, so it never replaces the full run's figures that the course uses.
      folder = try options.out.map { try checkedOutputFolder($0, flag: "--out", example: "output/\(name)") }
        ?? (options.quick ? "output/quick/\(name)" : "output/\(name)")
    } catch let error as PathError {
      throw LessonError(error.description)
    }
    staging = folder + "/.staging-\(name)-\(getpid())"
    stagingToken = SignalCleanup.register(staging)
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try? FileManager.default.removeItem(atPath: staging)
      let probe = staging + "/.write-test"
      try writeAtomically(Data(), to: probe)
      try? FileManager.default.removeItem(atPath: probe)
    } catch {
      removeStaging()
      throw LessonError("the output folder '\(folder)' is not writable (\(error)); pick another with --out")
    }
    say("\(name): writing to \(folder)/\(options.quick ? " (quick mode)" : "")")
  }

  deinit { if !finished { removeStaging() } }

  private func removeStaging() {
    try? FileManager.default.removeItem(atPath: staging)
    if let stagingToken { SignalCleanup.unregister(stagingToken) }
    stagingToken = nil
  }

  /// The lesson's random numbers, from `--seed` (and an offset for independent streams).
  public func seed(_ offset: UInt64 = 0) -> UInt64 { options.seed &+ offset &* 0x9E37_79B9 }

  /// Prints a progress line.
  public func say(_ text: String) {
    print(text)
    fflush(nil)
  }

  /// Writes `figure` as `<name>.png` and/or `<name>.svg` in the output folder, and notes its name.
  public func save(_ figure: Figure, as figureName: String) throws {
    precondition(!figures.contains(figureName), "figure '\(figureName)' is written twice")
    do {
      try figure.save(to: staging + "/" + figureName, formats: options.formats)
    } catch let error as PlotError {
      throw LessonError("figure '\(figureName)': \(error)")
    }
    figures.append(figureName)
    say("  figure \(figures.count): \(figureName) (\(options.formats.map(\.rawValue).joined(separator: ", ")))")
  }

  /// Animations written so far, with each frame's label, in order (summary.json's "animations").
  public private(set) var animations: [(name: String, labels: [String])] = []

  /// Writes an animation, one PNG per frame: `<name>-0.png`, `<name>-1.png`, ... (PNG only, whatever `--format`
  /// says: the course's frame player shows them). `labels` says what each frame is ("epoch 40"). A README
  /// shows it as `![caption](<name>.frames)`.
  public func saveAnimation(_ frames: [Figure], as name: String, labels: [String]) throws {
    precondition(!frames.isEmpty && frames.count == labels.count, "an animation needs one label per frame")
    precondition(!animations.contains { $0.name == name } && !figures.contains(name), "'\(name)' is written twice")
    for (k, frame) in frames.enumerated() {
      frame.compactPNG = true  // frames are many: small files over fast encoding
      do { _ = try frame.save(to: staging + "/\(name)-\(k)", formats: [.png]) } catch let error as PlotError {
        throw LessonError("animation '\(name)', frame \(k + 1): \(error)")
      }
    }
    animations.append((name, labels))
    say("  animation: \(name) (\(frames.count) frames, png)")
  }

  /// Whether `writeHistory` was called (history.json waits in the staging folder until `finish()`).
  public private(set) var wroteHistory = false

  /// Writes the main training run's per-epoch metrics as `history.json` beside summary.json (staged with the
  /// figures, moved into the output folder by `finish()`): `epoch` (1-based), `train_loss`, `train_accuracy`,
  /// `validation_loss`, `validation_accuracy` (null where not measured), `epoch_seconds`, and `run`, which of
  /// the lesson's training runs this is when it has several.
  public func writeHistory(_ history: History, run: String? = nil) throws {
    let n = history.epochs
    func padded(_ values: [Double?]) -> [Double?] { (0..<n).map { $0 < values.count ? values[$0] : nil } }
    try writeHistory(
      trainLoss: history.trainLoss, trainAccuracy: padded(history.trainAccuracy),
      validationLoss: padded(history.validationLoss), validationAccuracy: padded(history.validationAccuracy),
      epochSeconds: history.epochSeconds.map { Optional($0) }, run: run)
  }

  /// Writes `history.json` from per-epoch (or per-step) lists, for a lesson that trains by hand; lists other than
  /// `trainLoss` may be empty (written as nulls).
  public func writeHistory(
    trainLoss: [Double], trainAccuracy: [Double?] = [], validationLoss: [Double?] = [],
    validationAccuracy: [Double?] = [], epochSeconds: [Double?] = [], run: String? = nil
  ) throws {
    precondition(!wroteHistory, "history.json is written once")
    let n = trainLoss.count
    func list(_ values: [Double?]) -> SummaryValue {
      .list((0..<n).map { k in k < values.count ? values[k].map { .number($0) } ?? .null : .null })
    }
    var fields: [String: SummaryValue] = [
      "epoch": .list((0..<n).map { .whole(UInt64($0 + 1)) }),
      "train_loss": list(trainLoss.map { Optional($0) }),
      "train_accuracy": list(trainAccuracy),
      "validation_loss": list(validationLoss),
      "validation_accuracy": list(validationAccuracy),
      "epoch_seconds": list(epochSeconds),
    ]
    if let run { fields["run"] = .text(run) }
    let json = SummaryValue.object(fields).json(indent: 0) + "\n"
    do { try writeAtomically(Data(json.utf8), to: staging + "/history.json") } catch {
      throw LessonError("cannot write history.json (\(error)); pick another folder with --out")
    }
    wroteHistory = true
    say("  history.json (\(n) epochs\(run.map { ", run '\($0)'" } ?? ""))")
  }

  /// Moves the figures from the staging folder into the output folder, then writes summary.json (sorted
  /// keys, atomically) with the figures and the run's time, and says so.
  public func finish() throws {
    precondition(!finished, "finish() is called once")
    for figureName in figures {
      for format in options.formats {
        let file = figureName + "." + format.rawValue
        guard rename(staging + "/" + file, folder + "/" + file) == 0 else {
          throw LessonError("cannot move \(file) into \(folder) (\(String(cString: strerror(errno)))); pick another folder with --out")
        }
      }
    }
    for (animation, labels) in animations {
      for k in labels.indices {
        let file = "\(animation)-\(k).png"
        guard rename(staging + "/" + file, folder + "/" + file) == 0 else {
          throw LessonError("cannot move \(file) into \(folder) (\(String(cString: strerror(errno)))); pick another folder with --out")
        }
      }
    }
    if wroteHistory {
      guard rename(staging + "/history.json", folder + "/history.json") == 0 else {
        throw LessonError("cannot move history.json into \(folder) (\(String(cString: strerror(errno)))); pick another folder with --out")
      }
    }
    finished = true
    removeStaging()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    var all = summary
    all["lesson"] = .text(name)
    all["seed"] = .whole(options.seed)
    all["quick"] = .bool(options.quick)
    all["figures"] = .list(figures.map { .text($0) })
    if !animations.isEmpty {
      // A list of {name, labels}: keys stay snake_case, names are figure names.
      all["animations"] = .list(animations.map { .object(["name": .text($0.name), "labels": .list($0.labels.map { .text($0) })]) })
    }
    all["run_seconds"] = .number(seconds)
    let json = SummaryValue.object(all).json(indent: 0) + "\n"
    try writeAtomically(Data(json.utf8), to: folder + "/summary.json")
    say(String(format: "\(name): done in %.1f s, %d figures and summary.json in \(folder)/", seconds, figures.count))
  }
}

/// A value in summary.json.
public indirect enum SummaryValue: Equatable {
  case number(Double)
  /// A whole number written with all its digits (a seed above 2^53 would be rounded as a Double).
  case whole(UInt64)
  case text(String)
  case bool(Bool)
  case list([SummaryValue])
  case object([String: SummaryValue])
  /// JSON's null (a value not measured).
  case null

  /// A list of numbers.
  public static func numbers<S: Sequence>(_ values: S) -> SummaryValue where S.Element: BinaryFloatingPoint {
    .list(values.map { .number(Double($0)) })
  }

  /// JSON with sorted keys; numbers in their shortest round-trip form (whole numbers without a fraction); NaN
  /// and infinities as null.
  func json(indent: Int) -> String {
    let pad = String(repeating: "  ", count: indent + 1), end = String(repeating: "  ", count: indent)
    switch self {
    case .number(let v):
      guard v.isFinite else { return "null" }
      if v == v.rounded() && Swift.abs(v) < 1e15 { return String(Int64(v)) }
      // Swift's shortest form that reads back as the same Double (0.1, not 0.10000000000000001); its
      // exponent form ("1e-05", "1.5e+20") is valid JSON too.
      return "\(v)"
    case .whole(let n):
      return String(n)
    case .text(let s):
      return jsonQuoted(s)
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .list(let items):
      if items.allSatisfy({ switch $0 { case .number, .whole, .null: return true; default: return false } }) {
        return "[" + items.map { $0.json(indent: indent + 1) }.joined(separator: ", ") + "]"
      }
      return "[\n" + items.map { pad + $0.json(indent: indent + 1) }.joined(separator: ",\n") + "\n\(end)]"
    case .object(let fields):
      return "{\n" + fields.keys.sorted().map { pad + SummaryValue.text($0).json(indent: 0) + ": " + fields[$0]!.json(indent: indent + 1) }.joined(separator: ",\n") + "\n\(end)}"
    }
  }
}
