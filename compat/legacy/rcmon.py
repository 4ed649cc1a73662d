#!/usr/bin/env python3
"""rcmon: a container monitor with conmon's command line (the subset richcontainer uses), for the
legacy runtime on kernels where conmon cannot run (conmon needs PR_SET_CHILD_SUBREAPER, Linux 3.4).

It runs `RUNTIME create` with RCLEGACY_CLONE_PARENT=1, so the container's init becomes rcmon's own
child and can be waited for without a subreaper. Like conmon it reports {"data": PID} (or
{"data": -1, "message": ...}) on the _OCI_SYNCPIPE fd, writes its pid to -P, copies the
container's output (pipes, or the console pty received over --console-socket) into a k8s-file log,
writes the exit code to EXIT_DIR/CID and runs the exit command. Without pid-namespace reboot
(Linux 3.4) a guest's halt cannot end its init: like LXC's utmp watch, rcmon kills init once the
guest has switched to runlevel 0 or 6 and its shutdown scripts are done.
Python >= 3.4, stdlib only (keep this directory's syntax: no f-strings, no annotations).
"""

import argparse
import array
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import time

UTMP_RECORD = 384  # struct utmp on x86_64 and aarch64
RUN_LVL = 1
HALT_GRACE = 30.0  # seconds between runlevel 0/6 and a forced kill, if processes linger


def _parser():
    ap = argparse.ArgumentParser(prog="rcmon", description="conmon-compatible monitor for rclegacy")
    ap.add_argument("--api-version", default="1")
    ap.add_argument("-c", "--cid", required=True)
    ap.add_argument("-u", "--cuuid", default=None)
    ap.add_argument("-n", "--name", default=None)
    ap.add_argument("-r", "--runtime", required=True)
    ap.add_argument("-b", "--bundle", required=True)
    ap.add_argument("-p", "--container-pidfile", required=True)
    ap.add_argument("-P", "--conmon-pidfile", default=None)
    ap.add_argument("-l", "--log-path", default=None)
    ap.add_argument("--log-size-max", type=int, default=-1)
    ap.add_argument("--exit-dir", default=None)
    ap.add_argument("--socket-dir-path", default=None)
    ap.add_argument("--runtime-arg", action="append", default=[])
    ap.add_argument("--exit-command", default=None)
    ap.add_argument("--exit-command-arg", action="append", default=[])
    ap.add_argument("-t", "--terminal", action="store_true")
    ap.add_argument("-i", "--stdin", action="store_true")
    ap.add_argument("--foreground", action="store_true", help="do not daemonize (debugging)")
    return ap


class Log(object):
    """k8s-file writer: `TIMESTAMP STREAM F|P TEXT` lines, truncated back to empty past the size cap."""

    def __init__(self, spec, size_max):
        path = spec.split(":", 1)[1] if spec and spec.startswith("k8s-file:") else spec
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if path else None
        self.size_max = size_max

    def write(self, stream, data):
        """Whole lines as F records; a trailing partial line (a prompt) at once as a P record."""
        if self.fd is None or not data:
            return
        lines = data.split(b"\n")
        rest = lines.pop()
        out = [self._line(stream, b"F", ln.rstrip(b"\r")) for ln in lines]
        if rest:
            out.append(self._line(stream, b"P", rest))
        self._emit(b"".join(out))

    def flush(self):
        """Nothing is buffered (kept for symmetry with conmon's shutdown path)."""

    def _line(self, stream, tag, text):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%09dZ" % int((now % 1) * 1e9)
        return stamp.encode() + b" " + stream.encode() + b" " + tag + b" " + text + b"\n"

    def _emit(self, data):
        if not data:
            return
        if self.size_max > 0 and os.fstat(self.fd).st_size + len(data) > self.size_max:
            os.ftruncate(self.fd, 0)
        os.write(self.fd, data)


def _sync(fd, obj):
    if fd is None:
        return
    try:
        os.write(fd, (json.dumps(obj) + "\n").encode())
    except OSError:
        pass


