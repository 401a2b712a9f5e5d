# NeuralLessons: `make` sets up, builds in release and produces everything built so far; `make test` tests.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build needs: Cairo (with its SVG and FreeType back ends), libpng, pkg-config, DejaVu.
APT_PACKAGES := libcairo2-dev libpng-dev libfreetype-dev pkg-config fonts-dejavu-core pandoc
RELEASE := .build/release
SOURCES := $(shell find Sources -name '*.swift' -o -name '*.c' -o -name '*.h' -o -name '*.modulemap') Package.swift
# Our own builds compile the Swift code for x86-64-v3 (AVX2/FMA): Package.swift adds the flag only when this is 1,
# so the package stays usable as someone's versioned dependency (README, "Speed"). `make NEURAL_LESSONS_NATIVE=0`
# builds as a consumer does.
export NEURAL_LESSONS_NATIVE ?= 1

LESSONS := $(sort $(notdir $(wildcard lessons/[0-9][0-9]-*)))
# What every lesson's output depends on besides its own folder: the shared libraries, the kernels and their C.
LIBRARY_SOURCES := $(shell find Sources/LessonKit Sources/Plotting Sources/Tensors Sources/Kernels Sources/CKernels Sources/CCPU Sources/Networks Sources/Datasets Sources/Support Sources/PackageInfo Sources/CCairo Sources/CPNG -type f) Package.swift

# glibc returns large freed blocks to the kernel, so every big tensor of a training step costs fresh,
# zeroed pages. The engine's first tensor sets malloc to keep them (nl_keep_large_blocks: no block mapped on
# its own, no trimming); the same settings here also cover what runs before it.
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=33554432:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824

.DEFAULT_GOAL := all
.PHONY: all setup setup-site build test gallery lessons playground site check-site bench data clean help

## all: set up, build in release, run every lesson, build the course site, render the gallery
all: setup build lessons site gallery

## lessons: run every lesson into output/<lesson>/ (only those whose code or text changed)
lessons: $(foreach l,$(LESSONS),output/$(l)/summary.json)

output/%/summary.json: lessons/%/main.swift lessons/%/README.md $(LIBRARY_SOURCES) | build
	$(RELEASE)/$* --out output/$*

## setup: install the system packages that are missing (apt-get as root; otherwise print the command)
setup:
	@missing=""; \
	pkg-config --exists cairo-ft cairo-svg 2>/dev/null || missing="$$missing libcairo2-dev"; \
	pkg-config --exists libpng 2>/dev/null || missing="$$missing libpng-dev"; \
	pkg-config --exists freetype2 2>/dev/null || missing="$$missing libfreetype-dev"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || [ -n "$$NEURAL_LESSONS_FONT_DIR" ] || missing="$$missing fonts-dejavu-core"; \
	command -v pandoc >/dev/null || missing="$$missing pandoc"; \
	if [ -z "$$missing" ]; then echo "setup: system packages present"; exit 0; fi; \
	echo "setup: missing:$$missing"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	else \
	  echo "setup: run this, then make again:"; \
	  echo "  sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	fi

## build: release build of every target (with the CPU flags: NEURAL_LESSONS_NATIVE=1, see Package.swift)
build: setup
	$(SWIFT) build -c release

## test: the whole test suite (figure baselines, bad data, determinism), the engine's again with the AVX2 and the portable kernels, and a consumer package; RECORD_BASELINES=1 re-records
test: setup
	$(SWIFT) test --disable-swift-testing
	@# On an AVX-512 machine the run above takes the AVX-512 kernels; the engine's tests again with the AVX2
	@# ones, so that the paths other processors take are tested too.
	@if grep -q avx512f /proc/cpuinfo 2>/dev/null; then \
	  echo "test: the engine's tests again with the AVX2 kernels (NEURAL_LESSONS_KERNEL=avx2)"; \
	  NEURAL_LESSONS_KERNEL=avx2 $(SWIFT) test --disable-swift-testing --filter 'TensorsTests|NetworksTests'; \
	fi
	@# With the x86 kernels disabled (no C intrinsics, no AVX-512 data movement): the Swift paths a processor
	@# without AVX2 (an ARM Mac, a Raspberry Pi) takes.
	@echo "test: the engine's tests again with the x86 kernels disabled (NEURAL_LESSONS_KERNEL=portable)"
	NEURAL_LESSONS_KERNEL=portable $(SWIFT) test --disable-swift-testing --filter 'TensorsTests|NetworksTests'
	@# A package outside the repository that depends on this one by git URL and version tag, built without our flags.
	scripts/check_consumer.sh

