"""OCI runtime-spec (1.0.2, what runc 1.1 reads) models, field for field; nothing else lives here.

Wire names are camelCase; the spec's own spellings (hostID, containerID) are set explicitly.
`Spec.to_json()` is how config.json is written.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class OCIModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class User(OCIModel):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: list[int] | None = None


class Capabilities(OCIModel):
    bounding: list[str] = []
    effective: list[str] = []
    inheritable: list[str] = []
    permitted: list[str] = []
    ambient: list[str] = []


class Rlimit(OCIModel):
    type: str
    hard: int
    soft: int


class ConsoleSize(OCIModel):
    height: int
    width: int


class Process(OCIModel):
    terminal: bool = False
    console_size: ConsoleSize | None = None
    user: User = User()
    args: list[str]
    env: list[str] = []
    cwd: str = "/"
    capabilities: Capabilities | None = None
    rlimits: list[Rlimit] | None = None
    no_new_privileges: bool = True
    oom_score_adj: int | None = None
    apparmor_profile: str | None = None
    selinux_label: str | None = None


class Root(OCIModel):
    path: str
    readonly: bool = False


class Mount(OCIModel):
    destination: str
    type: str | None = None
    source: str | None = None
    options: list[str] | None = None


class Hook(OCIModel):
    path: str
    args: list[str] | None = None
    env: list[str] | None = None
    timeout: int | None = None


class Hooks(OCIModel):
    prestart: list[Hook] | None = None
    create_runtime: list[Hook] | None = None
    create_container: list[Hook] | None = None
    start_container: list[Hook] | None = None
    poststart: list[Hook] | None = None
    poststop: list[Hook] | None = None


class Namespace(OCIModel):
    type: Literal["pid", "network", "mount", "ipc", "uts", "user", "cgroup"]
    path: str | None = None


class IDMapping(OCIModel):
    container_id: int = Field(alias="containerID")
    host_id: int = Field(alias="hostID")
    size: int


class Device(OCIModel):
    type: str
    path: str
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


class DeviceCgroup(OCIModel):
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


class MemoryResources(OCIModel):
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    swappiness: int | None = None
    disable_oom_killer: bool | None = None


class CPUResources(OCIModel):
    shares: int | None = None
    quota: int | None = None
    period: int | None = None
    cpus: str | None = None
    mems: str | None = None


class PidsResources(OCIModel):
    limit: int


class Resources(OCIModel):
    devices: list[DeviceCgroup] | None = None
    memory: MemoryResources | None = None
    cpu: CPUResources | None = None
    pids: PidsResources | None = None


class SeccompArg(OCIModel):
    index: int
    value: int
    value_two: int | None = None
    op: str


class SeccompSyscall(OCIModel):
    names: list[str]
    action: str
    errno_ret: int | None = None
    args: list[SeccompArg] | None = None


class Seccomp(OCIModel):
    default_action: str
    default_errno_ret: int | None = None
    architectures: list[str] | None = None
    syscalls: list[SeccompSyscall] | None = None


class Linux(OCIModel):
    namespaces: list[Namespace] = []
    uid_mappings: list[IDMapping] | None = None
    gid_mappings: list[IDMapping] | None = None
    devices: list[Device] | None = None
    cgroups_path: str | None = None
    resources: Resources | None = None
    rootfs_propagation: str | None = None
    seccomp: Seccomp | None = None
    masked_paths: list[str] | None = None
    readonly_paths: list[str] | None = None
    sysctl: dict[str, str] | None = None


class Spec(OCIModel):
    oci_version: str = Field(default="1.0.2", alias="ociVersion")
    process: Process
    root: Root
    hostname: str | None = None
    mounts: list[Mount] = []
    hooks: Hooks | None = None
    annotations: dict[str, str] | None = None
    linux: Linux

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True, indent=1)


class RuntimeState(BaseModel):
    """What `runc state` prints (read side: unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: str
    status: str
    pid: int = 0
    bundle: str = ""
