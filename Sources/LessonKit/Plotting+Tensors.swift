import Datasets
import Foundation
import Networks
import Plotting
import Tensors

/// Helpers that join the engine and the plotting library for the lessons (neither knows the other).
extension Lesson {
  /// The x and y ranges around a point set with a margin.
  public static func extent(of data: PointSet, margin: Double = 0.5) -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
    let xs = data.xs, ys = data.ys
    return ((xs.min()! - margin)...(xs.max()! + margin), (ys.min()! - margin)...(ys.max()! + margin))
  }

  /// A model's probability of class 1 over a `resolution` x `resolution` grid of cell centres (row 0 at the
  /// bottom), evaluated without gradients: the values `Axes.decisionRegions` draws. `probability` turns the
  /// model's output for a batch into one probability per point.
  public static func probabilityGrid(x: ClosedRange<Double>, y: ClosedRange<Double>, resolution: Int, probability: (Tensor) throws -> [Float]) throws -> [Double] {
    let xs = cellCenters(x, count: resolution), ys = cellCenters(y, count: resolution)
    var points: [Float] = []
    points.reserveCapacity(resolution * resolution * 2)
    for py in ys { for px in xs { points.append(Float(px)); points.append(Float(py)) } }
    let batch = try Tensor(points, shape: [resolution * resolution, 2])
    return try Tensor.withoutGrad { try probability(batch) }.map(Double.init)
  }

  /// Probability of class 1 from a model whose output is one logit per point.
  public static func sigmoidOutput(_ model: Sequential) -> (Tensor) throws -> [Float] {
    { try model($0).sigmoid().data }
  }

  /// Probability of class 1 from a model whose output is two logits per point.
  public static func softmaxOutput(_ model: Sequential) -> (Tensor) throws -> [Float] {
    { batch in
      let p = try model(batch).softmax()
      return stride(from: 1, to: p.count, by: 2).map { p.data[$0] }
    }
  }

  /// Draws decision regions of `probability` with the data on top into `axes`.
  public static func drawDecision(_ axes: Axes, data: PointSet, resolution: Int = 100, classNames: [String]? = ["class 0", "class 1"], probability: (Tensor) throws -> [Float]) throws {
    let (xr, yr) = extent(of: data)
    let grid = try probabilityGrid(x: xr, y: yr, resolution: resolution, probability: probability)
    axes.decisionRegions(grid, rows: resolution, columns: resolution, x: xr, y: yr)
    axes.contour(grid, rows: resolution, columns: resolution, x: xr, y: yr, levels: [0.5], color: Color(hex: 0x333333), labels: false, width: 1.2)
    axes.scatter(data.xs, data.ys, classes: data.labels, classNames: classNames, size: 6)
    axes.equalAspect = true
  }
}
