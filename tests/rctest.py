"""Helpers shared by test modules (import this, never `conftest`: that name is ambiguous)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rc_binary() -> list[str]:
    """The installed launcher for this checkout (thin client + forkserver), else the venv's script."""
    launcher = Path(os.environ.get("RICHCONTAINER_BIN", "/usr/local/bin/richcontainer"))
    try:
        if str(REPO) in launcher.read_text():
            return [str(launcher)]
    except OSError:
        pass
    exe = Path(sys.executable).parent / "richcontainer"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "richcontainer"]
