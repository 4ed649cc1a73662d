"""Host-dependent decisions for one container: the compat planner's verdict as a plain dict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from richcontainer.model.config import ContainerConfig

if TYPE_CHECKING:
    from richcontainer.manager import Manager


def default_lxcfs(cfg: ContainerConfig) -> bool:
    return cfg.lxcfs if cfg.lxcfs is not None else cfg.init in ("systemd", "sbin-init")


def plan_for(mgr: Manager, cfg: ContainerConfig, lower: Path) -> dict[str, object]:
    """Ask compat's planner (pure) with the host's probed facts and the image's guest info."""
    try:
        from compat import plan as compat_plan
    except ImportError:
        compat_plan = None  # type: ignore[assignment]
    storage = os.environ.get("RICHCONTAINER_STORAGE", "overlay")  # "copy" forces the fallback
    if compat_plan is not None and hasattr(compat_plan, "plan_for_richcontainer"):
        out = compat_plan.plan_for_richcontainer(cfg.model_dump(), os.fspath(lower))
        out.setdefault("lxcfs", default_lxcfs(cfg))
        if storage == "copy":
            out["storage"] = "copy"
        return out
    return {
        "backend": cfg.runtime, "storage": storage,
        "cgroupns": os.path.exists("/proc/self/ns/cgroup"),
        "seccomp": os.path.exists("/proc/sys/kernel/seccomp/actions_avail"),
        "pids": os.path.isdir("/sys/fs/cgroup/pids") or _v2_has("pids"),
        "memsw": os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") or _v2_has("memory"),
        "lxcfs": default_lxcfs(cfg), "env": [], "warnings": [],
    }


def _v2_has(controller: str) -> bool:
    try:
        return controller in Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
    except OSError:
        return False
