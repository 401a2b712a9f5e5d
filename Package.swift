// swift-tools-version:6.0
// NeuralLessons: lessons that teach neural networks by running them, a tensor engine and a Cairo plotting library.
import PackageDescription

/// CPU flags, only on request: `NEURAL_LESSONS_NATIVE=1` (the Makefile sets it for our own builds) compiles the Swift
/// code for x86-64-v3 (AVX2/FMA; `-march` reaches Swift through the clang importer, see ../shared/docs/MACHINE.md).
/// Without it the package has no unsafe flags, so it builds as someone's versioned dependency, on any processor:
/// the GEMM's inner kernels are C with per-function target attributes (CKernels), chosen at run time, and only
/// the Swift glue around them loses speed (README, "Speed").
let native = Context.environment["NEURAL_LESSONS_NATIVE"] == "1"
let cpuFlags: [SwiftSetting] = native ? [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])] : []

/// A lesson: an executable named after its folder in lessons/, with its README beside it.
func lesson(_ name: String) -> Target {
  .executableTarget(
    name: name,
    dependencies: ["LessonKit", "Plotting", "Tensors", "Networks", "Datasets", "PackageInfo", "Support", .product(name: "ArgumentParser", package: "swift-argument-parser")],
    path: "lessons/\(name)",
    exclude: ["README.md"],
    swiftSettings: cpuFlags)
}

let package = Package(
  name: "NeuralLessons",
  products: [
    .library(name: "Plotting", targets: ["Plotting"]),
    .library(name: "Tensors", targets: ["Tensors"]),
    .library(name: "Networks", targets: ["Networks"]),
    .library(name: "Datasets", targets: ["Datasets"]),
    .library(name: "FigureTesting", targets: ["FigureTesting"]),
  ],
  dependencies: [
    // Command lines: every executable's flags, --help and errors (the guide asks for it by name).
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // CSV files for the lessons that take the user's own data (quoting and delimiters done right).
    .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
  ],
  targets: [
    // MARK: - System libraries
    .systemLibrary(
      name: "CCairo",
      pkgConfig: "cairo-ft",
      providers: [.apt(["libcairo2-dev", "libpng-dev", "libfreetype-dev"])]
    ),

    // libpng's full write API behind a C function (libpng reports errors by longjmp).
    .target(name: "CPNG", dependencies: ["CCairo"]),

    // MARK: - Libraries
    .target(name: "Support", swiftSettings: cpuFlags),
    // The package's version (NeuralLessons.version), for every executable's --version.
    .target(name: "PackageInfo"),
    .target(name: "Plotting", dependencies: ["CCairo", "CPNG", "Support"], swiftSettings: cpuFlags),
    .target(name: "Tensors", dependencies: ["Kernels"], swiftSettings: cpuFlags),
    // The engine's hot loops (GEMM, im2col/col2im, chunked convolution, pooling, parallel helpers, sums) behind
    // a small interface: the only module that imports the C targets below.
    .target(name: "Kernels", dependencies: ["CCPU", "CKernels"], swiftSettings: cpuFlags),
    // Processor features, read at run time to pick the micro-kernels.
    .target(name: "CCPU"),
    // The GEMM's micro-kernels (AVX2+FMA, AVX-512) and A·Bᵀ dot products, and convolution data movement in
    // AVX-512 permutes and masks: C intrinsics with per-function target attributes (no build flag needed),
    // called only where the processor has the instructions.
    .target(name: "CKernels"),
    .target(name: "Networks", dependencies: ["Tensors", "Support"], swiftSettings: cpuFlags),
    .target(name: "Datasets", dependencies: ["Tensors", .product(name: "SwiftCSV", package: "SwiftCSV")], swiftSettings: cpuFlags),
    .target(
      name: "LessonKit",
      dependencies: ["Plotting", "Tensors", "Networks", "Datasets", "Support", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuFlags),
    .target(name: "FigureTesting", dependencies: ["Plotting", "CCairo", "Support"], swiftSettings: cpuFlags),
    .target(name: "BenchKit", swiftSettings: cpuFlags),
    .target(name: "PlotGallery", dependencies: ["Plotting"], swiftSettings: cpuFlags),
    // The course's playground: small networks on 2-D data, trained and drawn frame by frame for the site.
    .target(name: "PlaygroundKit", dependencies: ["LessonKit", "Networks", "Datasets", "Plotting", "Tensors"], swiftSettings: cpuFlags),

    // MARK: - Executables
    .executableTarget(
      name: "gallery",
      dependencies: ["Plotting", "PlotGallery", "PackageInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuFlags
    ),

    .executableTarget(
      name: "bench",
      dependencies: ["BenchKit", "Tensors", "Networks", "Datasets", "Plotting", "PlotGallery", "Support", "Kernels", "PackageInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuFlags),

    .executableTarget(
      name: "playground",
      dependencies: ["PlaygroundKit", "Plotting", "Support", "PackageInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuFlags),

    .executableTarget(
      name: "site",
      dependencies: ["Support", "PackageInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: cpuFlags),

    // MARK: - Lessons (each folder holds the program and its text)
    lesson("01-neuron"),
    lesson("02-activations"),
    lesson("03-loss-functions"),
    lesson("04-gradient-descent"),
    lesson("05-backpropagation"),
    lesson("06-cnn-cifar10"),
    lesson("07-mlp-digits"),
    lesson("08-regularisation"),
    lesson("09-evaluation"),
    lesson("10-fast-cifar"),

    // MARK: - Tests
    .testTarget(
      name: "LessonTests",
      dependencies: ["FigureTesting", "Datasets", "Tensors", "Support", "01-neuron", "02-activations", "03-loss-functions", "04-gradient-descent", "05-backpropagation", "06-cnn-cifar10", "07-mlp-digits", "08-regularisation", "09-evaluation", "10-fast-cifar"],
      exclude: ["Baselines"],
      swiftSettings: cpuFlags),
    .testTarget(name: "SiteTests", dependencies: ["site"], swiftSettings: cpuFlags),
    .testTarget(name: "SupportTests", dependencies: ["Support"], swiftSettings: cpuFlags),
    .testTarget(name: "PlaygroundTests", dependencies: ["PlaygroundKit", "FigureTesting"], exclude: ["Baselines"], swiftSettings: cpuFlags),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tensors"], swiftSettings: cpuFlags),
    .testTarget(name: "BenchTests", dependencies: ["BenchKit"], swiftSettings: cpuFlags),
    .testTarget(name: "TensorsTests", dependencies: ["Tensors", "Kernels", "CKernels", "CCPU"], swiftSettings: cpuFlags),
    .testTarget(name: "NetworksTests", dependencies: ["Networks", "Tensors", "Datasets"], swiftSettings: cpuFlags),
    .testTarget(
      name: "PlottingTests",
      dependencies: ["Plotting", "PlotGallery", "FigureTesting", "CCairo"],
      exclude: ["Baselines"],
      swiftSettings: cpuFlags
    ),
  ]
)
