"""The one place that runs external programs: argv lists, clean env, timeouts, typed errors."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from typing import Union

from richcontainer.errors import CommandTimeout, RuntimeFailure

from richcontainer.util.cleanenv import BASE_PATH, clean_env  # noqa: F401  (re-exported)

log = logging.getLogger("richcontainer")
StrPath = Union[str, "os.PathLike[str]"]


def run(argv: Sequence[StrPath], *, input: str | bytes | None = None, timeout: float = 60,
        check: bool = True, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ARGV to completion and capture its output; raise RuntimeFailure on a non-zero exit."""
    cmd = [os.fspath(a) for a in argv]
    log.debug("+ %s", shlex.join(cmd))
    try:
        p = subprocess.run(cmd, input=input.decode() if isinstance(input, bytes) else input,
                           capture_output=True, text=True, env=clean_env(env), timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise RuntimeFailure(f"{cmd[0]} not found", hint="run scripts/install-deps.sh") from None
    except subprocess.TimeoutExpired:
        raise CommandTimeout(f"{shlex.join(cmd[:3])} did not finish in {timeout:g}s") from None
    if check and p.returncode != 0:
        raise RuntimeFailure(f"{os.path.basename(cmd[0])} {cmd[1] if len(cmd) > 1 else ''} failed "
                             f"(exit {p.returncode}): {last_line(p.stderr) or last_line(p.stdout)}")
    return p


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
