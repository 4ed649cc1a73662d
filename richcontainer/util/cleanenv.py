"""The environment external programs get (stdlib only: the thin client uses it too)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing and collections.abc cost the thin client milliseconds
if TYPE_CHECKING:
    from collections.abc import Mapping

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH (the caller's, then the system directories) and LANG, plus EXTRA; nothing else leaks."""
    env = {"PATH": os.environ.get("PATH", BASE_PATH) + ":" + BASE_PATH, "LANG": "C.UTF-8"}
    if extra:
        env.update(extra)
    return env
