import Foundation

/// Plain loops that define what the fast kernels compute: the references the tests and `make bench` compare
/// them with.
public enum Reference {
  /// Direct 2-D convolution of x [N, C, H, W] with w [F, C, KH, KW] and bias [F]: output [N, F, OH, OW].
  public static func conv2d(x: [Float], xShape: [Int], w: [Float], wShape: [Int], bias: [Float]?, stride: Int, padding: Int) -> [Float] {
    let (n, c, h, wd) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (f, _, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
    let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
    var out = [Float](repeating: 0, count: n * f * oh * ow)
    for b in 0..<n {
      for fi in 0..<f {
        for i in 0..<oh {
          for j in 0..<ow {
            var s = bias?[fi] ?? 0
            for ci in 0..<c {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let y = i * stride - padding + ki, x0 = j * stride - padding + kj
                  guard y >= 0, y < h, x0 >= 0, x0 < wd else { continue }
                  s += x[((b * c + ci) * h + y) * wd + x0] * w[((fi * c + ci) * kh + ki) * kw + kj]
                }
              }
            }
            out[((b * f + fi) * oh + i) * ow + j] = s
          }
        }
      }
    }
    return out
  }

  /// The gradients of `conv2d` for an output gradient g: (dx, dw, dbias), by the same direct loops.
  public static func conv2dBackward(g: [Float], x: [Float], xShape: [Int], w: [Float], wShape: [Int], stride: Int, padding: Int) -> (dx: [Float], dw: [Float], db: [Float]) {
    let (n, c, h, wd) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (f, _, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
    let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
    var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count), db = [Float](repeating: 0, count: f)
    for b in 0..<n {
      for fi in 0..<f {
        for i in 0..<oh {
          for j in 0..<ow {
            let gv = g[((b * f + fi) * oh + i) * ow + j]
            db[fi] += gv
            for ci in 0..<c {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let y = i * stride - padding + ki, x0 = j * stride - padding + kj
                  guard y >= 0, y < h, x0 >= 0, x0 < wd else { continue }
                  let xi = ((b * c + ci) * h + y) * wd + x0, wi = ((fi * c + ci) * kh + ki) * kw + kj
                  dw[wi] += gv * x[xi]
                  dx[xi] += gv * w[wi]
                }
              }
            }
          }
        }
      }
    }
    return (dx, dw, db)
  }
}
