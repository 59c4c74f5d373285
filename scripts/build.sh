#!/usr/bin/env bash
# Configures and builds into ./build (Release with debug info, Ninja, -j2).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j2
