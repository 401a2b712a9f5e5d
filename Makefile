# NeuralLessons: `make` sets up, builds in release and produces everything built so far; `make test` tests.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build needs: Cairo (with its SVG and FreeType back ends), libpng, pkg-config, DejaVu.
APT_PACKAGES := libcairo2-dev libpng-dev libfreetype-dev pkg-config fonts-dejavu-core
RELEASE := .build/release
SOURCES := $(shell find Sources -name '*.swift' -o -name '*.h' -o -name '*.modulemap') Package.swift

LESSONS := $(sort $(notdir $(wildcard lessons/[0-9][0-9]-*)))
# What every lesson's output depends on besides its own folder: the shared libraries.
LIBRARY_SOURCES := $(shell find Sources/LessonKit Sources/Plotting Sources/Tensors Sources/Networks Sources/Datasets Sources/Support Sources/CCairo Sources/CPNG -type f) Package.swift

.DEFAULT_GOAL := all
.PHONY: all setup build test gallery lessons clean help

## all: set up, build in release, run every lesson, render the gallery
all: setup build lessons gallery

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
	if [ -z "$$missing" ]; then echo "setup: system packages present"; exit 0; fi; \
	echo "setup: missing:$$missing"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	else \
	  echo "setup: run this, then make again:"; \
	  echo "  sudo apt-get install -y $(APT_PACKAGES)"; exit 1; \
	fi

## build: release build of every target (CPU flags are in Package.swift)
build: setup
	$(SWIFT) build -c release

## test: the whole test suite (figure baselines, bad data, determinism); RECORD_BASELINES=1 re-records
test: setup
	$(SWIFT) test --disable-swift-testing

## gallery: an example of every plot kind and diagram in output/gallery/ (PNG and SVG)
gallery: output/gallery/.done
output/gallery/.done: $(SOURCES) | build
	$(RELEASE)/gallery --out output/gallery
	@touch $@

## clean: remove everything generated (build folders and output/)
clean:
	rm -rf .build output/*
	@touch output/.gitkeep

## help: this list
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'
