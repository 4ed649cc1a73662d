"""Drivers for bench/systemd_boot.py: boot a systemd guest with richcontainer, runc, LXC, nspawn, podman.

Each driver gets its own scratch directory and (except richcontainer) its own copy of the image rootfs.
Interface: unavailable() -> reason|None, prepare(), start(name), exec_argv(name, cmd), pid1(name),
stop(name) (sends the clean-shutdown request; the caller waits for PID 1 to go), remove(name), teardown().
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PODMAN_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
               "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
RC_PY = "/opt/richcontainer/venv/bin/python"
RTMIN3 = signal.SIGRTMIN + 3  # 37 on Linux


def run(argv: list[str], timeout: float = 120, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run argv, capture text output; raise RuntimeError with stderr on failure when check."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}… exit {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}")
    return p


def rc_env(store: Path) -> dict[str, str]:
    """richcontainer's environment for the scratch STORE, with an lxcfs mount of its own, so the
    bench never stops the host's daemon (nor breaks the containers using it)."""
    return dict(os.environ, RICHCONTAINER_ROOT=os.fspath(store),
                RICHCONTAINER_LXCFS_MOUNT=os.fspath(store.parent / "lxcfs"))


def compile_code() -> None:
    """Byte-compile the measured code as scripts/install.sh does: with PYTHONDONTWRITEBYTECODE set
    (common in dev shells) an edited module would otherwise be recompiled by every command."""
    repo = Path(__file__).resolve().parent.parent
    dirs = [os.fspath(repo / d) for d in ("richcontainer", "hooks", "compat", "lxcfs_py")]
    subprocess.run([RC_PY if os.path.exists(RC_PY) else sys.executable, "-m", "compileall", "-q", *dirs],
                   stdout=subprocess.DEVNULL, timeout=300, check=False)


