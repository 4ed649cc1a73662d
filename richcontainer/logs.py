"""Reading conmon's k8s-file container logs: `TIMESTAMP STREAM P|F TEXT` per line."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path


def parse_records(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    """Join partial (P) records into whole lines: yields (timestamp, stream, text)."""
    pending: dict[str, tuple[str, str]] = {}
    for raw in lines:
        parts = raw.rstrip("\n").split(" ", 3)
        if len(parts) < 3:
            continue
        ts, stream, tag = parts[0], parts[1], parts[2]
        text = parts[3] if len(parts) > 3 else ""
        first_ts, acc = pending.pop(stream, (ts, ""))
        if tag == "P":
            pending[stream] = (first_ts, acc + text)
            continue
        yield first_ts, stream, acc + text
    for stream, (ts, acc) in pending.items():
        if acc:
            yield ts, stream, acc


def emit(record: tuple[str, str, str], timestamps: bool) -> None:
    ts, stream, text = record
    out = sys.stderr if stream == "stderr" else sys.stdout
    out.write((ts + " " if timestamps else "") + text + "\n")


def show_logs(path: Path, *, tail: int | None, timestamps: bool, follow: bool,
              still_running: Callable[[], bool]) -> None:
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except FileNotFoundError:
        if not follow:
            return
        f = None
    if f is None:
        return
    with f:
        records = parse_records(iter(f.readline, ""))
        if tail is not None:
            records = iter(deque(records, maxlen=tail)) if tail > 0 else iter(())
            if tail == 0:
                for _ in parse_records(iter(f.readline, "")):
                    pass
        for rec in records:
            emit(rec, timestamps)
        sys.stdout.flush()
        if not follow:
            return
        buf = ""
        idle_since = None
        while True:
            chunk = f.readline()
            if chunk:
                buf += chunk
                if buf.endswith("\n"):
                    for rec in parse_records(iter([buf])):
                        emit(rec, timestamps)
                    buf = ""
                    sys.stdout.flush()
                idle_since = None
                continue
            if not still_running():
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.3:
                    return
            time.sleep(0.1)
            if os.fstat(f.fileno()).st_size < f.tell():
                f.seek(0)  # rotated