## data: CIFAR-10 in data/cifar-10-batches-bin, digits and breast cancer in data/ (from ../shared/data; checksums verified)
data: data/cifar-10-batches-bin/test_batch.bin data/digits.csv data/breast_cancer.csv
data/cifar-10-batches-bin/test_batch.bin:
	scripts/get_cifar10.sh
# The small tables of lessons 7-9 (the digits decompressed: the lessons read plain CSV).
data/digits.csv data/breast_cancer.csv &:
	scripts/get_tables.sh

# Lesson 6 needs the data set.
output/06-cnn-cifar10/summary.json: | data/cifar-10-batches-bin/test_batch.bin
# Lessons 7 and 8 train on the digits; lesson 9 uses the breast-cancer table and, for its multi-class part, the digits.
output/07-mlp-digits/summary.json output/08-regularisation/summary.json: | data/digits.csv
output/09-evaluation/summary.json: | data/breast_cancer.csv data/digits.csv
# Lesson 10 trains on CIFAR-10 and compares itself with lesson 6's run (read from output/06-cnn-cifar10/), so that
# one runs first. Its full run takes about half an hour on two cores (the main run, about 15 minutes, then
# eleven short ablation runs).
output/10-fast-cifar/summary.json: | data/cifar-10-batches-bin/test_batch.bin output/06-cnn-cifar10/summary.json

## playground: the playground's frames (every data set, activation, hidden layers and learning rate) in output/playground/
playground: output/playground/manifest.json
output/playground/manifest.json: $(wildcard Sources/PlaygroundKit/*.swift Sources/playground/*.swift) $(LIBRARY_SOURCES) | build
	$(RELEASE)/playground --out output/playground

## site: the course in output/site/: a page per lesson (figures, the code that draws them, maths as MathML), the playground and an index
site: output/site/index.html
output/site/index.html: $(foreach l,$(LESSONS),output/$(l)/summary.json) output/playground/manifest.json $(wildcard lessons/*/README.md lessons/*/main.swift) $(wildcard Sources/site/*.swift) | build
	$(RELEASE)/site --lessons lessons --runs output --site output/site

## setup-site: what check-site needs: Chromium (apt) and Playwright (pip)
setup-site:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; else echo "setup-site: run sudo apt-get install -y chromium"; exit 1; fi; }
	@python3 -c "import playwright" 2>/dev/null || python3 -m pip install -q playwright

## check-site: open every page in headless Chromium; fail on a broken image or link; screenshots in output/site-check/
check-site: site setup-site
	python3 scripts/check_site.py output/site output/site-check

## bench: time the kernels against numpy and the machine's peak (BENCH_FLAGS="--quick", "--baseline FILE")
bench: build
	$(RELEASE)/bench --out output/bench $(BENCH_FLAGS)

## gallery: an example of every plot kind and diagram in output/gallery/ (PNG and SVG)
gallery: output/gallery/.done
output/gallery/.done: $(SOURCES) | build
	$(RELEASE)/gallery --out output/gallery
	@touch $@

## clean: remove everything generated (build folders and output/; data/ stays, make clean-data removes it)
clean:
	rm -rf .build output/*
	@touch output/.gitkeep

clean-data:
	rm -rf data

## help: this list
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'
