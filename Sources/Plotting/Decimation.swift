import Foundation

/// Keeping huge series drawable: a line of millions of points is reduced to what its pixels can show, and a
/// scatter of millions to an even sample, so rendering time and file size stay bounded (issue #17).
enum Decimation {
  /// Below this many points a line is drawn as given (every figure of normal size is untouched, to the byte).
  static let lineThreshold = 4096
  /// The most markers a scatter draws; above it an evenly spaced sample of this many (with a warning).
  static let maxScatterPoints = 5_000

  /// A polyline (in device coordinates) that looks the same as `points`: when x only grows (or only falls),
  /// each quarter-pixel column keeps its first, lowest, highest and last points in their order, which
  /// preserves every vertical extent a column shows; otherwise points closer than a tenth of a pixel to the
  /// last kept one are dropped. Short polylines are returned as they are.
  static func line(_ points: [Point], threshold: Int = lineThreshold) -> [Point] {
    guard points.count > threshold else { return points }
    let increasing = zip(points, points.dropFirst()).allSatisfy { $0.x <= $1.x }
    let decreasing = !increasing && zip(points, points.dropFirst()).allSatisfy { $0.x >= $1.x }
    guard increasing || decreasing else { return nearby(points) }
    var out: [Point] = []
    out.reserveCapacity(4 * 4096)
    var i = 0
    while i < points.count {
      let column = (points[i].x * 4).rounded(.down)
      var j = i, lo = i, hi = i
      while j + 1 < points.count && (points[j + 1].x * 4).rounded(.down) == column {
        j += 1
        if points[j].y < points[lo].y { lo = j }
        if points[j].y > points[hi].y { hi = j }
      }
      for k in Set([i, lo, hi, j]).sorted() { out.append(points[k]) }
      i = j + 1
    }
    return out
  }

  /// The most points a wandering (non-monotone) line keeps.
  static let maxPathPoints = 40_000

  /// Drops points within a tenth of a pixel of the last kept one (the end point always stays). A path that
  /// still has more than `maxPathPoints` (a long, dense scribble such as stochastic gradient descent's)
  /// takes a coarser tolerance, up to 2 pixels, and then every k-th point: at that density the ink covers
  /// the same area either way.
  static func nearby(_ points: [Point]) -> [Point] {
    var tolerance = 0.1
    var out = thin(points, tolerance)
    while out.count > maxPathPoints && tolerance < 2 {
      tolerance *= 2
      out = thin(out, tolerance)
    }
    if out.count > maxPathPoints {
      let step = (out.count + maxPathPoints - 1) / maxPathPoints
      let last = out[out.count - 1]
      out = Swift.stride(from: 0, to: out.count, by: step).map { out[$0] }
      if out[out.count - 1] != last { out.append(last) }
    }
    return out
  }

  static func thin(_ points: [Point], _ tolerance: Double) -> [Point] {
    var out: [Point] = [points[0]]
    for p in points.dropFirst() {
      let q = out[out.count - 1]
      if Swift.abs(p.x - q.x) >= tolerance || Swift.abs(p.y - q.y) >= tolerance { out.append(p) }
    }
    if out.last! != points.last! { out.append(points.last!) }
    return out
  }

  /// A long polyline as pieces of at most `size` points that share their end points: Cairo's stroker finds
  /// every self-intersection of one path, which for a wandering path of tens of thousands of points takes
  /// minutes; pieces are stroked in a blink and look the same for an opaque line.
  static func pieces(_ points: [Point], size: Int = 1000, threshold: Int = lineThreshold) -> [[Point]] {
    guard points.count > threshold else { return [points] }
    return Swift.stride(from: 0, to: points.count - 1, by: size - 1).map { Array(points[$0..<Swift.min(points.count, $0 + size)]) }
  }

  /// At most `limit` of `indices`, evenly spaced (deterministic, in order).
  static func sample(_ indices: [Int], limit: Int = maxScatterPoints) -> [Int] {
    guard indices.count > limit else { return indices }
    return (0..<limit).map { indices[Int((Double($0) + 0.5) * Double(indices.count) / Double(limit))] }
  }
}
