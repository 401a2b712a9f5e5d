import FigureTesting
import Foundation
import PlaygroundKit
import XCTest

/// The playground's frames: reproducible, one per requested epoch, and compared with baselines like any figure.
final class PlaygroundTests: XCTestCase {
  func testEverySettingIsDistinctAndTheDefaultIsAmongThem() {
    let ids = Playground.settings.map(\.id)
    XCTAssertEqual(Set(ids).count, ids.count)
    // 4 data sets x (1 linear + 3 activations x 2 hidden shapes) x 3 learning rates.
    XCTAssertEqual(ids.count, Playground.datasets.count * (1 + Playground.activations.count * 2) * Playground.learningRates.count)
    XCTAssert(ids.contains(Playground.defaultSetting.id))
    XCTAssert(ids.contains("xor-linear-none-lr0.03") && ids.contains("spiral-relu-8x8-lr3"), "\(ids)")
  }

  func testFramesAreReproducibleAndMatchTheirBaselines() throws {
    let setting = Playground.Setting(dataset: "circle", activation: "tanh", hidden: [4], learningRate: 0.3)
    let a = try Playground.frames(setting, epochs: [0, 3]), b = try Playground.frames(setting, epochs: [0, 3])
    XCTAssertEqual(a.count, 2)
    XCTAssertEqual(try a[1].pngData(), try b[1].pngData(), "the same setting draws the same frame")
    XCTAssertNotEqual(try a[0].pngData(), try a[1].pngData(), "training changes the frame")
    try FigureBaseline.check(a[1], named: "playground-circle-tanh-4-epoch3", formats: [.png])
  }

  func testADivergingRunStillHasAFrameForEveryEpoch() throws {
    // A learning rate far too large: the loss overflows in the first epoch; the frames after it say so.
    let setting = Playground.Setting(dataset: "spiral", activation: "relu", hidden: [8, 8], learningRate: 1e6)
    let frames = try Playground.frames(setting, epochs: [0, 1, 2])
    XCTAssertEqual(frames.count, 3)
  }

  func testAnUnknownDataSetIsAnError() {
    XCTAssertThrowsError(try Playground.data("moons")) { XCTAssert("\($0)".contains("unknown playground data set 'moons'"), "\($0)") }
  }
}