def _recv_fd(listener, timeout):
    """The pty master the runtime's init sends over the console socket (None if it never comes)."""
    if not select.select([listener], [], [], timeout)[0]:
        return None
    conn, _ = listener.accept()
    try:
        fds = array.array("i")
        _msg, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_LEN(fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:fds.itemsize])
        return fds[0] if fds else None
    finally:
        conn.close()


def _runlevel(pid):
    """The guest's current runlevel from its utmp (read through /proc/PID/root), or None."""
    for rel in ("run/utmp", "var/run/utmp"):
        try:
            with open("/proc/%d/root/%s" % (pid, rel), "rb") as fh:
                data = fh.read()
        except (IOError, OSError):
            continue
        level = None
        for off in range(0, len(data) - UTMP_RECORD + 1, UTMP_RECORD):
            ut_type, ut_pid = struct.unpack_from("=hxxi", data, off)
            if ut_type == RUN_LVL:
                level = chr(ut_pid & 0xFF)
        return level
    return None


def _cgroup_tasks_dir(pid):
    """The tasks directory of PID's cgroup in the first v1 hierarchy with a real controller."""
    try:
        with open("/proc/%d/cgroup" % pid) as fh:
            lines = [ln.rstrip("\n").split(":", 2) for ln in fh]
    except (IOError, OSError):
        return None
    pick = next((p for p in lines if len(p) == 3 and p[1] and not p[1].startswith("name=")), None)
    if pick is None:
        return None
    ctrl = pick[1].split(",")[0]
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            rest = right.split()
            if len(rest) >= 3 and rest[0] == "cgroup" and ctrl in rest[2].split(","):
                return left.split()[4] + pick[2]
    return None


def _others_alive(pid):
    """True while the container runs processes besides its init and the exec agent (same cgroup)."""
    path = _cgroup_tasks_dir(pid)
    try:
        with open(os.path.join(path, "tasks")) as fh:
            tasks = [int(x) for x in fh.read().split()]
    except (IOError, OSError, TypeError):
        return False
    for task in tasks:
        if task == pid:
            continue
        try:
            with open("/proc/%d/comm" % task) as fh:
                if fh.read().strip() != "rclegacy-agent":
                    return True
        except (IOError, OSError):
            continue
    return False


