"""Host-dependent decisions for one container: compat's pure planner, fed with probed host facts
(cached per boot) and the guest image's init; the result is saved as a plain dict in the state."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from richcontainer.errors import CompatRefused
from richcontainer.model.config import ContainerConfig

if TYPE_CHECKING:
    from richcontainer.manager import Manager


def default_lxcfs(cfg: ContainerConfig) -> bool:
    return cfg.lxcfs if cfg.lxcfs is not None else cfg.system_init


def plan_for(mgr: Manager, cfg: ContainerConfig, lower: Path) -> dict[str, object]:
    """Plan CFG on this host for the image at LOWER; CompatRefused says why it cannot work."""
    from compat.errors import CompatError
    from compat.guest import detect_guest
    from compat.model import ContainerRequest
    from compat.plan import plan
    from compat.probe import host_facts

    guest = detect_guest(os.fspath(lower))
    if not cfg.system_init:
        guest = dataclasses.replace(guest, init="none")  # the image's init is not booted
    elif cfg.init == "systemd" and guest.init != "systemd":
        raise CompatRefused(f"--init systemd: the image has no systemd (its init is {guest.init})",
                            hint="use --init sbin-init for sysvinit guests")
    r = cfg.resources
    request = ContainerRequest(
        runtime="auto" if cfg.runtime == "runc" else ("runc" if "/" in cfg.runtime else cfg.runtime),
        storage=os.environ.get("RICHCONTAINER_STORAGE", "auto"),
        cgroupns=True, seccomp=not cfg.privileged, no_new_privileges=not cfg.privileged,
        network_namespace=cfg.network != "host", pids_limit=r.pids_limit, memory_limit=r.memory,
        memory_swap=r.memory_swap if r.memory_swap not in (None, -1) else None,
        cpu_quota=int(r.cpus * 100000) if r.cpus else None)
    try:
        p = plan(request, host_facts(), guest)
    except CompatError as e:
        raise CompatRefused(str(getattr(e, "message", e))) from None
    warnings = list(p.warnings)
    lxcfs = default_lxcfs(cfg)
    if lxcfs:
        from richcontainer.lxcfs import host_supports

        why = host_supports()
        if why:
            lxcfs = False
            warnings.append(f"lxcfs_py view dropped: {why}; /proc shows the host")
    return {
        "backend": p.backend, "runtime_path": p.runtime_path if "/" not in cfg.runtime else cfg.runtime,
        "storage": p.storage, "cgroupns": p.cgroupns, "seccomp": p.seccomp, "pids": p.pids_limit,
        "memsw": p.memsw, "env": [f"{k}={v}" for k, v in p.extra_env.items()], "init_args": list(p.init_args),
        "warnings": warnings, "lxcfs": lxcfs,
        "guest": {"init": guest.init, "systemd": str(guest.systemd_version or ""),
                  "distro": f"{guest.distro_id} {guest.distro_version}".strip()},
    }
