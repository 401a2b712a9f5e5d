import Tensors
import XCTest

final class AutogradTests: XCTestCase {
  func testMicrogradExample() throws {
    // micrograd's README: a=-4, b=2; known gradients of this expression.
    let a = Tensor(scalar: -4, requiresGrad: true), b = Tensor(scalar: 2, requiresGrad: true)
    var c = try a + b
    var d = try a * b + b.pow(3)
    c = try c + (c + 1)
    c = try c + (1 + c + (-a))
    d = try d + (d * 2 + (b + a).relu())
    d = try d + (3 * d + (b - a).relu())
    let e = try c - d
    let f = e.pow(2)
    var g = f / 2
    g = try g + 10 / f
    try g.backward()
    XCTAssertEqual(Double(g.item), 24.7041, accuracy: 1e-4)
    XCTAssertEqual(Double(a.grad![0]), 138.8338, accuracy: 1e-3)
    XCTAssertEqual(Double(b.grad![0]), 645.5773, accuracy: 1e-3)
  }

  func testGradientsAccumulateAcrossBackwardPasses() throws {
    let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
    try (x * x).sum().backward()
    XCTAssertEqual(x.grad!, [2, 4])
    try (x * x).sum().backward()
    XCTAssertEqual(x.grad!, [4, 8])
    x.zeroGrad()
    XCTAssertNil(x.grad)
  }

  func testATensorUsedTwiceGetsBothContributions() throws {
    let x = Tensor(scalar: 3, requiresGrad: true)
    let y = try x * x + x  // dy/dx = 2x + 1
    try y.backward()
    XCTAssertEqual(x.grad!, [7])
  }

  func testNoGradModeRecordsNothing() throws {
    let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
    let y = try Tensor.withoutGrad { try (x * x).sum() }
    XCTAssertFalse(y.requiresGrad)
    XCTAssertThrowsError(try y.backward())
    let z = try (x * x).sum()
    XCTAssertTrue(z.requiresGrad, "recording resumes after withoutGrad")
  }

  func testDetachStopsGradients() throws {
    let x = Tensor(scalar: 2, requiresGrad: true)
    let y = try x * x.detached()  // gradient only through the first factor: d/dx = 2
    try y.backward()
    XCTAssertEqual(x.grad!, [2])
  }

  func testBackwardNeedsAScalar() throws {
    let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
    XCTAssertThrowsError(try (x * 2).backward()) { error in
      XCTAssert("\(error)".contains("needs a scalar"), "\(error)")
    }
  }

  func testDeepGraphsDoNotOverflowTheStack() throws {
    var h = Tensor(scalar: 1, requiresGrad: true)
    let x = h
    for _ in 0..<20_000 { h = h * 1.0001 }
    try h.backward()
    XCTAssertEqual(Double(x.grad![0]), pow(1.0001, 20_000), accuracy: 0.05)
  }

  func testGraphListsInputsFirst() throws {
    let a = Tensor(scalar: 1, requiresGrad: true)
    let b = try (a * 2).tanh()
    let ops = b.graph().map(\.op)
    XCTAssertEqual(ops, ["leaf", "*", "tanh"])
  }
}
