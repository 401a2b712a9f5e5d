#!/usr/bin/env bash
# make data: put CIFAR-10 (official binary layout) in data/cifar-10-batches-bin/.
# From ../shared/data/cifar-10-binary.tar.gz when it is there (checked against SHA256SUMS beside it),
# else from the data set's home page (checked against the official MD5).
set -euo pipefail
cd "$(dirname "$0")/.."
target=data/cifar-10-batches-bin
shared=${CIFAR10_ARCHIVE:-../shared/data/cifar-10-binary.tar.gz}
official_url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
official_md5=c32a1d4ab5d03f1284b67883e8d87530
mkdir -p data
if [ -f "$target/test_batch.bin" ] && [ -f "$target/data_batch_5.bin" ]; then
  echo "data: $target is already there"; exit 0
fi
tmp=$(mktemp -d data/.extract.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$shared" ]; then
  sums="$(dirname "$shared")/SHA256SUMS"
  if [ -f "$sums" ]; then
    expected=$(grep "$(basename "$shared")" "$sums" | awk '{print $1}')
    actual=$(sha256sum "$shared" | awk '{print $1}')
    if [ -n "$expected" ] && [ "$expected" != "$actual" ]; then
      echo "data: $shared does not match its SHA-256 in $sums: the copy is damaged" >&2; exit 1
    fi
  fi
  echo "data: extracting $shared"
  tar -xzf "$shared" -C "$tmp"
else
  echo "data: $shared not found; downloading $official_url"
  curl -fL --retry 3 -o "$tmp/cifar-10-binary.tar.gz" "$official_url" || { echo "data: the download failed: fetch $official_url by hand and set CIFAR10_ARCHIVE to it" >&2; exit 1; }
  actual=$(md5sum "$tmp/cifar-10-binary.tar.gz" | awk '{print $1}')
  [ "$actual" = "$official_md5" ] || { echo "data: the download's MD5 is $actual, not $official_md5: try again" >&2; exit 1; }
  tar -xzf "$tmp/cifar-10-binary.tar.gz" -C "$tmp"
fi
[ -f "$tmp/cifar-10-batches-bin/test_batch.bin" ] || { echo "data: the archive has no cifar-10-batches-bin/test_batch.bin" >&2; exit 1; }
rm -rf "$target"
mv "$tmp/cifar-10-batches-bin" "$target"
echo "data: CIFAR-10 is in $target"
