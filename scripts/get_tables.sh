#!/usr/bin/env bash
# make data: the small tables of lessons 7-9 in data/, from ../shared/data (checked against SHA256SUMS there):
#   data/digits.csv         1,797 handwritten digits (64 pixels 0-16, then the label), decompressed from
#                           digits.csv.gz, since Foundation on Linux reads no gzip and the lessons read plain CSV
#   data/breast_cancer.csv  569 tumours (a header line, then 30 features and the label), copied
# Set DATA_SHARED to another folder holding the same files (and its SHA256SUMS).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${DATA_SHARED:-../shared/data}
sums="$shared/SHA256SUMS"
mkdir -p data

# verify FILE: its SHA-256 against the line for it in SHA256SUMS; stops make data when they differ.
verify() {
  local file=$1 name expected actual
  name=$(basename "$file")
  [ -f "$file" ] || { echo "data: $file not found: these lessons' data sets ship in ../shared/data (set DATA_SHARED to the folder holding $name)" >&2; exit 1; }
  [ -f "$sums" ] || { echo "data: $sums not found: cannot check $name" >&2; exit 1; }
  expected=$(awk -v n="$name" '$2 == n || $2 == "*" n {print $1}' "$sums")
  [ -n "$expected" ] || { echo "data: $sums has no line for $name" >&2; exit 1; }
  actual=$(sha256sum "$file" | awk '{print $1}')
  [ "$expected" = "$actual" ] || { echo "data: $file does not match its SHA-256 in $sums: the copy is damaged" >&2; exit 1; }
}

# install SOURCE TARGET [gunzip]: checks SOURCE, then writes TARGET through a temporary file (never half a file).
install_table() {
  local source=$1 target=$2 unzip=${3:-}
  if [ -f "$target" ] && [ "$target" -nt "$source" ]; then echo "data: $target is already there"; return; fi
  verify "$source"
  local tmp
  tmp=$(mktemp "$target.XXXXXX")
  if [ -n "$unzip" ]; then
    gzip -dc "$source" > "$tmp" || { rm -f "$tmp"; echo "data: $source does not decompress" >&2; exit 1; }
  else
    cp "$source" "$tmp"
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$target"
  echo "data: $(wc -l < "$target") lines in $target (from $source, SHA-256 checked)"
}

install_table "$shared/digits.csv.gz" data/digits.csv gunzip
install_table "$shared/breast_cancer.csv" data/breast_cancer.csv
