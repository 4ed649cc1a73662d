"""build_spec(): a pure function from what was asked (and decided) to an OCI runtime spec.

No filesystem, clock or environment access: everything host-specific comes in `BuildInputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from richcontainer.model import oci
from richcontainer.model.config import ContainerConfig
from richcontainer.spec import defaults as D
from richcontainer.util.caps import cap_name

SYSTEMD_TMPFS = (("/run", "mode=755,size=64m"), ("/run/lock", "mode=1777,size=5m"), ("/tmp", "mode=1777,size=256m"))
INIT_PATH_IN_CONTAINER = "/dev/init"


@dataclass(frozen=True)
class BuildInputs:
    cid: str
    config: ContainerConfig
    rootfs: str
    image_env: tuple[str, ...] = ()
    image_cmd: tuple[str, ...] = ("/bin/sh",)
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    tini_path: str | None = None
    cgroupns: bool = True
    seccomp: bool = True
    pids_limit_ok: bool = True
    memsw_ok: bool = True
    network_namespaces: tuple[dict, ...] = ({"type": "network"},)  # () = the host's network
    extra_mounts: tuple[dict, ...] = ()
    extra_env: tuple[str, ...] = ()
    hooks: dict[str, list[dict]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    container_uuid: str = ""
    masked_units: tuple[str, ...] = ()
    init_args: tuple[str, ...] = ()  # extra argv for a system init (systemd reads its "kernel cmdline" there)
    host_caps: frozenset[str] | None = None  # the host's bounding set (None: not known, grant as asked)


def _mount(dest: str, typ: str, src: str, opts: str) -> oci.Mount:
    return oci.Mount(destination=dest, type=typ, source=src, options=opts.split(","))


def process_args(inp: BuildInputs) -> list[str]:
    cfg = inp.config
    if cfg.system_init:
        return ["/sbin/init", *inp.init_args]
    args = list(cfg.command or inp.image_cmd)
    if cfg.init == "tini":
        return [INIT_PATH_IN_CONTAINER, "--", *args]
    return args


def environment(inp: BuildInputs) -> list[str]:
    env: dict[str, str] = {}
    for item in (D.DEFAULT_PATH, *inp.image_env, f"HOSTNAME={hostname(inp)}",
                 *(["TERM=xterm"] if inp.config.tty or inp.config.system_init else []),
                 *inp.extra_env, *inp.config.env):
        k, _, v = item.partition("=")
        env[k] = v
    if inp.config.system_init:
        env["container"] = "richcontainer"
        if inp.container_uuid:
            env["container_uuid"] = inp.container_uuid
    return [f"{k}={v}" for k, v in env.items()]


def hostname(inp: BuildInputs) -> str:
    return inp.config.hostname or inp.cid[:12]


def capabilities(cfg: ContainerConfig, host_caps: frozenset[str] | None = None) -> list[str]:
    """The container's capability set; with HOST_CAPS, only what the host can grant (as podman
    does for --privileged and ALL: a host lacking one still runs privileged containers)."""
    caps = set(D.ALL_CAPS) if cfg.privileged else _asked_caps(cfg)
    return sorted(caps & host_caps if host_caps is not None else caps)


def _asked_caps(cfg: ContainerConfig) -> set[str]:
    caps = set(D.DEFAULT_CAPS)
    if cfg.init == "sbin-init":
        caps.add("CAP_SYS_BOOT")  # sysvinit's halt ends PID 1 with reboot(2), confined to the pid namespace
    for c in map(cap_name, cfg.cap_add):
        caps |= set(D.ALL_CAPS) if c == "ALL" else {c}
    for c in map(cap_name, cfg.cap_drop):
        caps = set() if c == "ALL" else caps - {c}
    return caps


def ungrantable_caps(cfg: ContainerConfig, host_caps: frozenset[str] | None) -> list[str]:
    """Capabilities named in --cap-add (not ALL) that the host's bounding set lacks."""
    if host_caps is None:
        return []
    return sorted({cap_name(c) for c in cfg.cap_add} - {"ALL"} - host_caps)


