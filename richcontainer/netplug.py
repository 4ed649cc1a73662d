"""The network seam: what a container's network mode adds to its spec."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from richcontainer.errors import UsageError
from richcontainer.model.config import ContainerConfig

if TYPE_CHECKING:
    from richcontainer.manager import Manager


def fragment(mgr: Manager, cfg: ContainerConfig, cid: str, cdir: Path) -> dict:
    """{netns_path, hooks, poststop, annotations, mounts} for the container's --network."""
    mode = cfg.network
    if mode == "none":
        return {}
    if mode == "host":
        return {}
    if mode.startswith("container:"):
        other = mgr.get(mode.split(":", 1)[1])
        if not other.pid:
            raise UsageError(f"--network {mode}: that container is not running")
        return {"netns_path": f"/proc/{other.pid}/ns/net"}
    try:
        from richcontainer import networks
    except ImportError:
        raise UsageError(f"--network {mode}: bridge networking is not available in this build") from None
    return networks.spec_fragment(mgr.paths.root, cid, mode, cfg.ports, cfg.ip, cfg.dns, cfg.add_hosts,
                                  cfg.hostname or cid[:12])
