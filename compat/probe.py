"""Probe what the host can do, by trying, and cache the answer per boot and kernel.

File probes read below an injectable ROOT (tests feed recorded EL6/EL7 /proc and /sys trees);
syscall probes run in a child (compat.live) when LIVE, else come from ROOT/recorded-probes.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from compat.features import NAMESPACES
from compat.model import PROBE_VERSION, HostFacts

LEGACY_RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy", "rclegacy.py")
RECORDED = "recorded-probes.txt"
DEFAULT_CACHE_DIR = "/run/richcontainer/compat"


def _path(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _read(root: str, path: str) -> str | None:
    try:
        with open(_path(root, path), encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def parse_mountinfo(text: str) -> list[tuple[str, str, str]]:
    """(mountpoint, fstype, super options) for each line of /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        mounts.append((fields[4].replace("\\040", " "), rest[0], rest[2]))
    return mounts


def _cgroup_facts(root: str, mounts: list[tuple[str, str, str]]) -> dict:
    """Layout, controllers and the limit files that exist."""
    controllers: dict[str, bool] = {}
    for line in (_read(root, "/proc/cgroups") or "").splitlines():
        parts = line.split()
        if len(parts) == 4 and not line.startswith("#"):
            controllers[parts[0]] = parts[3] == "1"
    v1: dict[str, str] = {}
    v2_mount = None
    for point, fstype, opts in mounts:
        if fstype == "cgroup":
            for opt in opts.split(","):
                if opt in controllers or opt.startswith("name="):
                    v1.setdefault(opt, point)
        elif fstype == "cgroup2" and v2_mount is None:
            v2_mount = point
    v2_ctrl: tuple[str, ...] = ()
    if v2_mount:
        v2_ctrl = tuple((_read(root, v2_mount + "/cgroup.controllers") or "").split())
    real_v1 = [c for c in v1 if not c.startswith("name=")]
    mode = "none"
    if real_v1 and v2_mount:
        mode = "hybrid"
    elif real_v1 or v1:
        mode = "v1"
    elif v2_mount:
        mode = "v2"
    f: dict[str, tuple[bool | None, str]] = {
        "cgroup.v1": (bool(real_v1), os.path.dirname(v1[real_v1[0]]) if real_v1 else ""),
        "cgroup.v2": (v2_mount is not None, v2_mount or ""),
        "cgroup.name_systemd": ("name=systemd" in v1, v1.get("name=systemd", "")),
    }

    def exists(path: str) -> bool:
        return os.path.exists(_path(root, path))

    use_v2 = mode == "v2"
    if use_v2:
        f["cgroup.memory"] = ("memory" in v2_ctrl, "cgroup2")
        f["cgroup.pids"] = ("pids" in v2_ctrl, "cgroup2")
        f["cgroup.cfs_quota"] = ("cpu" in v2_ctrl, "cpu.max")
        swap = _v2_child_has(root, v2_mount or "", "memory.swap.max")
        f["cgroup.memsw"] = (swap, "memory.swap.max")
        f["cgroup.kmem"] = (False, "cgroup2 has no kmem limit")
    else:
        mem, cpu = v1.get("memory"), v1.get("cpu")
        f["cgroup.memory"] = (mem is not None and controllers.get("memory", False), mem or "")
        f["cgroup.pids"] = ("pids" in v1 and controllers.get("pids", False), v1.get("pids", "not in /proc/cgroups" if "pids" not in controllers else "not mounted"))
        f["cgroup.cfs_quota"] = (bool(cpu) and exists(f"{cpu}/cpu.cfs_quota_us"), "cpu.cfs_quota_us")
        f["cgroup.memsw"] = (bool(mem) and exists(f"{mem}/memory.memsw.limit_in_bytes"), "memory.memsw.limit_in_bytes")
        f["cgroup.kmem"] = (bool(mem) and exists(f"{mem}/memory.kmem.limit_in_bytes"), "memory.kmem.limit_in_bytes")
    return {"features": f, "mode": mode, "v1": v1, "v2_mount": v2_mount, "v2_ctrl": v2_ctrl,
            "controllers": controllers}


def _v2_child_has(root: str, mount: str, name: str) -> bool:
    """cgroup v2 limit files exist only below the root cgroup: look in the first child that has one."""
    base = _path(root, mount)
    try:
        with os.scandir(base) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False) and os.path.exists(os.path.join(entry.path, name)):
                    return True
    except OSError:
        pass
    return False


def _vsyscall(root: str, machine: str) -> str:
    if machine != "x86_64":
        return "n/a"
    maps = _read(root, "/proc/self/maps")
    if maps is None:
        return "unknown"
    for line in maps.splitlines():
        if line.endswith("[vsyscall]"):
            perms = line.split()[1]
            return "emulate" if perms.startswith("r") else "xonly"
    return "none"


