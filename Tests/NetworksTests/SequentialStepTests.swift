import Networks
import Tensors
import XCTest

/// `Sequential.forwardStep` is `forward` one step at a time: the steps are the fusion rule's runs, and the
/// last step's output is `forward`'s, to the bit.
final class SequentialStepTests: XCTestCase {
  func testStepsFollowTheFusionRuleAndAddUpToForward() throws {
    var rng = SeededGenerator(seed: 7)
    let model = Sequential([
      try Conv2D(2, 3, kernel: 3, rng: &rng), Activation(.relu), MaxPool2D(2),
      try Conv2D(3, 4, kernel: 3, padding: 1, rng: &rng), MaxPool2D(2),
      try Conv2D(4, 4, kernel: 3, padding: 1, rng: &rng), Activation(.relu), Flatten(), try Dense(4 * 2 * 2, 2, rng: &rng),
    ])
    let x = try Tensor.uniform([2, 2, 10, 10], in: -1...1, using: &rng)
    var h = x, i = 0, steps: [Int] = []
    while i < model.layers.count {
      let step = try model.forwardStep(at: i, h, training: false)
      XCTAssertEqual(step.layers, model.fusion(at: i).layers)
      steps.append(step.layers)
      h = step.output
      i += step.layers
    }
    XCTAssertEqual(steps, [3, 2, 2, 1, 1], "conv+relu+pool, conv+pool, conv+relu, flatten, dense")
    XCTAssertEqual(h.data.map(\.bitPattern), try model(x).data.map(\.bitPattern))
  }
}
