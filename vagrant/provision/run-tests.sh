#!/bin/bash
# Run `richcontainer check` and the test suite inside the box. Usage: run-tests.sh compat|all
set -uo pipefail
cd /opt/richcontainer
py=/opt/python3.11/bin/python3.11
[ -x "$py" ] || py=/opt/rc-venv/bin/python
echo "== richcontainer check"
if command -v richcontainer >/dev/null && [ "$1" = all ]; then
  richcontainer check; rc=$?
else
  "$py" -m compat.check; rc=$?
fi
echo "== check exit code $rc"
echo "== tests ($1)"
if [ "$1" = compat ]; then
  "$py" -m pytest -q tests/compat
else
  "$py" -m pytest -q tests
fi
