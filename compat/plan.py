"""The planner: from host facts, the request and the guest, decide how to run (pure, no I/O).

Two levels, like runc's validator: hard rules raise CompatError before anything is created;
soft rules drop a feature and add a one-line warning naming what is missing.
"""

from __future__ import annotations

from compat.errors import CompatError
from compat.model import ContainerRequest, GuestInfo, HostFacts, Plan

LEGACY_FORCE = "SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE"

# What runc/crun need from the kernel beyond namespaces by clone: (feature, what it is).
_OCI_NEEDS = (
    ("ns.pid.unshare", "unshare(CLONE_NEWPID) (Linux 3.8)"),
    ("ns.mnt.setns", "setns() into a mount namespace (Linux 3.8)"),
    ("ns.pid.setns", "setns() into a pid namespace (Linux 3.8)"),
    ("ns.mnt.unshare", "unshare(CLONE_NEWNS)"),
)
_LEGACY_NEEDS = (
    ("ns.pid.clone", "clone(CLONE_NEWPID) (Linux 2.6.24)"),
    ("ns.mnt.unshare", "mount namespaces (Linux 2.4.19)"),
)


def _vtuple(text: str | None) -> tuple[int, ...]:
    out = []
    for part in (text or "").split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def oci_runtime_missing(facts: HostFacts) -> list[str]:
    """What keeps runc/crun from running here (empty when they can)."""
    missing = [what for key, what in _OCI_NEEDS if not facts.has(key)]
    if facts.cgroup_mode == "none":
        missing.append("a mounted cgroup hierarchy")
    return missing


def legacy_missing(facts: HostFacts) -> list[str]:
    """What keeps the legacy backend from running here (empty when it can)."""
    missing = [what for key, what in _LEGACY_NEEDS if facts.features.get(key) is False]
    if "legacy" not in facts.runtimes:
        missing.append("the legacy runtime script")
    return missing


def _choose_backend(req: ContainerRequest, facts: HostFacts, warn: list[str]) -> str:
    oci_missing = oci_runtime_missing(facts)
    installed = [n for n in ("runc", "crun") if n in facts.runtimes]
    if req.runtime in ("runc", "crun"):
        if req.runtime not in facts.runtimes:
            raise CompatError(f"runtime {req.runtime} is not installed on this host")
        if oci_missing:
            raise CompatError(f"{req.runtime} cannot run on this host: missing {', '.join(oci_missing)};"
                              " use the legacy backend (runtime 'legacy')")
        return req.runtime
    if req.runtime not in ("auto", "legacy"):
        raise CompatError(f"unknown runtime {req.runtime!r} (expected auto, runc, crun or legacy)")
    if req.runtime == "auto" and not oci_missing and installed:
        if facts.cgroup_mode == "v2":
            return "crun" if "crun" in installed else "runc"
        return "runc" if "runc" in installed else "crun"
    leg_missing = legacy_missing(facts)
    if leg_missing:
        why = oci_missing or ["runc/crun not installed"]
        raise CompatError(f"no backend can run containers here: runc/crun need {', '.join(why)};"
                          f" the legacy backend needs {', '.join(leg_missing)}")
    if req.runtime == "auto":
        reason = f"missing {', '.join(oci_missing)}" if oci_missing else "runc/crun not installed"
        warn.append(f"runc cannot run here ({reason}): using the legacy backend")
    return "legacy"


def _storage(req: ContainerRequest, facts: HostFacts, warn: list[str]) -> str:
    why = None
    if not facts.has("fs.overlay"):
        why = "overlayfs missing (Linux 3.18)"
    elif facts.features.get("fs.d_type") is False:
        why = "storage filesystem lacks d_type (xfs needs ftype=1)"
    if req.storage == "copy":
        return "copy"
    if req.storage == "overlay":
        if why:
            raise CompatError(f"overlay storage requested but {why}")
        return "overlay"
    if req.storage != "auto":
        raise CompatError(f"unknown storage {req.storage!r} (expected auto, overlay or copy)")
    if why:
        warn.append(f"{why}: rootfs is copied instead")
        return "copy"
    return "overlay"


def _keep(wanted: bool, ok: bool, message: str, warn: list[str]) -> bool:
    """Keep a wanted feature if the host has it, else drop it with a warning."""
    if wanted and not ok:
        warn.append(message)
    return wanted and ok


def _systemd_rules(guest: GuestInfo, facts: HostFacts, backend: str, env: dict[str, str],
                   args: list[str], warn: list[str]) -> None:
    v = guest.systemd_version
    name = f"systemd {v}" if v else "systemd (version unknown)"
    kver = facts.kernel_version()
    if kver < (3, 0) or facts.features.get("sys.child_subreaper") is False:
        raise CompatError(f"{name} cannot boot on this host: kernel {facts.kernel_release} lacks"
                          " PR_SET_CHILD_SUBREAPER (Linux 3.4) and other interfaces systemd needs"
                          " (Linux >= 3.0); use a sysvinit or upstart guest")
    guest_v1 = facts.cgroup_mode in ("v1", "hybrid")
    if v is None:
        warn.append("guest systemd version unknown: cgroup compatibility not checked")
        return
    if facts.cgroup_mode == "v2" and v < 230:
        raise CompatError(f"{name} cannot boot on a cgroup v2-only host (unified hierarchy needs"
                          " systemd >= 230); boot the host with systemd.unified_cgroup_hierarchy=0"
                          " or use a newer guest")
    if guest_v1 and v >= 258:
        raise CompatError(f"{name} cannot run on cgroup v1 (support removed in systemd 258; host is"
                          f" {facts.cgroup_mode}); use a cgroup v2 host or a guest with systemd < 258")
    if guest_v1 and v >= 256:
        env[LEGACY_FORCE] = "1"
        args.append(f"{LEGACY_FORCE}=1")
        warn.append(f"{name} refuses cgroup v1 by default: forcing it with {LEGACY_FORCE}=1"
                    " (environment and PID 1 command line)")
    floor = (5, 4) if v >= 258 else (3, 15) if v >= 251 else (3, 12) if v >= 230 else (3, 0)
    if kver < floor:
        warn.append(f"{name} wants Linux >= {floor[0]}.{floor[1]}; kernel {facts.kernel_release}"
                    " is older (vendor backports may cover it: untested)")
    if guest_v1 and not facts.has("cgroup.name_systemd"):
        warn.append("host has no name=systemd cgroup v1 hierarchy: the guest's systemd must mount its own")
    if backend == "legacy":
        warn.append(f"{name} under the legacy backend is untested")


