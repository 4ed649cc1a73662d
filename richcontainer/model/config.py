"""ContainerConfig: what the user asked for, validated at the CLI boundary and saved with the state."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from richcontainer.units import NAME_RE
from richcontainer.util.caps import CAP_NAMES, cap_name

InitMode = Literal["none", "tini", "systemd", "sbin-init"]


class VolumeMount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    destination: str
    readonly: bool = False


class TmpfsMount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    destination: str
    options: list[str] = []


class RestartPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["no", "always", "unless-stopped", "on-failure"] = "no"
    max_retries: int = 0


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    memory: int | None = Field(default=None, ge=6 * 1024 * 1024)
    memory_swap: int | None = None  # memory+swap in bytes; -1 = unlimited swap
    cpus: float | None = None
    cpuset_cpus: str | None = None
    cpu_shares: int | None = Field(default=None, ge=2, le=262144)
    pids_limit: int | None = None


class ContainerConfig(BaseModel):
    """A container's full request, frozen once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    image: str
    command: list[str] = []
    env: list[str] = []
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    tty: bool = False
    interactive: bool = False
    volumes: list[VolumeMount] = []
    tmpfs: list[TmpfsMount] = []
    resources: Resources = Resources()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    restart: RestartPolicy = RestartPolicy()
    auto_remove: bool = False
    init: InitMode = "none"
    runtime: str = "runc"
    network: str = "bridge"
    foreground: bool = False  # attached `run` (runc run from the CLI) rather than conmon-monitored
    stop_signal: int | None = None
    stop_timeout: int = 10
    lxcfs: bool | None = None
    cap_add: list[str] = []
    cap_drop: list[str] = []
    privileged: bool = False
    initscript: str | None = None
    hooks: dict[str, list[dict]] = {}  # --hook STAGE=PATH[,ARG...], as OCI hook dicts per stage
    hooks_dirs: list[str] = []
    ports: list[str] = []
    ip: str | None = None
    dns: list[str] = []
    add_hosts: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("use 1-63 of [A-Za-z0-9_.-], starting with a letter or digit")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: list[str]) -> list[str]:
        for item in v:
            if "=" not in item or item.startswith("="):
                raise ValueError(f"environment entry {item!r} is not KEY=VALUE")
        return v

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("the working directory must be an absolute path")
        return v

    @field_validator("cap_add", "cap_drop")
    @classmethod
    def _caps(cls, v: list[str]) -> list[str]:
        for c in v:
            if (name := cap_name(c)) != "ALL" and name not in CAP_NAMES:
                raise ValueError(f"unknown capability {c!r}")
        return v

    @property
    def system_init(self) -> bool:
        """A whole init system is PID 1 (systemd or sysvinit): it boots, and stops on its own signal."""
        return self.init in ("systemd", "sbin-init")
