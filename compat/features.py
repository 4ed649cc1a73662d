"""Data: every probed feature, the mainline version that brought it, and what richcontainer does.

Pure data, no imports beyond typing; `compat.check` renders it, `compat.probe` fills the values.
"""

from __future__ import annotations

from typing import NamedTuple


class Feature(NamedTuple):
    key: str
    title: str
    since: str  # mainline Linux version (a hint: RHEL kernels backport)
    if_missing: str  # what richcontainer does without it
    if_found: str = "used"


NAMESPACES = ("mnt", "uts", "ipc", "net", "pid", "user", "cgroup", "time")
_NS_SINCE = {"mnt": "2.4.19", "uts": "2.6.19", "ipc": "2.6.19", "net": "2.6.24", "pid": "2.6.24",
             "user": "3.8", "cgroup": "4.6", "time": "5.6"}
_NS_MISSING = {
    "mnt": "no backend can run containers",
    "uts": "container shares the host name",
    "ipc": "container shares host SysV IPC",
    "net": "container shares the host network",
    "pid": "no backend can run containers",
    "user": "user-namespaced containers refused",
    "cgroup": "cgroup namespace dropped (guest sees host cgroup paths)",
    "time": "not used",
}


def _namespace_rows() -> list[Feature]:
    rows = []
    for ns in NAMESPACES:
        since = _NS_SINCE[ns]
        rows.append(Feature(f"ns.{ns}.proc", f"/proc/self/ns/{ns} exists", "3.0/3.8" if ns in ("mnt", "pid", "user") else since,
                            "runc cannot join it; legacy backend if pid/mnt"))
        rows.append(Feature(f"ns.{ns}.open", f"/proc/self/ns/{ns} opens", "3.0/3.8", "runc cannot join it"))
        rows.append(Feature(f"ns.{ns}.unshare", f"unshare(CLONE_NEW{ns.upper() if ns != 'mnt' else 'NS'})",
                            "3.8" if ns == "pid" else since,
                            "legacy backend (clone only)" if ns == "pid" else _NS_MISSING[ns]))
        rows.append(Feature(f"ns.{ns}.setns", f"setns() into {ns}", "3.0" if ns in ("net", "ipc", "uts") else "3.8",
                            "exec through the legacy agent" if ns in ("mnt", "pid") else "cannot join"))
    return rows


CATALOGUE: tuple[Feature, ...] = tuple(_namespace_rows()) + (
    Feature("ns.pid.clone", "clone(CLONE_NEWPID)", "2.6.24", "no backend can run containers"),
    Feature("cgroup.v1", "cgroup v1 controllers mounted", "2.6.24", "runc/legacy need v1 or v2"),
    Feature("cgroup.v2", "cgroup v2 mounted", "4.5", "cgroup v1 used"),
    Feature("cgroup.memory", "memory controller", "2.6.25", "memory limit dropped"),
    Feature("cgroup.memsw", "memory+swap accounting (memsw)", "2.6.34", "swap limit dropped (boot with swapaccount=1)"),
    Feature("cgroup.kmem", "kernel memory accounting files", "3.8", "not used", "never set (broken on 3.10, ignored by runc)"),
    Feature("cgroup.pids", "pids controller", "4.3", "pids limit dropped"),
    Feature("cgroup.cfs_quota", "CFS bandwidth (cpu quota)", "3.2", "cpu quota dropped"),
    Feature("cgroup.name_systemd", "name=systemd v1 hierarchy", "2.6.24", "systemd guests mount their own"),
    Feature("fs.overlay", "overlayfs mount", "3.18", "rootfs copied instead of overlaid"),
    Feature("fs.d_type", "d_type on storage fs", "-", "rootfs copied (overlay needs d_type, xfs ftype=1)"),
    Feature("fs.devpts_newinstance", "devpts newinstance", "2.6.29", "guest shares host ptys"),
    Feature("fs.pivot_root", "pivot_root usable (root not on rootfs)", "2.3.41", "chroot + MS_MOVE (runc --no-pivot)"),
    Feature("sec.seccomp_filter", "seccomp-bpf (prctl)", "3.5", "seccomp profile dropped"),
    Feature("sec.seccomp_syscall", "seccomp(2) syscall", "3.17", "filters loaded with prctl"),
    Feature("sec.no_new_privs", "PR_SET_NO_NEW_PRIVS", "3.5", "noNewPrivileges dropped"),
    Feature("sys.memfd_create", "memfd_create(2)", "3.17", "runc seals its binary another way"),
    Feature("sys.o_tmpfile", "O_TMPFILE", "3.11", "runc seals its binary another way"),
    Feature("sys.child_subreaper", "PR_SET_CHILD_SUBREAPER", "3.4", "monitor cannot reap orphans; no systemd guests"),
    Feature("net.veth_netlink", "veth by rtnetlink", "2.6.24", "no private network"),
    Feature("net.bridge_netlink", "bridge by rtnetlink", "3.x", "bridge made with SIOCBRADDBR ioctl"),
    Feature("net.bridge_ioctl", "bridge by SIOCBRADDBR ioctl", "2.6", "no bridge networking"),
)

BY_KEY = {f.key: f for f in CATALOGUE}
