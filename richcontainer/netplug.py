"""The network seam: what a container's --network adds to its spec (via richcontainer.networks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from richcontainer.errors import NotFound, UsageError
from richcontainer.model.config import ContainerConfig

if TYPE_CHECKING:
    from richcontainer.manager import Manager


def fragment(mgr: Manager, cfg: ContainerConfig, cid: str, cdir: Path) -> dict:
    """{namespaces, hooks, poststop, annotations, mounts} for the container's --network.

    Also writes the container's /etc/hosts, resolv.conf and hostname into CDIR/etc.
    """
    from richcontainer import networks

    join_pid, join_etc = None, None
    if cfg.network.startswith("container:"):
        other = mgr.get(cfg.network.split(":", 1)[1])
        if other.status != "running" or not other.pid:
            raise UsageError(f"--network {cfg.network}: that container is not running")
        join_pid, join_etc = other.pid, str(mgr.cdir(other.id) / "etc")
    hostname = cfg.hostname or cid[:12]
    try:
        frag = networks.spec_fragment(
            str(mgr.paths.root), cid, cfg.network, list(cfg.ports), cfg.ip, list(cfg.dns),
            list(cfg.add_hosts), hostname, etc_dir=str(cdir / "etc"),
            join_pid=join_pid, join_etc_dir=join_etc)
    except networks.NetworkNotFound as e:
        raise NotFound(str(e)) from None
    except networks.NetworkConfigError as e:
        raise UsageError(str(e)) from None
    key = networks.PREFIX + "hostname"
    if key in frag.get("annotations", {}) and cfg.name != hostname:
        frag["annotations"][key] = f"{hostname} {cfg.name}"  # peers resolve the container by name too
    return frag
