"""What richcontainer records about a container, and the states it may move between."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict

from richcontainer.model.config import ContainerConfig


class Status(enum.StrEnum):
    CREATING = "creating"   # written before anything else exists; repaired by the next command
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"

    def can_start(self) -> bool:
        return self in (Status.CREATED, Status.EXITED, Status.CREATING)


class HookResult(BaseModel):
    model_config = ConfigDict(extra="ignore")
    stage: str
    path: str
    exit_code: int | None
    error: str = ""
    seconds: float = 0.0


class ContainerState(BaseModel):
    """state.json of one container. Written atomically; reconciled against the system on read."""

    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    config: ContainerConfig
    image_digest: str
    created: float
    status: Status = Status.CREATING
    storage: str = "overlay"
    pid: int = 0
    pid_start: int = 0
    monitor_pid: int = 0
    monitored: bool = True
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int | None = None
    restart_count: int = 0
    stopped_by_user: bool = False
    runtime_path: str = ""
    warnings: list[str] = []
    masked_units: list[str] = []
    hooks_ran: list[HookResult] = []
    guest: dict[str, str] = {}
    plan: dict[str, object] = {}