def vdso_kernel() -> str:  # run in the live probe child (ctypes stays out of the CLI process)
    """"A.B.C" from the vDSO's "Linux" ELF note (LINUX_VERSION_CODE), "" when there is none.

    glibc checks its minimum kernel against this note, not uname(): `setarch --uname-2.6` changes
    only the latter, so under the emulation harness guests still run on the real kernel's note."""
    import ctypes
    import struct
    try:
        libc = ctypes.CDLL(None)
        libc.getauxval.restype = ctypes.c_ulong
        base = libc.getauxval(ctypes.c_ulong(33))  # AT_SYSINFO_EHDR
        if not base or ctypes.string_at(base, 4) != b"\x7fELF" or ctypes.string_at(base + 4, 1) != b"\x02":
            return ""
        phoff, = struct.unpack("=Q", ctypes.string_at(base + 0x20, 8))
        phentsize, phnum = struct.unpack("=HH", ctypes.string_at(base + 0x36, 4))
        for i in range(phnum):
            ptype, _flags, offset, _vaddr, _paddr, filesz = struct.unpack(
                "=IIQQQQ", ctypes.string_at(base + phoff + i * phentsize, 40))
            if ptype != 4:  # PT_NOTE
                continue
            pos, end = base + offset, base + offset + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack("=III", ctypes.string_at(pos, 12))
                name = ctypes.string_at(pos + 12, namesz)
                desc = pos + 12 + ((namesz + 3) & ~3)
                if name.rstrip(b"\0") == b"Linux" and ntype == 0 and descsz >= 4:
                    code, = struct.unpack("=I", ctypes.string_at(desc, 4))
                    return "%d.%d.%d" % (code >> 16, (code >> 8) & 0xFF, code & 0xFF)
                pos = desc + ((descsz + 3) & ~3)
    except (OSError, AttributeError, ValueError, struct.error):
        return ""
    return ""


def read_recorded(root: str) -> tuple[dict[str, tuple[bool | None, str]], dict[str, str], dict[str, str]]:
    """A fixture's recorded syscall results (`key yes|no|unknown [detail]`) and runtimes
    (`runtime NAME PATH [VERSION]`): (results, runtime paths, runtime versions)."""
    out: dict[str, tuple[bool | None, str]] = {}
    paths: dict[str, str] = {}
    versions: dict[str, str] = {}
    for line in (_read(root, RECORDED) or "").splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2 or line.startswith("#"):
            continue
        if parts[0] == "runtime":
            words = line.split()
            paths[words[1]] = words[2] if len(words) > 2 else words[1]
            if len(words) > 3:
                versions[words[1]] = words[3]
            continue
        val = {"yes": True, "no": False}.get(parts[1])
        out[parts[0]] = (val, parts[2].strip() if len(parts) > 2 else "")
    return out, paths, versions


