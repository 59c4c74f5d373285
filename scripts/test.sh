#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, starts the services
# the integration tests need (tests/services/), runs ctest, then the unit
# tests again under ASan + UBSan (scripts/sanitize.sh), then the release:
# both architectures built, checked in a chroot and under qemu, end-to-end
# tests against the release binary (tests/release/ci.sh). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 900)
bash scripts/sanitize.sh
bash tests/release/ci.sh
