"""Restart policies, applied by conmon's exit command: on-failure:N, always, unless-stopped, and
`stop` winning over the policy."""

from __future__ import annotations

import os
import signal
import time

import pytest
from corelib import assert_one_error, proc_alive, wait_until

pytestmark = pytest.mark.integration


def info(rc, name: str) -> dict:  # noqa: ANN001
    return rc.inspect(name)


def settled(rc, name: str, seconds: float = 2.5) -> dict:  # noqa: ANN001
    """The record once it stopped changing for SECONDS (no restart is pending)."""
    last = info(rc, name)
    deadline = time.monotonic() + 60
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = info(rc, name)
        key = lambda d: (d["status"], d["restart_count"], d["pid"])  # noqa: E731
        if key(now) != key(last):
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            return now
    raise AssertionError(f"{name} never settled: {last['status']} restarts={last['restart_count']}")


def test_on_failure_stops_after_n_restarts(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rp-fail", "--restart", "on-failure:2", base_image, "sh", "-c", "echo run; exit 3")
    d = wait_until(lambda: (lambda d: d if d["restart_count"] >= 2 and d["status"] == "exited" else None)(info(rc, "rp-fail")),
                   timeout=30)
    d = settled(rc, "rp-fail")
    assert d["status"] == "exited" and d["restart_count"] == 2 and d["exit_code"] == 3
    assert rc("logs", "rp-fail").stdout.count("run") >= 1


def test_on_failure_does_not_restart_success(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rp-ok", "--restart", "on-failure", base_image, "true")
    d = settled(rc, "rp-ok")
    assert d["status"] == "exited" and d["exit_code"] == 0 and d["restart_count"] == 0


def test_on_failure_restarts_a_crashed_process(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rp-crash", "--restart", "on-failure:5", base_image, "sleep", "300")
    first = info(rc, "rp-crash")["pid"]
    os.kill(first, signal.SIGKILL)  # from the host, not through the CLI: a crash
    d = wait_until(lambda: (lambda d: d if d["status"] == "running" and d["pid"] not in (0, first) else None)(
        info(rc, "rp-crash")), timeout=30)
    assert d["restart_count"] == 1 and proc_alive(d["pid"])


def test_always_restarts_exit_zero_and_stop_wins(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rp-always", "--restart", "always", base_image, "sh", "-c", "sleep 0.3; exit 0")
    wait_until(lambda: info(rc, "rp-always")["restart_count"] >= 2, timeout=30)
    wait_until(lambda: info(rc, "rp-always")["status"] == "running", timeout=30)
    rc("stop", "-t", "2", "rp-always")
    d = settled(rc, "rp-always", seconds=6)  # longer than the 5 s max backoff
    assert d["status"] == "exited" and d["stopped_by_user"] is True
    # start clears the user's stop: the policy applies again
    rc("start", "rp-always")
    count = info(rc, "rp-always")["restart_count"]
    wait_until(lambda: info(rc, "rp-always")["restart_count"] > count, timeout=30)
    rc("rm", "-f", "rp-always")


def test_unless_stopped(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "rp-unless", "--restart", "unless-stopped", base_image, "sh", "-c", "sleep 0.3; exit 1")
    wait_until(lambda: info(rc, "rp-unless")["restart_count"] >= 1, timeout=30)
    wait_until(lambda: info(rc, "rp-unless")["status"] == "running", timeout=30)
    rc("stop", "-t", "2", "rp-unless")
    d = settled(rc, "rp-unless", seconds=6)
    assert d["status"] == "exited" and d["stopped_by_user"] is True


def test_restart_policy_needs_detach_and_no_rm(rc, base_image: str) -> None:  # noqa: ANN001
    assert_one_error(rc("run", "--restart", "always", base_image, "true", check=False), code=2)
    assert_one_error(rc("run", "-d", "--rm", "--restart", "always", base_image, "true", check=False), code=2)
