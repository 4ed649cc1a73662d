"""Where a store's volatile state lives (stdlib only: the thin client imports this)."""

from __future__ import annotations

import os
import zlib

DEFAULT_ROOT = "/var/lib/richcontainer"
# A store's layout (StorePaths builds on these; the thin client's exec fast path reads them directly).
NAMES_DIR = "names"  # NAMES_DIR/NAME is a symlink to the container's id
CONTAINERS_DIR = "containers"  # CONTAINERS_DIR/ID/STATE_FILE is its record
STATE_FILE = "state.json"


def store_root() -> str:
    return os.path.abspath(os.environ.get("RICHCONTAINER_ROOT", DEFAULT_ROOT))


def run_dir(root: str) -> str:
    """/run/richcontainer-<tag of ROOT>, or RICHCONTAINER_RUNROOT: cleared by a reboot."""
    return os.environ.get("RICHCONTAINER_RUNROOT") or f"/run/richcontainer-{zlib.crc32(root.encode()):08x}"


def runtime_root(root: str) -> str:
    """The runtime's own state root (`runc --root`) for the store at ROOT."""
    return os.path.join(run_dir(root), "runtime")
