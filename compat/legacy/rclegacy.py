#!/usr/bin/env python3
"""rclegacy: a runc-compatible runtime for kernels where runc cannot run (RHEL 6, Linux 2.6.32).

Same contract as runc for create/start/state/kill/delete/exec/list on an OCI bundle, with
`--root DIR`, but built only on what 2.6.32 offers: clone() with namespace flags, mount,
pivot_root, cgroup v1 files. `exec` goes through an agent forked inside the container at create
time (no setns into mnt/pid before Linux 3.8). Runs on Python >= 3.4 (EPEL 6's python34, EL7's
python3, anything newer); keep this directory to that syntax: no f-strings, no annotations.
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runtime  # noqa: E402

VERSION = "0.1.0"
DEFAULT_ROOT = "/run/rclegacy"


def _signal(value):
    if value.isdigit():
        return int(value)
    name = value.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    sig = getattr(signal, name, None)
    if not isinstance(sig, int) and sig is None:
        raise runtime.RuntimeError_("unknown signal %r" % value)
    return int(sig)


def _parser():
    ap = argparse.ArgumentParser(prog="rclegacy", description="runc-compatible runtime for old kernels")
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("--log", default=None)
    ap.add_argument("--log-format", default="text", choices=("text", "json"))
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--systemd-cgroup", action="store_true")
    ap.add_argument("--version", "-v", action="store_true")
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("create")
    p.add_argument("--bundle", "-b", default=".")
    p.add_argument("--pid-file", default=None)
    p.add_argument("--console-socket", default=None)
    p.add_argument("--no-pivot", action="store_true")
    p.add_argument("--no-new-keyring", action="store_true")
    p.add_argument("id")
    for name in ("start", "state"):
        sub.add_parser(name).add_argument("id")
    p = sub.add_parser("kill")
    p.add_argument("--all", "-a", action="store_true")
    p.add_argument("id")
    p.add_argument("signal", nargs="?", default="SIGTERM")
    p = sub.add_parser("delete")
    p.add_argument("--force", "-f", action="store_true")
    p.add_argument("id")
    p = sub.add_parser("exec")
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--pid-file", default=None)
    p.add_argument("--env", "-e", action="append", default=[])
    p.add_argument("--cwd", default=None)
    p.add_argument("--user", "-u", default="0:0")
    p.add_argument("--process", "-p", default=None)
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("id")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("list")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("--format", "-f", default="table")
    sub.add_parser("features")
    return ap


def _exec(store, ns):
    if ns.tty:
        raise runtime.RuntimeError_("exec --tty is not supported by the legacy backend")
    uid, _, gid = ns.user.partition(":")
    env, cwd, args = None, ns.cwd, [a for a in ns.command if a != "--"] if ns.command[:1] == ["--"] else ns.command
    if ns.process:
        with open(ns.process) as fh:
            proc = json.load(fh)
        args, env, cwd = proc.get("args") or args, proc.get("env"), proc.get("cwd") or cwd
        user = proc.get("user") or {}
        uid, gid = str(user.get("uid", 0)), str(user.get("gid", 0))
    if not args:
        raise runtime.RuntimeError_("exec: no command given")
    if ns.env:
        base = env if env is not None else ((store.load(ns.id).get("config") or {}).get("process") or {}).get("env") or []
        env = list(base) + ns.env
    return runtime.exec_(store, ns.id, args, env=env, cwd=cwd, uid=int(uid or 0), gid=int(gid or 0),
                         detach=ns.detach, pid_file=ns.pid_file)


def _list(store, ns):
    ids = sorted(os.listdir(store.root)) if os.path.isdir(store.root) else []
    states = []
    for cid in ids:
        try:
            states.append(runtime.oci_state(store.load(cid)))
        except runtime.RuntimeError_:
            continue
    if ns.quiet:
        return "".join(s["id"] + "\n" for s in states)
    if ns.format == "json":
        return json.dumps(states) + "\n"
    lines = ["ID\tPID\tSTATUS\tBUNDLE\tCREATED"]
    lines += ["%s\t%d\t%s\t%s\t%s" % (s["id"], s["pid"], s["status"], s["bundle"], s["created"]) for s in states]
    return "\n".join(lines) + "\n"


def dispatch(ns):
    store = runtime.Store(ns.root)
    if ns.cmd == "create":
        runtime.create(store, ns.id, ns.bundle, ns.pid_file, console_socket=ns.console_socket,
                       clone_parent=os.environ.get("RCLEGACY_CLONE_PARENT") == "1")
    elif ns.cmd == "start":
        runtime.start(store, ns.id)
    elif ns.cmd == "state":
        sys.stdout.write(json.dumps(runtime.oci_state(store.load(ns.id)), indent=2) + "\n")
    elif ns.cmd == "kill":
        runtime.kill(store, ns.id, _signal(ns.signal), ns.all)
    elif ns.cmd == "delete":
        try:
            runtime.delete(store, ns.id, ns.force)
        except runtime.RuntimeError_:
            if not (ns.force and not os.path.isdir(store.dir(ns.id))):
                raise
    elif ns.cmd == "exec":
        return _exec(store, ns)
    elif ns.cmd == "list":
        sys.stdout.write(_list(store, ns))
    elif ns.cmd == "features":
        sys.stdout.write(json.dumps({"ociVersionMin": "1.0.0", "ociVersionMax": "1.0.2",
                                     "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
                                     "linux": {"namespaces": ["mount", "uts", "ipc", "network", "pid"],
                                               "cgroup": {"v1": True, "v2": True, "systemd": False}},
                                     "annotations": {"org.richcontainer.runtime": "legacy"}}) + "\n")
    return 0


def _log_error(ns, message):
    sys.stderr.write("rclegacy: %s\n" % message)
    if getattr(ns, "log", None):
        try:
            with open(ns.log, "a") as fh:
                if ns.log_format == "json":
                    fh.write(json.dumps({"level": "error", "msg": message,
                                         "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
                else:
                    fh.write("error: %s\n" % message)
        except (IOError, OSError):
            pass


def main(argv=None):
    ap = _parser()
    ns = ap.parse_args(argv)
    if ns.version:
        sys.stdout.write("rclegacy version %s\nspec: 1.0.2\n" % VERSION)
        return 0
    if not ns.cmd:
        ap.print_usage(sys.stderr)
        return 2
    try:
        return dispatch(ns) or 0
    except runtime.RuntimeError_ as exc:
        _log_error(ns, str(exc))
    except (IOError, OSError) as exc:
        _log_error(ns, "%s: %s" % (ns.cmd, exc))
    except KeyboardInterrupt:
        _log_error(ns, "interrupted")
    return 1


if __name__ == "__main__":
    sys.exit(main())
