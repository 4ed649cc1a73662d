"""cgroup v1 (and plain v2) handling for the legacy runtime: create, limit, join, kill, remove."""

import errno
import os
import signal
import time

_V1_FILES = [  # (OCI resources path, controller, file)
    (("memory", "limit"), "memory", "memory.limit_in_bytes"),
    (("memory", "reservation"), "memory", "memory.soft_limit_in_bytes"),
    (("memory", "swap"), "memory", "memory.memsw.limit_in_bytes"),
    (("cpu", "shares"), "cpu", "cpu.shares"),
    (("cpu", "period"), "cpu", "cpu.cfs_period_us"),
    (("cpu", "quota"), "cpu", "cpu.cfs_quota_us"),
    (("cpu", "cpus"), "cpuset", "cpuset.cpus"),
    (("cpu", "mems"), "cpuset", "cpuset.mems"),
    (("pids", "limit"), "pids", "pids.max"),
]


def hierarchies():
    """{mountpoint: [controllers]} for v1, plus ("", mountpoint) for a pure cgroup v2 host."""
    v1, v2 = {}, None
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            rest = right.split()
            if len(rest) < 3:
                continue
            point = left.split()[4]
            if rest[0] == "cgroup":
                v1[point] = [o for o in rest[2].split(",") if o not in ("rw", "ro") and "=" not in o or
                             o.startswith("name=")]
            elif rest[0] == "cgroup2" and v2 is None:
                v2 = point
    return v1, v2


def cgroup_path(config, cid):
    raw = (config.get("linux") or {}).get("cgroupsPath") or ""
    if ":" in raw:  # systemd style slice:prefix:name
        parts = raw.split(":")
        return "/" + parts[0] + "/" + parts[1] + "-" + parts[2] + ".scope"
    return raw if raw.startswith("/") else "/rclegacy/" + (raw or cid)


def _write(path, value):
    with open(path, "w") as fh:
        fh.write(str(value))


def _fill_cpuset(mount, rel):
    """2.6.32 has no clone_children by default: copy cpus/mems down each new level."""
    cur = mount
    for part in [p for p in rel.split("/") if p]:
        parent, cur = cur, os.path.join(cur, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            target = os.path.join(cur, name)
            with open(target) as fh:
                if fh.read().strip():
                    continue
            with open(os.path.join(parent, name)) as fh:
                _write(target, fh.read().strip())


def create(config, cid, pid):
    """Make the container's cgroups, apply limits, move PID in; return the list of directories."""
    v1, v2 = hierarchies()
    rel = cgroup_path(config, cid)
    res = (config.get("linux") or {}).get("resources") or {}
    paths = []
    if v1:
        for mount, ctrls in sorted(v1.items()):
            path = mount + rel
            if not os.path.isdir(path):
                os.makedirs(path)
            paths.append(path)
            if "cpuset" in ctrls:
                _fill_cpuset(mount, rel)
            for keys, ctrl, name in _V1_FILES:
                value = (res.get(keys[0]) or {}).get(keys[1])
                if value is not None and ctrl in ctrls and os.path.exists(os.path.join(path, name)):
                    _write(os.path.join(path, name), value)
            if "devices" in ctrls:
                for rule in res.get("devices") or []:
                    spec = "%s %s:%s %s" % (rule.get("type", "a"), _num(rule.get("major")), _num(rule.get("minor")),
                                            rule.get("access", "rwm"))
                    _write(os.path.join(path, "devices.allow" if rule.get("allow") else "devices.deny"),
                           "a" if spec.startswith("a ") else spec)
            _write(os.path.join(path, "cgroup.procs" if os.path.exists(os.path.join(path, "cgroup.procs")) else "tasks"), pid)
    elif v2:
        path = v2 + rel
        if not os.path.isdir(path):
            os.makedirs(path)
        paths.append(path)
        mem = (res.get("memory") or {}).get("limit")
        if mem is not None:
            _write(os.path.join(path, "memory.max"), mem)
        pids = (res.get("pids") or {}).get("limit")
        if pids is not None:
            _write(os.path.join(path, "pids.max"), pids)
        _write(os.path.join(path, "cgroup.procs"), pid)
    return paths


def _num(value):
    return "*" if value is None or value == -1 else str(value)


def pids(paths):
    found = set()
    for path in paths:
        for name in ("cgroup.procs", "tasks"):
            try:
                with open(os.path.join(path, name)) as fh:
                    found.update(int(x) for x in fh.read().split())
                break
            except (IOError, OSError):
                continue
    return found


def kill_all(paths, sig=signal.SIGKILL):
    for pid in pids(paths):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def remove(paths, timeout=5.0):
    """Kill what is left and remove the directories (retrying while the kernel drains them)."""
    deadline = time.time() + timeout
    for path in paths:
        while os.path.isdir(path):
            kill_all([path])
            try:
                os.rmdir(path)
            except OSError as exc:
                if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.time() > deadline:
                    raise
                time.sleep(0.02)
        parent = os.path.dirname(path)
        if os.path.basename(parent) == "rclegacy":
            try:
                os.rmdir(parent)
            except OSError:
                pass