def _create(ns, sync_fd, log):
    """Run RUNTIME create; return (init pid, {fd: stream}) or report the failure and exit."""
    streams, child_ends = {}, []
    if ns.terminal:
        sockdir = tempfile.mkdtemp(prefix="rcmon-", dir=ns.socket_dir_path or None)
        cspath = os.path.join(sockdir, "console.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(cspath)
        listener.listen(1)
        err_r, err_w = os.pipe()  # init's errors before it takes the console
        streams = {err_r: "stderr"}
        stdio = [os.open(os.devnull, os.O_RDWR)] * 2 + [err_w]
        child_ends = [err_w]
    else:
        sockdir, cspath, listener = None, None, None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        streams = {out_r: "stdout", err_r: "stderr"}
        stdio = [os.open(os.devnull, os.O_RDONLY), out_w, err_w]
        child_ends = [out_w, err_w]
    errlog = tempfile.NamedTemporaryFile(prefix="rcmon-err-", delete=False)
    errlog.close()
    argv = [ns.runtime] + [a for a in ns.runtime_arg] + ["--log", errlog.name, "create", "--bundle", ns.bundle,
                                                         "--pid-file", ns.container_pidfile]
    if cspath:
        argv += ["--console-socket", cspath]
    argv.append(ns.cid)
    pid = os.fork()
    if pid == 0:
        try:
            for target, fd in enumerate(stdio):
                os.dup2(fd, target)
            os.environ["RCLEGACY_CLONE_PARENT"] = "1"
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    for fd in set(stdio) | set(child_ends):
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    with open(errlog.name, "rb") as fh:
        err = fh.read().decode(errors="replace").strip()
    os.unlink(errlog.name)
    master = None
    if listener is not None:
        if status == 0:
            master = _recv_fd(listener, 5.0)
        listener.close()
        os.unlink(cspath)
        os.rmdir(sockdir)
    cpid = 0
    if status == 0:
        try:
            with open(ns.container_pidfile) as fh:
                cpid = int(fh.read().strip() or 0)
        except (IOError, OSError, ValueError):
            cpid = 0
    if status != 0 or cpid <= 0 or (ns.terminal and master is None):
        msg = err.splitlines()[-1] if err else "runtime create failed (status %d)" % status
        if status == 0:
            msg = "no console from the runtime" if cpid > 0 else "runtime wrote no pid file"
        _sync(sync_fd, {"data": -1, "message": msg})
        log.write("stderr", (msg + "\n").encode())
        sys.exit(1)
    if master is not None:
        streams[master] = "stdout"
    return cpid, streams


def _wait_exit(cpid, streams, log):
    """Copy output until init ends; return its exit code (conmon's convention: 128+signal)."""
    halt_seen = None
    status = None
    hung = {}  # pty master -> time of EIO: no slave open right now (init closed the console)
    while status is None:
        now = time.time()
        fds = [fd for fd in streams if now - hung.get(fd, 0) > 0.5]
        ready = select.select(fds, [], [], 0.25)[0] if fds else (time.sleep(0.25) or [])
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:  # a pty whose slave is closed: a getty may reopen it
                    hung[fd] = time.time()
                    continue
                data = b""
            if not data:
                streams.pop(fd, None)
                os.close(fd)
                continue
            hung.pop(fd, None)
            log.write(streams[fd], data)
        done, st = os.waitpid(cpid, os.WNOHANG)
        if done:
            status = st
            break
        level = _runlevel(cpid)
        if level in ("0", "6"):
            halt_seen = halt_seen or time.time()
            if not _others_alive(cpid) or time.time() - halt_seen > HALT_GRACE:
                os.kill(cpid, signal.SIGKILL)
    for fd in list(streams):  # what is left in the pipes
        try:
            while select.select([fd], [], [], 0)[0]:
                data = os.read(fd, 65536)
                if not data:
                    break
                log.write(streams[fd], data)
        except OSError:
            pass
        os.close(fd)
    log.flush()
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 128 + os.WTERMSIG(status)


def _join_values(argv):
    """conmon's repeated options take values that look like options (`--runtime-arg --root=X`,
    `--exit-command-arg -m`): glue each to its option so argparse keeps it as a value."""
    out, it = [], iter(argv)
    for arg in it:
        if arg in ("--runtime-arg", "--exit-command-arg", "--exit-command"):
            out.append(arg + "=" + next(it, ""))
        else:
            out.append(arg)
    return out


def main(argv=None):
    ns, _unknown = _parser().parse_known_args(_join_values(sys.argv[1:] if argv is None else argv))
    sync_fd = os.environ.get("_OCI_SYNCPIPE")
    sync_fd = int(sync_fd) if sync_fd and sync_fd.isdigit() else None
    if sync_fd is not None:
        os.set_inheritable(sync_fd, False)  # not for the runtime, nor the container
    if not ns.foreground and os.fork() != 0:
        os._exit(0)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.close(null)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if ns.conmon_pidfile:
        with open(ns.conmon_pidfile, "w") as fh:
            fh.write(str(os.getpid()))
    log = Log(ns.log_path, ns.log_size_max)
    cpid, streams = _create(ns, sync_fd, log)
    _sync(sync_fd, {"data": cpid})
    if sync_fd is not None:
        os.close(sync_fd)
    code = _wait_exit(cpid, streams, log)
    if ns.exit_dir:
        path = os.path.join(ns.exit_dir, ns.cid)
        with open(path + ".tmp", "w") as fh:
            fh.write(str(code))
        os.rename(path + ".tmp", path)
    if ns.exit_command:
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(ns.exit_command, [ns.exit_command] + ns.exit_command_arg)
            finally:
                os._exit(127)
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
