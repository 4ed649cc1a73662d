"""Container lifecycle for the legacy runtime: create, start, state, kill, delete, exec.

Process tree after `create`: init (clone with CLONE_NEWPID|NEWNS|..., pid 1 inside) waits on a pipe
for `start`; its child, the agent, serves start/exec on STATE_DIR/agent.sock. The create process
exits, like runc's, once init is ready and the createRuntime/prestart hooks ran.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import agent
import cgroups
import mounts
import nsutil as ns


class RuntimeError_(Exception):
    """A user-facing error: printed as one line, exit code 1."""


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


class Store(object):
    def __init__(self, root):
        self.root = root

    def dir(self, cid):
        if not cid or "/" in cid or cid in (".", ".."):
            raise RuntimeError_("invalid container id %r" % cid)
        return os.path.join(self.root, cid)

    def load(self, cid):
        try:
            with open(os.path.join(self.dir(cid), "state.json")) as fh:
                return json.load(fh)
        except (IOError, OSError, ValueError):
            raise RuntimeError_("container %s does not exist" % cid)

    def save(self, cid, state):
        path = os.path.join(self.dir(cid), "state.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(state, fh)
        os.rename(tmp, path)


def status(state):
    pid = state.get("pid") or 0
    if not pid or ns.proc_start_time(pid) != state.get("start_time"):
        return "stopped"
    return "running" if state.get("started") else "created"


def oci_state(state):
    st = status(state)
    return {"ociVersion": "1.0.2", "id": state["id"], "pid": state["pid"] if st != "stopped" else 0,
            "status": st, "bundle": state["bundle"], "rootfs": state["rootfs"], "created": state["created"],
            "owner": "", "annotations": state.get("annotations") or {}}


def run_hooks(state, kind, hook_state):
    for i, hook in enumerate(((state.get("config") or {}).get("hooks") or {}).get(kind) or []):
        try:
            proc = subprocess.Popen([hook["path"]] + (hook.get("args") or [hook["path"]])[1:],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env=dict(e.split("=", 1) for e in hook.get("env") or []), close_fds=True)
            out = proc.communicate(json.dumps(hook_state).encode(), timeout=hook.get("timeout") or 60)[0]
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError_("error running %s hook #%d: %s" % (kind, i, exc))
        if proc.returncode != 0:
            raise RuntimeError_("error running %s hook #%d: exit status %d: %s"
                                % (kind, i, proc.returncode, out.decode(errors="replace").strip()))


def create(store, cid, bundle, pid_file=None, console_socket=None, clone_parent=False):
    """CLONE_PARENT (RCLEGACY_CLONE_PARENT=1) makes init a child of our caller, the monitor: 2.6.32
    has no PR_SET_CHILD_SUBREAPER, so this is how a monitor can wait for the container's exit."""
    bundle = os.path.abspath(bundle)
    try:
        with open(os.path.join(bundle, "config.json")) as fh:
            config = json.load(fh)
    except (IOError, OSError, ValueError) as exc:
        raise RuntimeError_("cannot read %s/config.json: %s" % (bundle, exc))
    process = config.get("process") or {}
    if process.get("terminal") and not console_socket:
        raise RuntimeError_("process.terminal needs --console-socket")
    console = os.path.abspath(console_socket) if process.get("terminal") else None
    rootfs = os.path.join(bundle, (config.get("root") or {}).get("path") or "rootfs")
    if not os.path.isdir(rootfs):
        raise RuntimeError_("rootfs %s is not a directory" % rootfs)
    flags, net_path = 0, None
    for nsdef in (config.get("linux") or {}).get("namespaces") or []:
        kind = nsdef.get("type")
        if kind not in ns.NS_FLAGS:
            raise RuntimeError_("unknown namespace type %r" % kind)
        if kind in ("user", "cgroup"):
            if kind == "user":
                raise RuntimeError_("user namespaces are not supported by the legacy backend")
            continue
        if nsdef.get("path"):
            if kind != "network":
                raise RuntimeError_("joining a %s namespace needs setns (Linux 3.8)" % kind)
            net_path = nsdef["path"]
            continue
        flags |= ns.NS_FLAGS[kind]
    if not flags & ns.CLONE_NEWNS or not flags & ns.CLONE_NEWPID:
        raise RuntimeError_("the legacy backend needs mount and pid namespaces")
    sdir = store.dir(cid)
    if not os.path.isdir(store.root):
        os.makedirs(store.root, 0o700)
    try:
        os.mkdir(sdir, 0o700)
    except OSError:
        raise RuntimeError_("container %s already exists" % cid)
    sock_path = os.path.join(sdir, agent.SOCKET)
    go_r, go_w = os.pipe()
    sync_r, sync_w = os.pipe()
    pid = ns.clone(flags | (ns.CLONE_PARENT if clone_parent else 0))
    if pid == 0:
        os.close(go_w)
        os.close(sync_r)
        _init(config, rootfs, sock_path, net_path, go_r, sync_w, console)  # never returns
    os.close(go_r)
    os.close(sync_w)
    paths = []
    state = {"id": cid, "pid": pid, "bundle": bundle, "rootfs": rootfs, "created": _now(), "config": config,
             "annotations": config.get("annotations") or {}, "cgroups": paths, "started": False}
    try:
        paths.extend(cgroups.create(config, cid, pid))
        os.write(go_w, b"g")
        os.close(go_w)
        reply = _read_all(sync_r)
        if reply != b"ok":
            raise RuntimeError_(reply.decode(errors="replace") or "container init died during setup")
        state["start_time"] = ns.proc_start_time(pid)
        store.save(cid, state)
        for kind in ("createRuntime", "prestart"):
            run_hooks(state, kind, oci_state(state))
        if pid_file:
            with open(pid_file, "w") as fh:
                fh.write(str(pid))
    except BaseException:
        _destroy(store, cid, state)
        raise