def _libc_rules(guest: GuestInfo, facts: HostFacts, warn: list[str]) -> None:
    glibc = _vtuple(guest.glibc_version)
    label = " ".join(x for x in (guest.distro_id, guest.distro_version) if x) or "guest"
    if glibc and glibc >= (2, 26) and facts.libc_kernel_version() < (3, 2):
        raise CompatError(f"{label} guest (glibc {guest.glibc_version}) needs Linux >= 3.2"
                          f" (\"FATAL: kernel too old\"); this host runs"
                          f" {facts.vdso_kernel or facts.kernel_release}")
    el = guest.el_major()
    old = (el is not None and el <= 6) or (bool(glibc) and glibc < (2, 15))
    if not old or facts.vsyscall in ("n/a", "emulate"):
        return
    if facts.vsyscall == "none":
        raise CompatError(f"{label} guest calls the vsyscall page, but this host boots with"
                          " vsyscall=none: add vsyscall=emulate to the host kernel command line")
    warn.append(f"{label} guest uses the vsyscall page and the host has vsyscall={facts.vsyscall}:"
                " boot the host with vsyscall=emulate if guest programs crash with SIGSEGV")


def plan(request: ContainerRequest, facts: HostFacts, guest: GuestInfo) -> Plan:
    """Decide backend, storage and spec edits; raise CompatError if the container cannot work here."""
    warn: list[str] = []
    backend = _choose_backend(request, facts, warn)
    legacy = backend == "legacy"
    storage = _storage(request, facts, warn)
    if request.user_namespace:
        if legacy:
            raise CompatError("user namespace requested but the legacy backend does not support it")
        if not facts.has("ns.user.unshare") or facts.max_user_namespaces == 0:
            why = ("user namespaces are missing (Linux 3.8; EL7 needs user_namespace.enable=1)"
                   if not facts.has("ns.user.unshare") else "user.max_user_namespaces is 0")
            raise CompatError(f"user namespace requested but {why}")
    if request.network_namespace and facts.features.get("ns.net.unshare") is False:
        raise CompatError("network namespace requested but the kernel has none (Linux 2.6.24)")
    cgroupns = _keep(request.cgroupns, not legacy and facts.has("ns.cgroup.unshare"),
                     "legacy backend has no cgroup namespace: dropped" if legacy else
                     "cgroup namespace missing (Linux 4.6): dropped, the guest sees host cgroup paths", warn)
    seccomp = _keep(request.seccomp, not legacy and facts.has("sec.seccomp_filter"),
                    "legacy backend loads no seccomp filter: profile dropped" if legacy else
                    "seccomp-bpf missing (Linux 3.5): seccomp profile dropped", warn)
    nnp = _keep(request.no_new_privileges, facts.has("sec.no_new_privs"),
                "PR_SET_NO_NEW_PRIVS missing (Linux 3.5): noNewPrivileges dropped", warn)
    pids = _keep(True, facts.has("cgroup.pids"), "", [])
    if request.pids_limit is not None and not pids:
        warn.append("pids cgroup controller missing (Linux 4.3): pids limit dropped")
    memory = _keep(True, facts.has("cgroup.memory"), "", [])
    if request.memory_limit is not None and not memory:
        warn.append("memory cgroup controller missing: memory limit dropped")
    memsw = memory and facts.has("cgroup.memsw")
    if request.memory_swap is not None and not memsw:
        warn.append("memory+swap accounting (memsw) missing, boot with swapaccount=1: swap limit dropped")
    if request.kernel_memory is not None:
        warn.append("kernel memory limit dropped: kmem accounting is broken on 3.10 and ignored by runc")
    cpu = facts.has("cgroup.cfs_quota")
    if request.cpu_quota is not None and not cpu:
        warn.append("CFS bandwidth control missing (Linux 3.2): cpu quota dropped")
    env: dict[str, str] = {}
    args: list[str] = []
    if guest.init == "systemd":
        _systemd_rules(guest, facts, backend, env, args, warn)
    _libc_rules(guest, facts, warn)
    return Plan(backend=backend, runtime_path=facts.runtimes.get(backend, backend), storage=storage,
                cgroupns=cgroupns, seccomp=seccomp, pids_limit=pids, memsw=memsw, memory_limit=memory,
                cpu_quota=cpu, kernel_memory=False, no_new_privileges=nnp,
                user_namespace=request.user_namespace, extra_env=env, init_args=tuple(args),
                warnings=tuple(warn))
