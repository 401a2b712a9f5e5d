import Foundation
import Tensors

/// A training run saved so that it can be resumed: the model's parameters and buffers, the optimizer's state
/// and step count, a weight average where the run keeps one, the history so far and the caller's metadata, in
/// one safetensors file.
///
/// Layout: tensors `model.<name>` (the names of `Sequential.namedParameters` and `namedBuffers`: `model.0.weight`),
/// the optimizer's `stateTensors()` (`adam.m.<k>`, `adam.v.<k>`, `sgd.velocity.<k>`) and the weight average's
/// (`average.<k>`, in the order of its tensors); under `__metadata__`,
/// `epoch` (the history's epochs), `<stateName>_t` (the step count: `adam_t`), `history` (the `History` as JSON)
/// and every caller key.
public enum TrainingCheckpoint {
  /// The file is a sound checkpoint but not of this model and optimizer (or of no training run): its
  /// description is one line ending in what to do.
  public struct Mismatch: Error, CustomStringConvertible, Equatable {
    public let description: String
  }

  /// The metadata keys written here; callers may not use them.
  public static let reservedKeys: Set<String> = ["epoch", "history"]

  /// Writes the run's state to `path` atomically. `metadata` (anything the caller needs to check before
  /// resuming: the data split, the run's settings) may not use `epoch`, `history` or `<stateName>_t`.
  /// `average`: the run's `WeightAverage`, if it keeps one (its averages are part of the run: without them a
  /// resumed run would average from the resumed weights on).
  public static func save(to path: String, model: Sequential, optimizer: ResumableOptimizer, average: WeightAverage? = nil, history: History, metadata: [String: String] = [:]) throws {
    let stepKey = "\(optimizer.stateName)_t"
    if let key = metadata.keys.sorted().first(where: { reservedKeys.contains($0) || $0 == stepKey }) {
      throw Checkpoint.Error(description: "checkpoint: the metadata key '\(key)' is the checkpoint's own; choose another")
    }
    let tensors = (model.namedParameters + model.namedBuffers).map { ("model.\($0.0)", $0.1) } + (try optimizer.stateTensors()) + (try average?.stateTensors() ?? [])
    var all = metadata
    all["epoch"] = String(history.epochs)
    all[stepKey] = String(optimizer.stepCount)
    // Sorted keys: the same history gives the same bytes in every process (a plain encoder's order follows the
    // process's hash seed).
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    all["history"] = String(decoding: try encoder.encode(history), as: UTF8.self)
    try Checkpoint.save(tensors, to: path, metadata: all)
  }

  /// Reads a checkpoint written by `save` into `model` and `optimizer` (which must have the same layers and
  /// optimizer kind), and into `average` where the run keeps one (the file must hold it, and a file that holds
  /// one needs it), and returns its history and metadata. Nothing changes unless everything fits: a damaged
  /// file (unreadable, NaN or infinite values, a step count out of range, a history that does not decode)
  /// throws `Checkpoint.Error` ("damaged checkpoint <path>: ..."), a sound file of another network or
  /// optimizer throws `Mismatch`.
  public static func load(from path: String, model: Sequential, optimizer: ResumableOptimizer, average: WeightAverage? = nil) throws -> (history: History, metadata: [String: String]) {
    let metadata = try Checkpoint.metadata(path)
    let tensors = try Checkpoint.load(path)
    try Checkpoint.requireFinite(tensors, path: path)
    let saved = Dictionary(tensors, uniquingKeysWith: { a, _ in a })
    let mine = model.namedParameters + model.namedBuffers
    for (name, p) in mine {
      guard let t = saved["model.\(name)"], t.shape == p.shape else {
        throw Mismatch(description: "\(path) does not match this network ('\(name)'); delete it to start afresh")
      }
    }
    let state = try optimizer.stateTensors()
    for (name, t) in state where saved[name]?.shape != t.shape {
      throw Mismatch(description: "\(path) lacks the optimizer's state ('\(name)'); delete it to start afresh")
    }
    let averaged = try average?.stateTensors() ?? []
    for (name, t) in averaged where saved[name]?.shape != t.shape {
      throw Mismatch(description: "\(path) lacks the weight average ('\(name)'); delete it to start afresh")
    }
    let known = Set(mine.map { "model.\($0.0)" }).union(state.map(\.0)).union(averaged.map(\.0))
    if let extra = tensors.map(\.0).first(where: { !known.contains($0) }) {
      let owner = extra.hasPrefix("average.") ? "this run keeps no weight average (pass its WeightAverage to load)" : "neither this network nor its optimizer has it"
      throw Mismatch(description: "\(path) holds '\(extra)', but \(owner); delete it to start afresh")
    }
    guard let step = metadata["\(optimizer.stateName)_t"].flatMap(Int.init), let json = metadata["history"] else {
      throw Mismatch(description: "\(path) lacks its training history; delete it to start afresh")
    }
    let history: History
    do { history = try History.decode(json: json) } catch {
      throw Checkpoint.Error(description: "damaged checkpoint \(path): \(error); delete it to start afresh")
    }
    // Everything else has been checked: only the step count can be refused here, before anything changes.
    do { try optimizer.restoreState(saved, step: step) } catch let error as OptimizerStateError {
      throw Checkpoint.Error(description: "damaged checkpoint \(path): \(error); delete it to start afresh")
    }
    for (name, p) in mine { p.data = saved["model.\(name)"]!.data }
    average?.restore(saved)
    return (history, metadata)
  }
}
