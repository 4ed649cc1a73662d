"""tests/net fixtures: see rcfixtures.py (shared with tests/hooks)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rcfixtures import busybox_root, containers, netroot  # noqa: E402,F401
