"""exec (with and without a tty, -e/-u/-w, exit codes) and logs (--tail, --timestamps, -f)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest
from corelib import assert_one_error, rc_argv

pytestmark = pytest.mark.integration

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ")


@pytest.fixture
def sleeper(rc, base_image: str) -> str:  # noqa: ANN001
    rc("run", "-d", "--name", "ex-sleeper", base_image, "sleep", "600")
    return "ex-sleeper"


def test_exec_plain_env_user_workdir(rc, sleeper: str) -> None:  # noqa: ANN001
    p = rc("exec", sleeper, "sh", "-c", "echo hello; echo oops >&2")
    assert p.stdout == "hello\n" and "oops" in p.stderr
    assert rc("exec", "-e", "FOO=bar baz", "-e", "X=1", sleeper, "sh", "-c", 'echo "$FOO|$X"').stdout == "bar baz|1\n"
    assert rc("exec", "-u", "nobody", sleeper, "id", "-u").stdout.strip() == "65534"
    assert rc("exec", "-u", "1234:4321", sleeper, "id").stdout.startswith("uid=1234 gid=4321")
    assert rc("exec", "-w", "/usr/share", sleeper, "pwd").stdout.strip() == "/usr/share"
    # without -t there is no terminal
    assert rc("exec", sleeper, "tty", check=False).stdout.strip() == "not a tty"
    # -i passes stdin through
    assert rc("exec", "-i", sleeper, "cat", input="piped\n").stdout == "piped\n"


def test_exec_exit_codes_propagate(rc, sleeper: str) -> None:  # noqa: ANN001
    for code in (0, 1, 9, 42, 255):
        assert rc("exec", sleeper, "sh", "-c", f"exit {code}", check=False).returncode == code
    p = rc("exec", sleeper, "/no/such/binary", check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert_one_error(rc("exec", "-u", "nosuchuser", sleeper, "true", check=False), code=2)
    assert_one_error(rc("exec", "-w", "relative", sleeper, "true", check=False), code=2)
    assert_one_error(rc("exec", "nosuchcontainer", "true", check=False), code=3)
    rc("stop", "-t", "0", sleeper)
    assert_one_error(rc("exec", sleeper, "true", check=False), code=4)


def _run_in_pty(argv: list[str], env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    """Run ARGV with a fresh pty as its controlling terminal; return (exit code, output)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                                close_fds=True)
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, out.decode(errors="replace")


def test_exec_with_tty(rc, sleeper: str) -> None:  # noqa: ANN001
    code, out = _run_in_pty([*rc_argv(), "exec", "-it", sleeper, "tty"], rc.env)
    assert code == 0, out
    assert re.search(r"/dev/pts/\d+", out), out
    code, out = _run_in_pty([*rc_argv(), "exec", "-t", sleeper, "sh", "-c", "test -t 0 && test -t 1 && exit 6"], rc.env)
    assert code == 6, out
    code, out = _run_in_pty([*rc_argv(), "exec", "-it", sleeper, "sh", "-c", 'echo "term=$TERM"; stty size'],
                            {**rc.env, "TERM": "xterm"})
    assert code == 0 and re.search(r"\d+ \d+", out), out


def test_logs_of_detached_container(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lg-out", base_image, "sh", "-c",
       "for i in 1 2 3 4 5; do echo line$i; done; echo to-stderr >&2; printf 'no-newline'")
    rc("wait", "lg-out")
    p = rc("logs", "lg-out")
    assert p.stdout == "line1\nline2\nline3\nline4\nline5\nno-newline\n"
    assert p.stderr == "to-stderr\n"
    tail = rc("logs", "--tail", "2", "lg-out")  # the last 2 records, whichever stream
    assert (tail.stdout, tail.stderr) == ("no-newline\n", "to-stderr\n")
    assert rc("logs", "--tail", "3", "lg-out").stdout == "line5\nno-newline\n"
    assert rc("logs", "--tail", "0", "lg-out").stdout == ""
    lines = rc("logs", "--timestamps", "lg-out").stdout.splitlines()
    assert len(lines) == 6 and all(TS.match(ln) for ln in lines), lines
    assert lines[0].endswith(" line1")
    assert_one_error(rc("logs", "--tail", "x", "lg-out", check=False), code=2)
    assert_one_error(rc("logs", "nosuchcontainer", check=False), code=3)


def test_logs_follow_returns_when_container_exits(rc, base_image: str) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "lg-follow", base_image, "sh", "-c",
       "for i in 1 2 3 4; do echo f$i; sleep 0.5; done")
    t0 = time.monotonic()
    p = rc("logs", "-f", "lg-follow", timeout=60)
    took = time.monotonic() - t0
    assert p.stdout == "f1\nf2\nf3\nf4\n"
    assert took > 1.0, took  # it really followed, it did not just dump the file
    assert rc.inspect("lg-follow")["status"] == "exited"
    # -f on an exited container prints everything and returns
    assert rc("logs", "-f", "--tail", "1", "lg-follow", timeout=30).stdout == "f4\n"