def version(argv: list[str], env: dict[str, str] | None = None) -> str:
    try:
        return run(argv, timeout=20, env=env).stdout.strip().splitlines()[0]
    except (OSError, RuntimeError, IndexError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"


def pid_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def copy_rootfs(src: str, dst: Path) -> None:
    subprocess.run(["cp", "-a", "--reflink=auto", src + "/.", os.fspath(dst)], check=True, timeout=900)


class Driver:
    """Base: name, scratch dir, image rootfs.

    A peer boots a never-booted rootfs every round, as `richcontainer run` does: new_rootfs() mounts a
    fresh overlay over the image before the round's clock starts and drop_rootfs() removes it after.
    With reuse=True the peer instead boots one copy of the image over and over (from its second round
    on, not a first boot: journal files, the machine's first-boot units and caches are already there)."""

    name = "?"
    needs_copy = True

    def __init__(self, scratch: Path, image_rootfs: str, token: str, reuse: bool = False) -> None:
        if reuse:
            self.name += "-reused"
        self.reuse = reuse
        self.dir = scratch / self.name
        self.image_rootfs = image_rootfs
        self.token = token
        self.rootfs = self.dir / "rootfs"
        self.env: dict[str, str] | None = None  # environment for every command of this tool, exec included

    def unavailable(self) -> str | None:
        return None

    def tool_version(self) -> str:
        return ""

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.needs_copy:
            self.rootfs.mkdir(exist_ok=True)
            if self.reuse:
                copy_rootfs(self.image_rootfs, self.rootfs)

    def new_rootfs(self) -> None:
        """Before a round (untimed): a pristine rootfs, an overlay over the image like richcontainer's."""
        if not self.needs_copy or self.reuse:
            return
        self.drop_rootfs()
        upper, work = self.dir / "upper", self.dir / "work"
        upper.mkdir()
        work.mkdir()
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={self.image_rootfs},upperdir={upper},workdir={work}", os.fspath(self.rootfs)])

    def drop_rootfs(self) -> None:
        """After a round (untimed): unmount and delete what new_rootfs made."""
        if not self.needs_copy or self.reuse:
            return
        if os.path.ismount(self.rootfs) and run(["umount", os.fspath(self.rootfs)], check=False).returncode:
            run(["umount", "-l", os.fspath(self.rootfs)], check=False)
        for d in ("upper", "work"):
            subprocess.run(["rm", "-rf", "--one-file-system", os.fspath(self.dir / d)], check=False, timeout=300)

    def start(self, cname: str) -> None:
        raise NotImplementedError

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        raise NotImplementedError

    def pid1(self, cname: str) -> int | None:
        raise NotImplementedError

    def stop(self, cname: str) -> None:
        raise NotImplementedError

    def remove(self, cname: str) -> None:
        pass

    def teardown(self) -> None:
        pass


class RichContainer(Driver):
    """richcontainer run -d --init systemd (lxcfs on by default; lxcfs=False adds --no-lxcfs)."""

    needs_copy = False

    def __init__(self, scratch: Path, image_rootfs: str, token: str, store: Path, lxcfs: bool) -> None:
        self.name = "richcontainer" if lxcfs else "richcontainer-nolxcfs"
        super().__init__(scratch, image_rootfs, token)
        self.env = rc_env(store)
        self.lxcfs = lxcfs

    def rc(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["richcontainer", *args], timeout=timeout, env=self.env, check=check)

    def tool_version(self) -> str:
        return version(["richcontainer", "--version"], self.env)

    def start(self, cname: str) -> None:
        # --network none: the peers run without networking too (LXC empty, nspawn private, podman none)
        self.rc("run", "-d", "--init", "systemd", "--network", "none", *([] if self.lxcfs else ["--no-lxcfs"]),
                "--name", cname, "debian:bookworm")

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        return ["richcontainer", "exec", cname, *cmd]

    def pid1(self, cname: str) -> int | None:
        rec = json.loads(self.rc("inspect", cname).stdout)
        rec = rec[0] if isinstance(rec, list) else rec
        return rec.get("pid") or None

    def stop(self, cname: str) -> None:
        self.rc("stop", cname)

    def remove(self, cname: str) -> None:
        self.rc("rm", "-f", cname, check=False)


# A tiny recvtty: subreaper that receives runc's console master, drains it into a log, reaps the container.
RECVTTY = r"""
import array, ctypes, os, select, socket, subprocess, sys
sock_path, log_path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path); srv.listen(1); srv.settimeout(60)
runc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
log = open(log_path, "ab", buffering=0)
master = -1
try:
    conn, _ = srv.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    master = fds[0]
    conn.close()
except OSError as e:
    print("recvtty: " + str(e), file=sys.stderr)
srv.close(); os.unlink(sock_path)
rc = runc.wait()
print(rc, flush=True)
sys.stdout.close()
while True:
    if master >= 0:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                log.write(os.read(master, 65536))
            except OSError:  # EIO while no slave is open (systemd reopens /dev/console): keep the master
                select.select([], [], [], 0.02)
    else:
        select.select([], [], [], 0.05)
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
    except ChildProcessError:
        break
"""


class Runc(Driver):
    """runc-caps: runc spec + podman's 11 caps, cgroupns, rw cgroupfs, tmpfs /run /run/lock /tmp."""

    name = "runc"

    def __init__(self, scratch: Path, image_rootfs: str, token: str, reuse: bool = False) -> None:
        super().__init__(scratch, image_rootfs, token, reuse)
        self.root = self.dir / "state"
        self.helpers: dict[str, subprocess.Popen[str]] = {}

    def unavailable(self) -> str | None:
        return None if shutil.which("runc") else "runc not installed"

    def tool_version(self) -> str:
        return version(["runc", "--version"])

    def prepare(self) -> None:
        super().prepare()
        self.root.mkdir(exist_ok=True)
        run(["runc", "spec", "--bundle", os.fspath(self.dir)])
        cfg_path = self.dir / "config.json"
        cfg = json.loads(cfg_path.read_text())
        proc = cfg["process"]
        proc["args"] = ["/sbin/init"]
        proc["env"] = [e for e in proc["env"]] + ["container=runc", "container_uuid=" + self.token.ljust(32, "0")]
        proc["capabilities"] = {k: list(PODMAN_CAPS) for k in ("bounding", "effective", "permitted")}
        proc["noNewPrivileges"] = False
        cfg["root"] = {"path": os.fspath(self.rootfs), "readonly": False}
        cfg["hostname"] = "runc-bench"
        for m in cfg["mounts"]:
            if m["destination"] == "/sys/fs/cgroup":
                m["options"] = [o for o in m.get("options", []) if o != "ro"] + ["rw"]
        cfg["mounts"] += [
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]},
            {"destination": "/run/lock", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "noexec", "mode=1777"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}]
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
        cfg_path.write_text(json.dumps(cfg, indent=1))

    def runc(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run(["runc", "--root", os.fspath(self.root), *args], check=check, timeout=timeout)

    def start(self, cname: str) -> None:
        sock = self.dir / f"{cname}.sock"
        argv = ["runc", "--root", os.fspath(self.root), "run", "-d", "--console-socket", os.fspath(sock),
                "--bundle", os.fspath(self.dir), cname]
        h = subprocess.Popen([sys.executable, "-c", RECVTTY, os.fspath(sock), os.fspath(self.dir / f"{cname}.log"),
                              *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.helpers[cname] = h
        assert h.stdout is not None
        line = h.stdout.readline().strip()  # runc run -d's exit code, once it returned
        if line != "0":
            raise RuntimeError(f"runc run -d failed ({line or 'no status'}); see {self.dir / (cname + '.log')}")

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        return ["runc", "--root", os.fspath(self.root), "exec", cname, *cmd]

    def pid1(self, cname: str) -> int | None:
        return json.loads(self.runc("state", cname).stdout).get("pid") or None

    def stop(self, cname: str) -> None:
        self.runc("kill", cname, "37")

    def remove(self, cname: str) -> None:
        self.runc("delete", "--force", cname, check=False)
        h = self.helpers.pop(cname, None)
        if h is not None:
            try:
                h.wait(timeout=10)
            except subprocess.TimeoutExpired:
                h.kill()
                h.wait(timeout=10)

    def teardown(self) -> None:
        for cname in list(self.helpers):
            self.remove(cname)


class Lxc(Driver):
    """LXC: plain config (no template includes), empty network, lxc-start -d / lxc-attach / lxc-stop."""

    name = "lxc"

    def __init__(self, scratch: Path, image_rootfs: str, token: str) -> None:
        super().__init__(scratch, image_rootfs, token)
        self.lxcpath = self.dir / "lxcpath"
        self.cname = f"rcb-{token}"
        self.started = False

    def unavailable(self) -> str | None:
        return None if shutil.which("lxc-start") else "lxc not installed"

    def tool_version(self) -> str:
        return "lxc " + version(["lxc-start", "--version"])

    def prepare(self) -> None:
        super().prepare()
        cdir = self.lxcpath / self.cname
        cdir.mkdir(parents=True, exist_ok=True)
        (cdir / "config").write_text("\n".join([
            f"lxc.uts.name = {self.cname}",
            f"lxc.rootfs.path = dir:{self.rootfs}",
            "lxc.init.cmd = /sbin/init",
            "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
            "lxc.autodev = 1",
            "lxc.tty.max = 0",
            "lxc.pty.max = 16",
            "lxc.net.0.type = empty",
            "lxc.apparmor.profile = unconfined",
            f"lxc.log.file = {self.dir / 'lxc.log'}",
            "lxc.log.level = WARN", ""]))

    def base(self, tool: str) -> list[str]:
        return [tool, "-n", self.cname, "-P", os.fspath(self.lxcpath)]

    def start(self, cname: str) -> None:  # one LXC container reused: lxc-destroy would delete the rootfs copy
        run(self.base("lxc-start") + ["-d"])
        self.started = True

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        return self.base("lxc-attach") + ["--clear-env", "--", *cmd]

    def pid1(self, cname: str) -> int | None:
        out = run(self.base("lxc-info") + ["-p", "-H"], check=False).stdout.strip()
        return int(out) if out.isdigit() else None

    def stop(self, cname: str) -> None:
        run(self.base("lxc-stop") + ["-t", "60"])

    def remove(self, cname: str) -> None:
        run(self.base("lxc-stop") + ["-k"], check=False, timeout=30)

    def teardown(self) -> None:
        if (self.lxcpath / self.cname).exists():
            run(self.base("lxc-stop") + ["-k"], check=False, timeout=30)
            run(self.base("lxc-destroy") + ["-f"], check=False, timeout=120)


class Nspawn(Driver):
    """systemd-nspawn --boot in the background; exec via nsenter into the payload's PID 1."""

    name = "nspawn"

    def __init__(self, scratch: Path, image_rootfs: str, token: str) -> None:
        super().__init__(scratch, image_rootfs, token)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.leaders: dict[str, int] = {}

    def unavailable(self) -> str | None:
        return None if shutil.which("systemd-nspawn") and shutil.which("nsenter") else "systemd-nspawn/nsenter missing"

    def tool_version(self) -> str:
        return version(["systemd-nspawn", "--version"])

    def start(self, cname: str) -> None:
        log = open(self.dir / f"{cname}.log", "ab")
        self.procs[cname] = subprocess.Popen(
            ["systemd-nspawn", "--boot", "-D", os.fspath(self.rootfs), "--machine", cname, "--register=no",
             "--keep-unit", "--private-network", "--console=read-only", "-q"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def leader(self, cname: str) -> int | None:
        """The payload's PID 1: a descendant of nspawn whose innermost pid is 1."""
        if cname in self.leaders and pid_alive(self.leaders[cname]):
            return self.leaders[cname]
        p = self.procs.get(cname)
        if p is None or p.poll() is not None:
            return None
        todo = [p.pid]
        while todo:
            pid = todo.pop()
            try:
                for line in open(f"/proc/{pid}/status", encoding="ascii", errors="replace"):
                    if line.startswith("NSpid:") and len(line.split()) > 2 and line.split()[-1] == "1":
                        self.leaders[cname] = pid
                        return pid
                for t in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in open(f"/proc/{pid}/task/{t}/children").read().split()]
            except OSError:
                continue
        return None

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        pid = self.leader(cname)
        if pid is None:
            return ["false"]  # not up yet: the probe retries
        return ["nsenter", "-t", str(pid), "-a", "--", *cmd]

    def pid1(self, cname: str) -> int | None:
        return self.leader(cname)

    def stop(self, cname: str) -> None:
        pid = self.leader(cname)
        if pid is not None:
            os.kill(pid, RTMIN3)

    def remove(self, cname: str) -> None:
        p = self.procs.pop(cname, None)
        self.leaders.pop(cname, None)
        if p is None:
            return
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)

    def teardown(self) -> None:
        for cname in list(self.procs):
            p = self.procs[cname]
            if p.poll() is None:
                p.terminate()
            self.remove(cname)


def host_ulimits() -> list[str]:
    """This process's nofile/nproc limits as ulimit strings: raising them needs CAP_SYS_RESOURCE."""
    import resource
    out = []
    for name, res in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        soft, hard = (-1 if v == resource.RLIM_INFINITY else v for v in resource.getrlimit(res))
        if name == "nproc":  # somewhere on podman's path the hard nproc drops below the host's: use its old default
            soft = hard = 32768 if hard < 0 else min(hard, 32768)
        out.append(f"{name}={soft}:{hard}")
    return out


class Podman(Driver):
    """podman --runtime runc run -d --rootfs --systemd=always, with scratch --root/--runroot/--tmpdir."""

    name = "podman"

    def unavailable(self) -> str | None:
        return None if shutil.which("podman") else "podman not installed"

    def tool_version(self) -> str:
        return version(["podman", "--version"])

    def prepare(self) -> None:
        """Copy the rootfs and write a containers.conf: podman 4.3 ignores --ulimit (even "host") and asks
        runc for nofile=1048576, which fails without CAP_SYS_RESOURCE; default_ulimits is honoured."""
        super().prepare()
        conf = self.dir / "containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = " + json.dumps(host_ulimits()) + "\n")
        self.env = dict(os.environ, CONTAINERS_CONF=os.fspath(conf))

    def base(self) -> list[str]:
        d = os.fspath(self.dir)
        return ["podman", "--root", d + "/root", "--runroot", d + "/runroot", "--tmpdir", d + "/tmp",
                "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--volumepath", d + "/volumes"]

    def start(self, cname: str) -> None:
        run(self.base() + ["run", "-d", "--name", cname, "--systemd=always", "--network", "none",
                           "--rootfs", os.fspath(self.rootfs), "/sbin/init"], env=self.env)

    def exec_argv(self, cname: str, cmd: list[str]) -> list[str]:
        return self.base() + ["exec", cname, *cmd]

    def pid1(self, cname: str) -> int | None:
        out = run(self.base() + ["inspect", "-f", "{{.State.Pid}}", cname], check=False, env=self.env).stdout.strip()
        return int(out) if out.isdigit() and out != "0" else None

    def stop(self, cname: str) -> None:
        run(self.base() + ["stop", "-t", "30", cname], env=self.env)

    def remove(self, cname: str) -> None:
        run(self.base() + ["rm", "-f", cname], check=False, env=self.env)

    def teardown(self) -> None:
        run(self.base() + ["rm", "-a", "-f"], check=False, env=self.env)


def wait_gone(pid: int | None, timeout: float = 60) -> bool:
    """Poll every 2 ms until pid is gone or a zombie."""
    if pid is None:
        return True
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not pid_alive(pid):
            return True
        time.sleep(0.002)
    return False
