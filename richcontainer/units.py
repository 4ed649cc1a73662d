"""Parsers for the values users type: sizes, CPU counts, cpusets, restart policies, names."""

from __future__ import annotations

import re

from richcontainer.errors import UsageError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_size(text: str, what: str = "size") -> int:
    """'256m', '1g', '512MiB', '1048576' -> bytes (binary units, as docker does)."""
    m = _SIZE_RE.match(str(text))
    if not m:
        raise UsageError(f"invalid {what} {text!r}: use a number with an optional unit b, k, m, g (e.g. 256m)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_cpuset(text: str, ncpus: int) -> str:
    """Validate a cpuset list like '0-1,3' against the host's CPUs."""
    text = text.strip()
    if not _CPUSET_RE.match(text):
        raise UsageError(f"invalid cpuset {text!r}: use a list like 0-1,3")
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if int(hi or lo) < int(lo) or int(hi or lo) >= ncpus:
            raise UsageError(f"invalid cpuset {text!r}: this host has CPUs 0-{ncpus - 1}")
    return text


def cpuset_size(text: str) -> int:
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def parse_cpus(text: str, ncpus: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid --cpus {text!r}: use a decimal number like 0.5") from None
    if not 0.01 <= value <= ncpus:
        raise UsageError(f"invalid --cpus {text!r}: the range is 0.01 to {ncpus} on this host")
    return value


def parse_restart(text: str) -> tuple[str, int]:
    """'no' | 'always' | 'unless-stopped' | 'on-failure[:N]' -> (name, max_retries)."""
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise UsageError(f"invalid --restart {text!r}: use no, always, unless-stopped or on-failure[:N]")
    if count and (name != "on-failure" or not count.isdigit()):
        raise UsageError(f"invalid --restart {text!r}: only on-failure takes a retry count, a whole number")
    return name, int(count or 0)


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(f"invalid container name {name!r}: use 1-63 of [A-Za-z0-9_.-], starting with a letter or digit")
    return name


def parse_signal(text: str) -> int:
    """'TERM', 'SIGTERM', '15', 'RTMIN+3' -> signal number."""
    import signal

    t = str(text).strip().upper()
    if t.isdigit():
        n = int(t)
        if 1 <= n <= 64:
            return n
        raise UsageError(f"invalid signal {text!r}")
    t = t.removeprefix("SIG")
    m = re.match(r"^RTMIN(?:\+(\d+))?$", t)
    if m:
        return int(signal.SIGRTMIN) + int(m.group(1) or 0)
    try:
        return int(signal.Signals["SIG" + t])
    except KeyError:
        raise UsageError(f"invalid signal {text!r}") from None
