"""A minimal ``subprocess.run`` for the hooks: ``os.posix_spawnp`` + pipes + a deadline.

``subprocess`` costs ~5 ms of imports (signal, threading, selectors, enum, re via locale...) on
every hook start; this needs only ``os``, ``time`` and ``select``. Always an argv list (no shell),
always a timeout: the child is killed (SIGKILL) and reaped when the deadline passes.
"""

from __future__ import annotations

import os
import time

_SIGKILL = 9
_SIGPIPE = 13  # Python ignores SIGPIPE; children get the default back (as subprocess does)


class Result:
    """Outcome of :func:`run`: returncode (negative: killed by that signal), stdout, stderr (text)."""

    __slots__ = ("args", "returncode", "stdout", "stderr")

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr


class Timeout(OSError):
    """The command did not finish before its deadline (it was killed)."""


def run(argv: list[str], input: str | None = None, timeout: float = 30.0) -> Result:
    """Run ARGV (PATH lookup), feed INPUT on stdin (else /dev/null), capture stdout and stderr.

    Raises FileNotFoundError (filename = argv[0]) if the program is missing, Timeout after TIMEOUT s.
    """
    import select

    deadline = time.monotonic() + timeout
    in_r, in_w = os.pipe() if input is not None else (-1, -1)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
    if input is not None:
        actions.insert(0, (os.POSIX_SPAWN_DUP2, in_r, 0))
    else:
        actions.insert(0, (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsigdef=(_SIGPIPE,))
    except OSError as e:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            if fd >= 0:
                os.close(fd)
        if e.filename is None:
            e.filename = argv[0]
        raise
    for fd in (in_r, out_w, err_w):
        if fd >= 0:
            os.close(fd)
    data = input.encode() if input is not None else b""
    bufs: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in bufs:
        poller.register(fd, select.POLLIN)
    if in_w >= 0:
        if data:
            os.set_blocking(in_w, False)
            poller.register(in_w, select.POLLOUT)
        else:
            os.close(in_w)
            in_w = -1
    try:
        while bufs or in_w >= 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"{argv[0]} timed out after {timeout:g} s")
            for fd, ev in poller.poll(left * 1000):
                if fd == in_w:
                    try:
                        data = data[os.write(in_w, data[:65536]):]
                    except BrokenPipeError:
                        data = b""
                    if not data:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                    continue
                chunk = os.read(fd, 65536)
                if chunk:
                    bufs[fd].append(chunk)
                else:
                    poller.unregister(fd)
                    out = b"".join(bufs.pop(fd))
                    if fd == out_r:
                        stdout = out
                    else:
                        stderr = out
                    os.close(fd)
        while True:  # both pipes closed: the child is (almost always) gone; still bounded
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() >= deadline:
                raise Timeout(f"{argv[0]} timed out after {timeout:g} s")
            time.sleep(0.0005)
    except BaseException:
        for fd in (in_w, *bufs):
            if fd >= 0:
                os.close(fd)
        try:  # not reaped yet (the pid cannot have been reused): kill and reap it
            os.kill(pid, _SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    return Result(argv, os.waitstatus_to_exitcode(status), stdout.decode(errors="replace"),
                  stderr.decode(errors="replace"))
