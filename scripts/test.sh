#!/usr/bin/env bash
# Install everything the tests need, then run them (exit 5, no tests ran, counts as failure).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
# Test-only packages: Debian's lxcfs (the differential test runs it on its own mount points),
# busybox-static (tiny rootfs for runtime-level tests), vagrant (validates vagrant/ offline).
"$here/scripts/install.sh" lxcfs busybox-static vagrant
cd "$here"
set +e
/opt/richcontainer/venv/bin/python -m pytest -p no:cacheprovider "$@"
code=$?
set -e
[ "$code" = 5 ] && { echo "test.sh: pytest collected no tests" >&2; exit 1; }
exit "$code"