def mounts(inp: BuildInputs) -> list[oci.Mount]:
    cfg = inp.config
    system = cfg.system_init
    cg_opts = "nosuid,noexec,nodev,relatime," + ("rw" if system and inp.cgroupns else "ro")
    out = [
        _mount("/proc", "proc", "proc", "nosuid,noexec,nodev"),
        _mount("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
        _mount("/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"),
        _mount("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
        _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
        _mount("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup", cg_opts),
    ]
    if cfg.init == "systemd" and not inp.cgroupns:
        out += systemd_v1_subtree(inp.cid)
    user_dests = {v.destination for v in cfg.volumes} | {t.destination for t in cfg.tmpfs}
    if system:
        for dest, opts in SYSTEMD_TMPFS:
            if dest not in user_dests:
                out.append(_mount(dest, "tmpfs", "tmpfs", "rw,nosuid,nodev," + opts))
    if inp.tini_path and cfg.init == "tini":
        out.append(_mount(INIT_PATH_IN_CONTAINER, "bind", inp.tini_path, "bind,ro,nosuid"))
    for t in cfg.tmpfs:
        out.append(oci.Mount(destination=t.destination, type="tmpfs", source="tmpfs",
                             options=["nosuid", "nodev", *t.options]))
    for v in cfg.volumes:
        out.append(oci.Mount(destination=v.destination, type="bind", source=v.source,
                             options=["rbind", "rprivate", "ro" if v.readonly else "rw"]))
    out += [oci.Mount(**m) for m in inp.extra_mounts if m["destination"] not in user_dests]
    return out


def cgroups_path(cid: str) -> str:
    return f"/richcontainer/{cid}"


def systemd_v1_subtree(cid: str) -> list[oci.Mount]:
    """Without a cgroup namespace (planner: kernel < 4.6) systemd sees its host cgroup path in
    /proc/1/cgroup and looks for it below /sys/fs/cgroup/systemd. The runtime's read-only cgroup
    mount shows the container's own cgroup at the hierarchy's root instead, so cover it with an
    empty tmpfs holding only that path, bound writable: systemd manages its own subtree of the
    name=systemd hierarchy (no resource controllers there), sees nothing of the host's, and the
    controller hierarchies (limits) stay read-only."""
    own = "/sys/fs/cgroup/systemd" + cgroups_path(cid)
    return [_mount("/sys/fs/cgroup/systemd", "tmpfs", "tmpfs", "nosuid,noexec,nodev,mode=755,size=64k"),
            _mount(own, "bind", own, "bind,rw,nosuid,noexec,nodev")]


def resources(inp: BuildInputs) -> oci.Resources:
    r = inp.config.resources
    devices = [oci.DeviceCgroup(allow=False, access="rwm")]
    if inp.config.privileged:
        devices = [oci.DeviceCgroup(allow=True, access="rwm")]
    else:
        devices += [oci.DeviceCgroup(allow=True, type=t, major=ma, minor=mi, access=acc)
                    for t, ma, mi, acc in D.ALLOWED_DEVICES]
    mem = None
    if r.memory is not None:
        swap = None
        if inp.memsw_ok:
            swap = r.memory_swap if r.memory_swap is not None else r.memory * 2
        mem = oci.MemoryResources(limit=r.memory, swap=swap)
    cpu = None
    if r.cpus is not None or r.cpuset_cpus or r.cpu_shares:
        cpu = oci.CPUResources(shares=r.cpu_shares, cpus=r.cpuset_cpus,
                               period=100000 if r.cpus else None,
                               quota=int(r.cpus * 100000) if r.cpus else None)
    pids = oci.PidsResources(limit=r.pids_limit) if r.pids_limit and inp.pids_limit_ok else None
    return oci.Resources(devices=devices, memory=mem, cpu=cpu, pids=pids)


def seccomp_profile() -> oci.Seccomp:
    return oci.Seccomp(default_action="SCMP_ACT_ALLOW", architectures=list(D.SECCOMP_ARCHES),
                       syscalls=[oci.SeccompSyscall(names=list(D.SECCOMP_DENIED), action="SCMP_ACT_ERRNO",
                                                    errno_ret=1)])


def namespaces(inp: BuildInputs) -> list[oci.Namespace]:
    ns = [oci.Namespace(type=t) for t in ("pid", "ipc", "uts", "mount")]
    ns += [oci.Namespace(**n) for n in inp.network_namespaces]
    if inp.cgroupns:
        ns.append(oci.Namespace(type="cgroup"))
    return ns


def _sysctls(inp: BuildInputs) -> dict[str, str] | None:
    """With its own network namespace, let every group use ICMP echo sockets (ping without
    CAP_NET_RAW), as podman does; the setting is per network namespace."""
    own_netns = any(n.get("type") == "network" and not n.get("path") for n in inp.network_namespaces)
    return {"net.ipv4.ping_group_range": "0 2147483647"} if own_netns else None


def build_spec(inp: BuildInputs) -> oci.Spec:
    """The complete OCI spec for one container."""
    cfg = inp.config
    caps = capabilities(cfg, inp.host_caps)
    proc = oci.Process(
        terminal=cfg.tty or cfg.system_init,
        user=oci.User(uid=inp.uid, gid=inp.gid, additional_gids=list(inp.additional_gids) or None),
        args=process_args(inp), env=environment(inp), cwd=cfg.workdir or "/",
        capabilities=oci.Capabilities(bounding=caps, effective=caps, permitted=caps, inheritable=[], ambient=[]),
        no_new_privileges=not cfg.privileged,
    )
    hooks = {k: [oci.Hook(**h) for h in v] for k, v in inp.hooks.items() if v}
    annotations = {"org.richcontainer.name": cfg.name, **cfg.annotations, **inp.annotations}
    linux = oci.Linux(
        namespaces=namespaces(inp),
        cgroups_path=cgroups_path(inp.cid),
        resources=resources(inp),
        rootfs_propagation="rprivate",
        seccomp=seccomp_profile() if inp.seccomp and not cfg.privileged else None,
        masked_paths=None if cfg.privileged else list(D.MASKED_PATHS),
        readonly_paths=None if cfg.privileged else list(D.READONLY_PATHS),
        sysctl=_sysctls(inp),
    )
    return oci.Spec(process=proc, root=oci.Root(path=inp.rootfs), hostname=hostname(inp),
                    mounts=mounts(inp), hooks=oci.Hooks(**hooks) if hooks else None,
                    annotations=annotations, linux=linux)
