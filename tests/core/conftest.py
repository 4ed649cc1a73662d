"""tests/core fixtures: see corelib.py (helpers shared by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corelib import paths, scratch, snapshot  # noqa: E402,F401
