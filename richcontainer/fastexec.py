"""`exec NAME CMD...` without the forkserver: the thin client reads the record and execs the runtime.

`exec` is a hot path (health probes, scripts); going through the forkserver costs a fork of the
warm server and click's parsing, ~10 ms of the ~30 ms a plain exec takes. This module handles
only the plain form (no options) of a container whose record says `running` with a live,
start-time-checked init, and hands everything else, including every error, to the full CLI.
It produces the same runtime argv and environment as the CLI's `exec` (runtime.argv, cleanenv)
and imports only built-in modules: `json` would import `re` (~9 ms), so the record is parsed
with the C scanner that `json` itself uses.
"""

from __future__ import annotations

import os

import _json

from richcontainer.runroot import CONTAINERS_DIR, NAMES_DIR, STATE_FILE, runtime_root, store_root
from richcontainer.runtime.argv import base_argv, exec_argv
from richcontainer.util.cleanenv import clean_env
from richcontainer.util.pidstat import proc_start_ticks

_HEX = frozenset("0123456789abcdef")


class _ScanContext:
    """What _json.make_scanner reads from a JSONDecoder: standard JSON, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.replace("Infinity", "inf"))  # NaN, Infinity, -Infinity as json does


def _load(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            text = f.read().decode()
        value, _end = _json.make_scanner(_ScanContext())(text, 0)
    except (OSError, ValueError, StopIteration):
        return None
    return value if isinstance(value, dict) else None


def plain_exec_argv(args: list[str]) -> list[str] | None:
    """The runtime argv for ARGS = ["exec", REF, CMD, ...] when the fast path may take it, else None."""
    if len(args) < 3 or args[0] != "exec" or args[1].startswith("-") or args[2] == "--":
        return None
    root = store_root()
    ref = args[1]
    cid = ""
    if "/" not in ref and ref not in (".", ".."):
        try:
            cid = os.readlink(os.path.join(root, NAMES_DIR, ref))
        except OSError:
            cid = ref
    if len(cid) != 64 or not _HEX.issuperset(cid):
        return None  # an id prefix, or no such name: the CLI resolves or reports it
    state = _load(os.path.join(root, CONTAINERS_DIR, cid, STATE_FILE))
    if not state or state.get("status") != "running" or not state.get("runtime_path"):
        return None
    pid, start = state.get("pid"), state.get("pid_start")
    if not isinstance(pid, int) or not isinstance(start, int) or pid <= 0 or start <= 0 \
            or proc_start_ticks(pid) != start:
        return None  # gone, or never confirmed: the CLI reconciles and reports
    base = base_argv(str(state["runtime_path"]), runtime_root(root))
    return exec_argv(base, cid, args[2:])


def try_fast_exec(args: list[str]) -> None:
    """Exec the runtime for a plain `exec` (never returns then); return if the CLI must handle ARGS."""
    argv = plain_exec_argv(args)
    if argv is not None:
        from richcontainer.forkclient import exec_argv_here

        exec_argv_here(argv, clean_env(), stdin_null=True)