def _read_all(fd):
    chunks = []
    while True:
        data = os.read(fd, 4096)
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks)


def _init(config, rootfs, sock_path, net_path, go_r, sync_w, console=None):
    """Container init (pid 1 of the new pid namespace): set up, fork the agent, wait for start, exec."""
    tty = None
    try:
        if os.read(go_r, 1) != b"g":
            os._exit(1)
        os.close(go_r)
        if net_path:
            fd = os.open(net_path, os.O_RDONLY)
            ns.setns(fd, ns.CLONE_NEWNET)
            os.close(fd)
        mounts.setup_rootfs(config, rootfs)
        if console:
            tty = mounts.setup_console(rootfs, console)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        addr, dirfd = ns.unix_path(sock_path)
        listener.bind(addr)  # bound while the host's state dir is still visible
        if dirfd is not None:
            os.close(dirfd)
        listener.listen(16)
        mounts.enter_rootfs(config, rootfs)
        if config.get("hostname"):
            ns.sethostname(config["hostname"])
        start_r, start_w = os.pipe()
        if os.fork() == 0:
            os.close(start_r)
            os.close(sync_w)
            agent.serve(listener, start_w)
        listener.close()
        os.close(start_w)
        os.write(sync_w, b"ok")
        os.close(sync_w)
    except Exception as exc:  # noqa: BLE001 - report to create, which cleans up
        try:
            os.write(sync_w, ("container init: %s" % exc).encode())
        finally:
            os._exit(1)
    if os.read(start_r, 1) != b"s":
        os._exit(1)
    os.close(start_r)
    _exec_process(config.get("process") or {}, tty)


