// make playground: every frame of the course's playground, computed by the engine and drawn by the plotting
// library, with a manifest the site reads.
import ArgumentParser
import Dispatch
import Foundation
import PackageInfo
import PlaygroundKit
import Plotting
import Support

@main
struct PlaygroundCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "playground",
    abstract: "Train the playground's small networks (every data set, activation, hidden layers and learning rate) and draw their frames.",
    discussion: "Writes <out>/<setting>-<frame>.png and <out>/manifest.json; make site puts them on the playground page.",
    version: NeuralLessons.version)

  @Option(name: .long, help: ArgumentHelp("Folder for the frames and manifest.json.", valueName: "dir"))
  var out = "output/playground"

  @Option(name: .long, help: ArgumentHelp("Only the settings whose name contains this text (e.g. circle-tanh).", valueName: "text"))
  var filter: String?

  func validate() throws {
    guard !out.isEmpty, URL(fileURLWithPath: out).standardizedFileURL.path != "/" else {
      throw ValidationError("--out must name a folder other than the root")
    }
  }

  func run() throws {
    let settings = Playground.settings.filter { filter == nil || $0.id.contains(filter!) }
    guard !settings.isEmpty else { throw ValidationError("no playground setting matches '\(filter ?? "")'") }
    let started = DispatchTime.now().uptimeNanoseconds
    // The settings are independent: both cores draw, each setting's frames the same whoever draws them.
    let failures = LockedList()
    DispatchQueue.concurrentPerform(iterations: settings.count) { i in
      let s = settings[i]
      do {
        let frames = try Playground.frames(s)
        for (k, figure) in frames.enumerated() { try writeAtomically(try figure.pngData(), to: "\(out)/\(s.id)-\(k).png") }
      } catch {
        failures.append("\(s.id): \(error)")
      }
    }
    if let first = failures.items.first { throw PlaygroundError(first) }
    var manifest: [String: Any] = [
      "datasets": Playground.datasets, "activations": Playground.activations,
      "hidden": Playground.architectures.map { $0.isEmpty ? "none" : $0.map(String.init).joined(separator: "x") },
      "learning_rates": Playground.learningRates.map { Double(String(format: "%g", Double($0)))! },
      "frame_epochs": Playground.frameEpochs, "default": Playground.defaultSetting.id,
      "settings": Playground.settings.map(\.id),
    ]
    if filter != nil { manifest["settings"] = settings.map(\.id) }
    let json = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted])
    try writeAtomically(json, to: "\(out)/manifest.json")
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    print(String(format: "playground: %d settings x %d frames in %@/ (%.1f s)", settings.count, Playground.frameEpochs.count, out, seconds))
  }
}

final class LockedList: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var items: [String] = []
  func append(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
}

struct PlaygroundError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
