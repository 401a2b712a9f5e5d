#!/usr/bin/env bash
# The package as a student would use it: a tiny package outside this repository depends on NeuralLessons through
# a git URL and a version tag (`from: "<version>"`), builds without any of our build flags, draws a figure with
# Plotting and trains a two-layer network with Networks. SwiftPM refuses a versioned dependency with unsafe flags,
# so this fails if Package.swift gives any target unsafe flags by default. The training runs again with the x86
# kernels disabled (NEURAL_LESSONS_KERNEL=portable) and must give the same loss to the last digit. Offline: swift-argument-parser and
# SwiftCSV resolve from the machine's package mirror like every github.com address.
# Usage: scripts/check_consumer.sh [--keep]   (--keep leaves the temporary folder and prints its path)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/neural-lessons-consumer.XXXXXX")"
if [ "${1:-}" = "--keep" ]; then echo "check_consumer: working in $work"; else trap 'rm -rf "$work"' EXIT; fi
version="$(sed -n 's/.*static let version = "\([^"]*\)".*/\1/p' "$root/Sources/PackageInfo/Version.swift")"
[ -n "$version" ] || { echo "check_consumer: no version in Sources/PackageInfo/Version.swift" >&2; exit 1; }

# 1. This repository's files as they are now (tracked, or untracked and not ignored), as a git repository
#    tagged v<version>: what a student's SwiftPM would clone.
mkdir "$work/NeuralLessons"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -xf - -C "$work/NeuralLessons"
git -C "$work/NeuralLessons" init -q
git -C "$work/NeuralLessons" add -A
git -C "$work/NeuralLessons" -c user.name=check -c user.email=check@localhost commit -qm "NeuralLessons $version"
git -C "$work/NeuralLessons" tag "v$version"

# 2. The student's package.
mkdir -p "$work/Consumer/Sources/Consumer"
cat > "$work/Consumer/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Consumer",
  dependencies: [.package(url: "file://$work/NeuralLessons", from: "$version")],
  targets: [
    .executableTarget(
      name: "Consumer",
      dependencies: [
        .product(name: "Plotting", package: "NeuralLessons"),
        .product(name: "Tensors", package: "NeuralLessons"),
        .product(name: "Networks", package: "NeuralLessons"),
      ])
  ]
)
SWIFT
cat > "$work/Consumer/Sources/Consumer/main.swift" <<'SWIFT'
import Foundation
import Networks
import Plotting
import Tensors

// XOR: a two-layer network (2-8-1, tanh) learns it; its loss curve is drawn.
let out = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "."
var rng = SeededGenerator(seed: 1)
let x = try Tensor([0, 0, 0, 1, 1, 0, 1, 1], shape: [4, 2])
let y = try Tensor([0, 1, 1, 0], shape: [4, 1])
let model = Sequential([
  try Dense(2, 8, initializer: .xavierUniform, rng: &rng), Activation(.tanh), try Dense(8, 1, initializer: .xavierUniform, rng: &rng),
])
let trainer = Trainer(
  loss: .binaryCrossEntropyWithLogits, optimizer: try Adam(model.parameters, learningRate: 0.05), epochs: 300, batchSize: 4, seed: 3,
  progress: ProgressPrinter(mode: .silent))
let history = try trainer.fit(model, x: x, y: y)

let fig = Figure(width: 640, height: 480)
fig.axes.title = "XOR, a two-layer network"
fig.axes.xLabel = "epoch"
fig.axes.yLabel = "loss"
fig.axes.line(history.trainLoss, label: "train")
let files = try fig.save(to: out + "/loss", formats: [.png, .svg])
print("kernel \(GEMM.kernelName)")
print("accuracy \(history.trainAccuracy.last!!) loss \(history.trainLoss.last!)")
print("wrote \(files.joined(separator: " "))")
SWIFT

# 3. Build it as a consumer does: none of our environment (NEURAL_LESSONS_NATIVE would ask for the flags).
cd "$work/Consumer"
env -u NEURAL_LESSONS_NATIVE swift build -q 2>&1 | tail -20
mkdir -p "$work/out"
report="$(env -u NEURAL_LESSONS_NATIVE .build/debug/Consumer "$work/out")"
echo "$report" | sed 's/^/  consumer: /'
grep -q '^accuracy 1.0 ' <<<"$report" || { echo "check_consumer: the network did not learn XOR" >&2; exit 1; }
[ -s "$work/out/loss.png" ] && [ -s "$work/out/loss.svg" ] || { echo "check_consumer: no figure written" >&2; exit 1; }
# Where the processor has AVX2 or AVX-512, the consumer's build must reach the C kernels too.
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -q '^kernel portable' <<<"$report"; then
  echo "check_consumer: the consumer got the portable kernels on a processor with AVX2" >&2; exit 1
fi
# And with the x86 kernels disabled, as on a processor without them: the same training, to the bit.
portable="$(env -u NEURAL_LESSONS_NATIVE NEURAL_LESSONS_KERNEL=portable .build/debug/Consumer "$work/out")"
echo "$portable" | sed 's/^/  consumer, NEURAL_LESSONS_KERNEL=portable: /'
grep -q '^kernel portable' <<<"$portable" || { echo "check_consumer: NEURAL_LESSONS_KERNEL=portable did not take the portable kernels" >&2; exit 1; }
[ "$(grep '^accuracy' <<<"$portable")" = "$(grep '^accuracy' <<<"$report")" ] || {
  echo "check_consumer: the portable kernels trained to other numbers than the x86 ones" >&2; exit 1; }
echo "check_consumer: a package depending on NeuralLessons from: \"$version\" (git tag v$version) builds, plots and trains"