def _runtimes() -> tuple[dict[str, str], dict[str, subprocess.Popen]]:
    paths = {name: p for name in ("runc", "crun") if (p := shutil.which(name))}
    procs = {}
    for name, p in paths.items():
        try:
            procs[name] = subprocess.Popen([p, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                           stdin=subprocess.DEVNULL, close_fds=True)
        except OSError:
            pass
    return paths, procs


def _versions(procs: dict[str, subprocess.Popen]) -> dict[str, str]:
    out = {}
    for name, proc in procs.items():
        try:
            text = proc.communicate(timeout=5)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            continue
        words = text.split()
        out[name] = words[2] if len(words) > 2 and words[1] == "version" else (words[1] if len(words) > 1 else "?")
    return out


def _storage_dir(storage_dir: str | None) -> str:
    for cand in ([storage_dir] if storage_dir else []) + ["/var/lib/richcontainer", "/var/tmp", "/tmp"]:
        if os.path.isdir(cand) and os.access(cand, os.W_OK):
            return cand
    return tempfile.gettempdir()


def probe(root: str = "/", live: bool | None = None, storage_dir: str | None = None) -> HostFacts:
    """Probe the host now (no cache). LIVE defaults to ROOT == "/"."""
    live = (os.path.realpath(root) == "/") if live is None else live
    uname = os.uname()
    release = uname.release if root == "/" else (_read(root, "/proc/sys/kernel/osrelease") or "").strip()
    features: dict[str, bool | None] = {}
    details: dict[str, str] = {}

    def put(key: str, found: bool | None, detail: str = "") -> None:
        features[key] = found
        details[key] = detail

    paths, procs = _runtimes() if live else ({}, {})
    versions: dict[str, str] = {}
    for ns in NAMESPACES:
        path = _path(root, f"/proc/self/ns/{ns}")
        put(f"ns.{ns}.proc", os.path.lexists(path))
        try:
            os.close(os.open(path, os.O_RDONLY))
            put(f"ns.{ns}.open", True)
        except OSError as exc:
            put(f"ns.{ns}.open", False, _errname(exc))
    mounts = parse_mountinfo(_read(root, "/proc/self/mountinfo") or "")
    cg = _cgroup_facts(root, mounts)
    for key, (found, detail) in cg["features"].items():
        put(key, found, detail)
    filesystems = (_read(root, "/proc/filesystems") or "").split()
    put("fs.overlay", "overlay" in filesystems, "in /proc/filesystems" if "overlay" in filesystems else "not in /proc/filesystems")
    put("fs.devpts_newinstance", None, "")
    root_fs = next((fstype for point, fstype, _ in mounts if point == "/"), "")
    put("fs.pivot_root", root_fs not in ("rootfs", "ramfs", ""), f"/ is {root_fs or 'unknown'}")
    status = _read(root, "/proc/self/status") or ""
    put("sec.seccomp_filter", "Seccomp:" in status, "Seccomp: line in status" if "Seccomp:" in status else "no Seccomp: line")
    mun = _read(root, "/proc/sys/user/max_user_namespaces")

    if live:
        scratch = tempfile.mkdtemp(prefix=".rcprobe-", dir=_storage_dir(storage_dir))
        try:
            from compat.live import run_live_probes
            results = run_live_probes(scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    else:
        results, paths, versions = read_recorded(root)
    vdso = results.pop("kernel.vdso", (None, ""))[1]
    for key, (found, detail) in results.items():
        put(key, found, detail)
    if live and os.path.realpath(root) != "/" and "overlay" not in filesystems:
        # Emulating a recorded host: a syscall filter cannot hide a filesystem, the recorded tree can.
        put("fs.overlay", False, "not in the recorded /proc/filesystems")
    if "ns.user.setns" not in results:  # joining one's own user ns is always EINVAL: same kernel as mnt/pid setns
        both = features.get("ns.mnt.setns") and features.get("ns.pid.setns")
        put("ns.user.setns", bool(both) and bool(features.get("ns.user.unshare")), "inferred from mnt/pid setns")
    if os.path.exists(LEGACY_RUNTIME):
        paths["legacy"] = LEGACY_RUNTIME
    return HostFacts(
        kernel_release=release,
        vdso_kernel=vdso if os.path.realpath(root) == "/" else "",
        machine=uname.machine,
        boot_id=(_read(root, "/proc/sys/kernel/random/boot_id") or "").strip(),
        features=features,
        details={k: v for k, v in details.items() if v},
        cgroup_mode=cg["mode"],
        cgroup_v1_mounts=cg["v1"],
        cgroup_v2_mount=cg["v2_mount"],
        cgroup_v2_controllers=cg["v2_ctrl"],
        controllers=cg["controllers"],
        max_user_namespaces=int(mun) if mun and mun.strip().isdigit() else None,
        vsyscall=_vsyscall(root, uname.machine),
        runtimes=paths,
        runtime_versions=_versions(procs) if live else versions,
        root=root,
        probe_version=PROBE_VERSION,
    )


def _errname(exc: OSError) -> str:
    import errno
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def cache_key(root: str = "/") -> str:
    """Boot id + kernel release (+ root, probe version): a new boot or kernel means a new probe."""
    release = os.uname().release if root == "/" else (_read(root, "/proc/sys/kernel/osrelease") or "").strip()
    boot = (_read(root, "/proc/sys/kernel/random/boot_id") or "").strip()
    # A seccomp filter (the emulation harness) changes what the live probes see: not the same host.
    status = _read("/", "/proc/self/status") or ""
    filters = ",".join(ln.split(":", 1)[1].strip() for ln in status.splitlines()
                       if ln.startswith(("Seccomp:", "Seccomp_filters:")))
    return f"{PROBE_VERSION}:{boot}:{release}:{os.path.realpath(root)}:{os.uname().release}:{filters}"


def host_facts(cache_dir: str | None = None, root: str = "/", refresh: bool = False,
               storage_dir: str | None = None) -> HostFacts:
    """HostFacts from the on-disk cache when its key matches, else probe and save (atomically)."""
    cache_dir = cache_dir or os.environ.get("RICHCONTAINER_COMPAT_CACHE", DEFAULT_CACHE_DIR)
    key = cache_key(root)
    path = os.path.join(cache_dir, "host-facts.json" if root == "/" else
                        f"host-facts-{abs(hash(os.path.realpath(root))) & 0xFFFFFFFF:08x}.json")
    if not refresh:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("key") == key:
                return HostFacts.from_dict(data["facts"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    facts = probe(root=root, storage_dir=storage_dir)
    save_facts(path, key, facts)
    return facts


def save_facts(path: str, key: str, facts: HostFacts) -> None:
    """Write the cache file atomically; a read-only or missing cache dir is not an error."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".facts-", dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "facts": facts.to_dict()}, fh)
        os.rename(tmp, path)
    except OSError:
        pass