def _exec_process(process, tty=None):
    try:
        if tty:
            ns.take_terminal(tty)
        env = dict(e.split("=", 1) for e in process.get("env") or [] if "=" in e)
        os.chdir(process.get("cwd") or "/")
        for rl in process.get("rlimits") or []:
            name = getattr(resource, rl["type"], None)
            if name is not None:
                resource.setrlimit(name, (rl["soft"], rl["hard"]))
        bounding = (process.get("capabilities") or {}).get("bounding")
        if bounding is not None:
            # Before Linux 3.4 reboot(2) in a pid namespace reboots the host: never keep CAP_SYS_BOOT.
            ns.drop_bounding_caps(set(ns.CAPS.index(c) for c in bounding if c in ns.CAPS and c != "CAP_SYS_BOOT"))
        user = process.get("user") or {}
        os.setgroups([int(g) for g in user.get("additionalGids") or []])
        os.setgid(int(user.get("gid", 0)))
        os.setuid(int(user.get("uid", 0)))
        args = process.get("args") or ["/bin/sh"]
        if "PATH" in env:
            os.environ["PATH"] = env["PATH"]
        os.execvpe(args[0], args, env)
    except Exception as exc:  # noqa: BLE001
        sys.stderr.write("rclegacy: exec %s: %s\n" % (process.get("args"), exc))
    os._exit(127)


def start(store, cid):
    state = store.load(cid)
    if status(state) != "created":
        raise RuntimeError_("cannot start a container that is %s" % status(state))
    sock = agent.client(os.path.join(store.dir(cid), agent.SOCKET), {"op": "start"}, fds=())
    reply, _ = agent.read_reply(sock, bytearray())
    sock.close()
    if not reply or not reply.get("ok"):
        raise RuntimeError_("start: %s" % ((reply or {}).get("error") or "agent did not answer"))
    state["started"] = True
    store.save(cid, state)
    run_hooks(state, "poststart", oci_state(state))


def kill(store, cid, sig, all_=False):
    state = store.load(cid)
    if status(state) == "stopped":
        raise RuntimeError_("container %s is not running" % cid)
    if all_:
        cgroups.kill_all(state.get("cgroups") or [], sig)
    else:
        os.kill(state["pid"], sig)


def delete(store, cid, force=False):
    state = store.load(cid)
    st = status(state)
    if st == "running" and not force:
        raise RuntimeError_("cannot delete container %s that is not stopped: %s" % (cid, st))
    _destroy(store, cid, state)
    try:
        run_hooks(state, "poststop", oci_state(state))
    except RuntimeError_ as exc:
        sys.stderr.write("rclegacy: %s\n" % exc)


def _destroy(store, cid, state):
    """Kill init (the kernel then kills the whole pid namespace), wait, remove cgroups and state."""
    pid = state.get("pid")
    if pid and ns.proc_start_time(pid) == state.get("start_time", ns.proc_start_time(pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        deadline = time.time() + 5
        while ns.proc_start_time(pid) is not None and time.time() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except OSError:
                pass
            time.sleep(0.01)
    cgroups.remove(state.get("cgroups") or [])
    sdir = store.dir(cid)
    for name in os.listdir(sdir) if os.path.isdir(sdir) else []:
        os.unlink(os.path.join(sdir, name))
    if os.path.isdir(sdir):
        os.rmdir(sdir)


def exec_(store, cid, args, env=None, cwd=None, uid=0, gid=0, detach=False, pid_file=None):
    state = store.load(cid)
    if status(state) not in ("running", "created"):
        raise RuntimeError_("container %s is not running" % cid)
    proc = (state.get("config") or {}).get("process") or {}
    req = {"op": "exec", "args": args, "env": env if env is not None else proc.get("env") or [],
           "cwd": cwd or proc.get("cwd") or "/", "uid": uid, "gid": gid, "detach": detach}
    sock = agent.client(os.path.join(store.dir(cid), agent.SOCKET), req)
    buf, host_pid = bytearray(), None
    while True:
        reply, sender = agent.read_reply(sock, buf)
        if reply is None:
            raise RuntimeError_("exec: the agent went away")
        if reply.get("started"):
            host_pid = sender
        elif "error" in reply:
            raise RuntimeError_(reply["error"])
        elif "pid" in reply:
            if pid_file:
                with open(pid_file, "w") as fh:
                    fh.write(str(host_pid or reply["pid"]))
            if detach:
                return 0
        elif "exit" in reply:
            return int(reply["exit"])
