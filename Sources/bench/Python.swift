import Foundation

/// Runs a Python script with `python3` and returns its standard output, or nil when python3 or a module it
/// imports is missing (the script exits 3 for that).
func runPython(_ script: String, environment: [String: String] = [:]) -> String? {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = ["python3", "-c", script]
  var env = ProcessInfo.processInfo.environment
  for (k, v) in environment { env[k] = v }
  // Set on some processors for old OpenBLAS builds; they slow a current numpy (see the env notes).
  env["OPENBLAS_CORETYPE"] = nil
  env["OPENBLAS_L2_SIZE"] = nil
  p.environment = env
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  do { try p.run() } catch { return nil }
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else { return nil }
  return String(decoding: data, as: UTF8.self)
}

/// numpy's float32 matmul rate (GFLOP/s) for each (m, n, k), with `threads` OpenBLAS threads, or nil
/// without numpy.
func numpyGEMM(_ shapes: [(Int, Int, Int)], transB: [Bool]? = nil, threads: Int, minTime: Double) -> [Double]? {
  let list = shapes.enumerated().map { "(\($1.0),\($1.1),\($1.2),\(transB?[$0] == true ? "True" : "False"))" }.joined(separator: ",")
  let script = """
    import sys, time
    try:
        import numpy as np
    except ImportError:
        sys.exit(3)
    for m, n, k, t in [\(list)]:
        a = np.random.rand(m, k).astype(np.float32)
        b = np.random.rand(n, k).astype(np.float32).T if t else np.random.rand(k, n).astype(np.float32)
        a @ b
        ts = []; t0 = time.perf_counter()
        while len(ts) < 3 or (time.perf_counter() - t0 < \(minTime) and len(ts) < 1000):
            t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
        ts.sort(); print(2.0 * m * n * k / ts[len(ts) // 2] / 1e9)
    """
  let env = ["OPENBLAS_NUM_THREADS": String(threads), "OMP_NUM_THREADS": String(threads), "MKL_NUM_THREADS": String(threads)]
  guard let out = runPython(script, environment: env) else { return nil }
  let values = out.split(separator: "\n").compactMap { Double($0) }
  return values.count == shapes.count ? values : nil
}

/// matplotlib's (Agg) time to draw the gallery's line figure as PNG and as SVG (median seconds), or nil.
func matplotlibLineFigure(runs: Int) -> (png: Double, svg: Double)? {
  let script = """
    import sys, io, time
    try:
        import numpy as np, matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit(3)
    x = np.arange(1000) / 100
    def draw(fmt):
        f, ax = plt.subplots(figsize=(8, 6), dpi=100)
        for k in range(5):
            ax.plot(x, np.exp(-x / (4 + 2 * k)) * np.sin(x * (k + 1) * 0.9 + k), label=f"wave {k + 1}")
        ax.set_title("Five damped waves"); ax.set_xlabel("time t (s)"); ax.set_ylabel("amplitude")
        ax.legend(); ax.grid(True)
        b = io.BytesIO(); f.savefig(b, format=fmt); plt.close(f)
    for fmt in ["png", "svg"]:
        ts = []
        for i in range(\(runs) + 3):
            t = time.perf_counter(); draw(fmt); ts.append(time.perf_counter() - t)
        ts = sorted(ts[3:]); print(ts[len(ts) // 2])
    """
  guard let out = runPython(script) else { return nil }
  let v = out.split(separator: "\n").compactMap { Double($0) }
  return v.count == 2 ? (v[0], v[1]) : nil
}

/// numpy's version as python3 imports it, or nil without numpy.
func numpyVersion() -> String? {
  runPython("import numpy; print(numpy.__version__)")?.trimmingCharacters(in: .whitespacesAndNewlines)
}
