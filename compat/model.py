"""Plain frozen dataclasses exchanged between probe, guest detector and planner (JSON-serializable)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PROBE_VERSION = 2


def _plain(value: Any) -> Any:
    """Turn tuples/dicts of a dataclass field into JSON-friendly lists/dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Dict:
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict of all fields."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Build from `to_dict` output; unknown keys are ignored, lists become tuples where declared."""
        names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs = {}
        for key, value in data.items():
            if key not in names:
                continue
            if isinstance(value, list) and "tuple" in str(names[key].type):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class HostFacts(_Dict):
    """What the host can do, as found by trying (see compat.probe)."""

    kernel_release: str = ""
    # the kernel version in the vDSO's ELF note, which glibc checks instead of uname() ("" = unknown)
    vdso_kernel: str = ""
    machine: str = ""
    boot_id: str = ""
    # feature key (see compat.features.CATALOGUE) -> True (works) / False (missing) / None (unknown)
    features: dict[str, bool | None] = field(default_factory=dict)
    # feature key -> short evidence ("EINVAL", a path, "recorded")
    details: dict[str, str] = field(default_factory=dict)
    cgroup_mode: str = "none"  # "v1" | "hybrid" | "v2" | "none"
    cgroup_v1_mounts: dict[str, str] = field(default_factory=dict)  # controller -> mountpoint
    cgroup_v2_mount: str | None = None
    cgroup_v2_controllers: tuple[str, ...] = ()
    controllers: dict[str, bool] = field(default_factory=dict)  # /proc/cgroups name -> enabled
    max_user_namespaces: int | None = None
    vsyscall: str = "n/a"  # "native" | "emulate" | "xonly" | "none" | "n/a" (not x86_64)
    runtimes: dict[str, str] = field(default_factory=dict)  # "runc"/"crun"/"legacy" -> path
    runtime_versions: dict[str, str] = field(default_factory=dict)
    root: str = "/"
    probe_version: int = PROBE_VERSION

    def has(self, key: str) -> bool:
        """True only when the feature was found working."""
        return self.features.get(key) is True

    def kernel_version(self) -> tuple[int, int]:
        """(major, minor) parsed from the release string: a hint only, vendor kernels backport."""
        parts = self.kernel_release.split(".")
        try:
            return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
        except (IndexError, ValueError):
            return (0, 0)

    def libc_kernel_version(self) -> tuple[int, int]:
        """The (major, minor) a guest's glibc compares with its minimum ("FATAL: kernel too old"):
        glibc reads the vDSO's note first and uname() only without one."""
        if self.vdso_kernel:
            parts = self.vdso_kernel.split(".")
            return int(parts[0]), int(parts[1])
        return self.kernel_version()


@dataclass(frozen=True)
class GuestInfo(_Dict):
    """What the guest image contains (see compat.guest.detect_guest)."""

    init: str = "none"  # "systemd" | "sysvinit" | "upstart" | "none"
    init_path: str | None = None
    systemd_version: int | None = None
    distro_id: str = ""
    distro_version: str = ""
    distro_like: tuple[str, ...] = ()
    glibc_version: str | None = None

    def el_major(self) -> int | None:
        """Major release for RHEL-family guests (centos, rhel, ol, scientific...), else None."""
        family = {self.distro_id, *self.distro_like}
        if family & {"rhel", "centos", "fedora", "ol", "scientific", "rocky", "almalinux"} and \
                self.distro_id != "fedora":
            head = self.distro_version.split(".")[0]
            return int(head) if head.isdigit() else None
        return None


@dataclass(frozen=True)
class ContainerRequest(_Dict):
    """What the user asked for, reduced to what the planner needs to decide."""

    runtime: str = "auto"  # "auto" | "runc" | "crun" | "legacy"
    storage: str = "auto"  # "auto" | "overlay" | "copy"
    cgroupns: bool = True
    seccomp: bool = True
    no_new_privileges: bool = False
    user_namespace: bool = False
    network_namespace: bool = True
    pids_limit: int | None = None
    memory_limit: int | None = None
    memory_swap: int | None = None  # memory+swap limit (memsw)
    kernel_memory: int | None = None
    cpu_quota: int | None = None  # microseconds per period


@dataclass(frozen=True)
class Plan(_Dict):
    """How to run the container on this host; every dropped feature has a warning."""

    backend: str  # "runc" | "crun" | "legacy"
    runtime_path: str
    storage: str  # "overlay" | "copy"
    cgroupns: bool
    seccomp: bool
    pids_limit: bool
    memsw: bool
    memory_limit: bool = True
    cpu_quota: bool = True
    kernel_memory: bool = False
    no_new_privileges: bool = False
    user_namespace: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)  # added to the guest's process.env
    init_args: tuple[str, ...] = ()  # appended to PID 1's argv (systemd reads it as its cmdline)
    annotations: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
