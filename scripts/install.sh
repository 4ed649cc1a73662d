#!/usr/bin/env bash
# Install richcontainer from this checkout: Debian packages, a venv in /opt/richcontainer,
# and /usr/local/bin/richcontainer. Re-running is safe.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
"$here/scripts/install-deps.sh" "$@"
venv="${RICHCONTAINER_VENV:-/opt/richcontainer/venv}"
py="$(command -v python3)"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e "$here[test]"
# Byte-compile now: the CLI's thin client and the OCI hooks start with -S on every call.
"$venv/bin/python" -m compileall -q "$here/richcontainer" "$here/hooks" "$here/compat" "$here/lxcfs_py" || true
for tool in richcontainer-hook lxcfs-py; do
  ln -sf "$venv/bin/$tool" "/usr/local/bin/$tool"
done
# The CLI launcher starts Python without site (-S): the thin client needs only the standard
# library, and site's start-up (path hooks, .pth files) would cost more than the command.
launcher=/usr/local/bin/richcontainer
rm -f "$launcher.tmp"
cat > "$launcher.tmp" <<LAUNCH
#!$venv/bin/python -S
import sys
sys.path.insert(0, "$here")
from richcontainer.client import main
main()
LAUNCH
chmod 755 "$launcher.tmp"
mv -f "$launcher.tmp" "$launcher"
echo "richcontainer installed: $(command -v richcontainer) ($("$venv/bin/python" --version))"
