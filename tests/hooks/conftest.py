"""tests/hooks fixtures: the runc container factory of tests/net/rcfixtures.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))

from rcfixtures import busybox_root, containers, netroot  # noqa: E402,F401
