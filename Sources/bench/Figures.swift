import BenchKit
import Foundation
import Plotting

/// The benchmark's figures, drawn with our plotting library.
enum Figures {
  static func draw(_ report: BenchReport, peak: (one: Double, all: Double), to folder: String) throws {
    let r = report.results
    let cores = report.machine.cores
    // GFLOP/s against size.
    let fig = Figure(width: 900, height: 560)
    let ax = fig.axes
    ax.title = "GEMM (float32) against size on \(cores) cores: \(report.machine.cpu)"
    ax.xLabel = "n (n x n times n x n)"
    ax.yLabel = "GFLOP/s"
    ax.xScale = .log
    ax.yScale = .log
    func series(_ kernel: String, threads: Int? = nil, numpy: Bool = false) -> ([Double], [Double]) {
      let rows = r.filter { $0.kernel == kernel && (threads == nil || $0.threads == threads!) }
      let pairs = rows.compactMap { row -> (Double, Double)? in
        guard let n = Double(row.shape.split(separator: "x").first ?? ""), let v = numpy ? row.numpy_gflops : row.gflops else { return nil }
        return (n, v)
      }
      return (pairs.map(\.0), pairs.map(\.1))
    }
    var drew = false
    for (label, kernel, numpy, marker, dash) in [
      ("naive i-j-k loop", "gemm-naive", false, Marker.circle, Dash.solid), ("ours, 1 thread", "gemm-blocked", false, .square, .solid),
      ("ours, \(cores) threads", "gemm-final", false, .diamond, .solid), ("numpy, 1 thread", "gemm-blocked", true, .square, .dashed),
      ("numpy, \(cores) threads", "gemm-final", true, .diamond, .dashed),
    ] {
      let (x, y) = series(kernel, numpy: numpy)
      if !x.isEmpty {
        ax.line(x, y, label: label, dash: dash, marker: marker)
        drew = true
      }
    }
    if peak.one > 0 {
      ax.horizontalLine(at: peak.one, label: String(format: "peak, 1 core (%.0f)", peak.one), color: Color(hex: 0x888888))
      ax.horizontalLine(at: peak.all, label: String(format: "peak, %d cores (%.0f)", cores, peak.all), color: .ink)
      drew = true
    }
    ax.legend = .lowerRight
    if drew { try fig.save(to: folder + "/gemm", formats: [.png, .svg]) }

    // A bar chart per kernel family.
    let conv = r.filter { $0.kernel == "conv2d-fwd-bwd" || $0.kernel == "conv2d-fwd" }
    let cnn = r.filter { $0.kernel == "gemm-cnn" }
    let elem = r.filter { $0.gbps != nil }
    let panels = [conv.isEmpty, cnn.isEmpty, elem.isEmpty].filter { !$0 }.count
    guard panels > 0 else { return }
    let bars = Figure(width: 520 * panels, height: 480, columns: panels, title: "Kernels on \(cores) cores")
    var i = 0
    if !conv.isEmpty {
      let layers = Array(Set(conv.map(\.shape))).sorted()
      let a = bars.axes(0, i)
      a.title = "conv2d at the CIFAR CNN's layers (batch 64)"
      a.yLabel = "GFLOP/s"
      a.bars(categories: layers.map { String($0.split(separator: " ").first!) }, series: [
        BarSeries("forward", values: layers.map { l in conv.first { $0.shape == l && $0.kernel == "conv2d-fwd" }?.gflops ?? .nan }),
        BarSeries("forward + backward", values: layers.map { l in conv.first { $0.shape == l && $0.kernel == "conv2d-fwd-bwd" }?.gflops ?? .nan }),
      ])
      if let g = r.first(where: { $0.kernel == "gemm-final" && $0.shape == "1024x1024x1024" })?.gflops {
        a.horizontalLine(at: g, label: String(format: "our GEMM at 1024 (%.0f)", g))
        // Room above the line for the legend (the line ran through it at the top of the panel).
        let top = max(g, conv.compactMap(\.gflops).filter { $0.isFinite }.max() ?? 0)
        if top > 0 { a.yLimits = 0...(top * 1.35) }
      }
      i += 1
    }
    if !cnn.isEmpty {
      let a = bars.axes(0, i)
      a.title = "GEMM at the CNN's shapes"
      a.yLabel = "GFLOP/s"
      a.bars(categories: cnn.map { String($0.shape.split(separator: " ").prefix(2).joined(separator: " ")) }, series: [
        BarSeries("ours", values: cnn.map { $0.gflops ?? .nan }),
        BarSeries("numpy", values: cnn.map { $0.numpy_gflops ?? .nan }),
      ])
      i += 1
    }
    if !elem.isEmpty {
      let a = bars.axes(0, i)
      a.title = "Elementwise throughput (\(elem[0].shape))"
      a.yLabel = "GB/s"
      a.bars(categories: elem.map(\.kernel), values: elem.map { $0.gbps! }, label: "1 thread")
      a.legend = .none
    }
    bars.printsWarnings = false
    try bars.save(to: folder + "/kernels", formats: [.png, .svg])
  }
}
