#!/usr/bin/env bash
# Regenerates the dialect and pass references in docs/ from the ODS files.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${S10_BUILD_DIR:-build}
ninja -C "$BUILD_DIR" mlir-doc
mkdir -p docs/reference
for f in "$BUILD_DIR"/docs/Dialects/*.md "$BUILD_DIR"/docs/*Passes.md; do
  [ -f "$f" ] && cp "$f" docs/reference/
done
ls docs/reference
