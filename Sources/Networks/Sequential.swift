import Foundation
import Tensors

/// Layers applied one after another.
public final class Sequential {
  public let layers: [Layer]

  public init(_ layers: [Layer]) { self.layers = layers }

  /// The forward pass (`training` switches dropout on). A Conv2D followed by a ReLU activation, by a 2x2 max
  /// pooling, or by both (ReLU then pooling) runs as one fused operation (`fusion(at:)`): the same numbers,
  /// fewer passes over memory.
  public func forward(_ x: Tensor, training: Bool = false) throws -> Tensor {
    var h = x
    var i = 0
    while i < layers.count {
      let step = try forwardStep(at: i, h, training: training)
      h = step.output
      i += step.layers
    }
    return h
  }

  /// One step of `forward`: the layers from `i` that `fusion(at:)` joins (a single layer when nothing fuses)
  /// applied to `x`; the output, and how many layers ran. Code that times each step (bench) calls this, so it
  /// runs exactly what `forward` runs.
  public func forwardStep(at i: Int, _ x: Tensor, training: Bool) throws -> (output: Tensor, layers: Int) {
    let run = fusion(at: i)
    if run.layers > 1, let conv = layers[i] as? Conv2D {
      return (try conv.forward(x, fusingReLU: run.relu, maxPool2x2: run.pool), run.layers)
    }
    return (try layers[i].forward(x, training: training), 1)
  }

  /// The one rule for which layers from `i` on run as one operation: a Conv2D, then optionally a ReLU
  /// activation, then optionally a MaxPool2D(2) (stride 2, no padding). `layers` is how many are taken (1 when
  /// nothing fuses), `relu` and `pool` which of the two follow.
  public func fusion(at i: Int) -> (layers: Int, relu: Bool, pool: Bool) {
    guard layers[i] is Conv2D else { return (1, false, false) }
    var j = i + 1
    let relu = j < layers.count && (layers[j] as? Activation)?.function == .relu
    if relu { j += 1 }
    let pool = j < layers.count && (layers[j] as? MaxPool2D).map { $0.kernel == 2 && $0.stride == 2 && $0.padding == 0 } == true
    if pool { j += 1 }
    return (j - i, relu, pool)
  }

  /// How many layers from `i` on run as one operation (see `fusion(at:)`).
  public func fusedRun(at i: Int) -> Int { fusion(at: i).layers }

  /// The forward pass in evaluation mode.
  public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x, training: false) }

  /// Every parameter, layer by layer.
  public var parameters: [Tensor] { layers.flatMap(\.parameters) }

  /// Parameters with names "<layer index>.<name>" ("0.weight", "0.bias", "2.weight", ...), the names used in
  /// checkpoints.
  public var namedParameters: [(String, Tensor)] {
    layers.enumerated().flatMap { i, layer in layer.namedParameters.map { ("\(i).\($0.0)", $0.1) } }
  }

  /// Buffers (not trained by gradients: batch normalisation's running statistics) with names
  /// "<layer index>.<name>", saved in checkpoints beside the parameters.
  public var namedBuffers: [(String, Tensor)] {
    layers.enumerated().flatMap { i, layer in layer.namedBuffers.map { ("\(i).\($0.0)", $0.1) } }
  }

  /// The number of parameter values (trainable or frozen).
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

  /// A table of the layers, their output shapes and parameter counts, like Keras's `model.summary()`.
  public func summary(inputShape: [Int]) throws -> String {
    var rows: [(String, String, String)] = []
    var shape = inputShape
    var counts: [String: Int] = [:]
    for layer in layers {
      shape = try layer.outputShape(for: shape)
      let n = counts[layer.kind, default: 0]
      counts[layer.kind] = n + 1
      let name = layer.kind.lowercased() + (n == 0 ? "" : "_\(n)")
      let shapeText = "(None, " + shape.map(String.init).joined(separator: ", ") + ")"
      rows.append(("\(name) (\(layer.kind))", shapeText, grouped(layer.parameters.reduce(0) { $0 + $1.count })))
    }
    let w0 = max(28, rows.map(\.0.count).max() ?? 0) + 2, w1 = max(22, rows.map(\.1.count).max() ?? 0) + 2
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
    let width = w0 + w1 + 12
    var out = [String(repeating: "_", count: width), pad("Layer (type)", w0) + pad("Output Shape", w1) + "Param #", String(repeating: "=", count: width)]
    for (i, r) in rows.enumerated() {
      out.append(pad(r.0, w0) + pad(r.1, w1) + r.2)
      out.append(i == rows.count - 1 ? String(repeating: "=", count: width) : String(repeating: "_", count: width))
    }
    // Frozen parameters (requiresGrad off, as lesson 10's computed whitening filters) are counted apart.
    let trainable = parameters.filter(\.requiresGrad).reduce(0) { $0 + $1.count }
    out.append("Total params: \(grouped(parameterCount))")
    out.append("Trainable params: \(grouped(trainable))")
    out.append("Non-trainable params: \(grouped(parameterCount - trainable))")
    return out.joined(separator: "\n")
  }
}

/// 1,234,567.
func grouped(_ n: Int) -> String {
  let s = String(n)
  var out = ""
  for (i, c) in s.reversed().enumerated() {
    if i > 0 && i % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return String(out.reversed())
}
