"""Creating a container: name, layer, /etc files, plan, spec, bundle, state. All or nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from richcontainer import storage
from richcontainer.errors import RichContainerError, UsageError
from richcontainer.model.config import ContainerConfig
from richcontainer.model.state import ContainerState, HookResult, Status
from richcontainer.runtime.runc import resolve_runtime
from richcontainer.spec.builder import BuildInputs, build_spec, ungrantable_caps
from richcontainer.util.caps import host_bounding_caps
from richcontainer.util.fs import atomic_write

if TYPE_CHECKING:
    from richcontainer.manager import Manager

TINI = "/usr/bin/tini-static"


def create_container(mgr: Manager, cfg: ContainerConfig, *, for_attached_run: bool = False,
                     start: bool = False) -> ContainerState:
    """Reserve the name, build the layer, bundle and state. FOR_ATTACHED_RUN (an attached `run`
    starts at once): leave the rootfs mounted and let run_foreground write the next record.
    START (`run -d`): start it under the same lock, without a CREATED record or a remount in between;
    if the start fails, nothing of the container is left."""
    digest = mgr.images.resolve(cfg.image)
    record = mgr.images.record(digest)
    runtime_path = resolve_runtime(cfg.runtime)
    for v in cfg.volumes:
        if not os.path.exists(v.source):
            raise UsageError(f"volume source {v.source} does not exist")
    host_caps = host_bounding_caps()
    missing = ungrantable_caps(cfg, host_caps)
    if missing:
        raise UsageError(f"--cap-add {', '.join(missing)}: not in this host's capability bounding set")
    mgr.paths.ensure()
    cid = mgr.repo.new_id()
    cdir = mgr.paths.container_dir(cid)
    state = ContainerState(id=cid, name=cfg.name, config=cfg, image_digest=digest, created=time.time(),
                           runtime_path=runtime_path)
    with mgr.repo.lock(cid):
        cdir.mkdir(mode=0o700)
        try:
            mgr.repo.save(state)
            mgr.repo.reserve_name(cfg.name, cid)
        except BaseException:
            shutil.rmtree(cdir, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                mgr.repo.lock_path(cid).unlink()
            raise
        try:
            state = _build(mgr, state, record, for_attached_run or start, host_caps)
        except BaseException:
            with contextlib.suppress(Exception):
                storage.unmount_rootfs("overlay", cdir)
            shutil.rmtree(cdir, ignore_errors=True)
            mgr.repo.release_name(cfg.name, cid)
            with contextlib.suppress(FileNotFoundError):
                mgr.repo.lock_path(cid).unlink()
            raise
        if start:
            try:
                return mgr._start_unlocked(state)
            except BaseException:
                with contextlib.suppress(Exception):
                    mgr._remove_unlocked(mgr.repo.load(cid))  # the start already finalized it
                raise
    return state


def _build(mgr: Manager, state: ContainerState, record, for_attached_run: bool,  # noqa: ANN001
           host_caps: frozenset[str] | None) -> ContainerState:
    cfg, cid, cdir = state.config, state.id, mgr.paths.container_dir(state.id)
    lower = mgr.images.rootfs(state.image_digest)
    plan = plan_container(mgr, cfg, lower)
    kind = storage.prepare(str(plan.get("storage", "overlay")), lower, cdir)
    rootfs = cdir / "rootfs"
    uid, gid, groups = resolve_user(rootfs, None if cfg.init == "systemd" else cfg.user)
    if cfg.workdir:
        wd = rootfs / cfg.workdir.lstrip("/")
        if not wd.exists():
            wd.mkdir(parents=True)
    container_uuid = str(uuid.UUID(cid[:32]))
    masked: tuple[str, ...] = ()
    if cfg.init == "systemd":
        from richcontainer import systemd

        masked = systemd.prepare_systemd(rootfs, cid)
        if cfg.command:
            env = [*record.env, *plan.get("env", []), *cfg.env]  # type: ignore[misc]
            systemd.install_app_unit(rootfs, cfg.command, env, cfg.workdir, cfg.user)
    elif cfg.init == "sbin-init":
        from richcontainer import systemd

        masked = systemd.prepare_sysvinit(rootfs, cid)
    net = network_fragment(mgr, cfg, cid, cdir)
    from richcontainer import ocihooks

    hooks = ocihooks.merge_hooks(user_hooks(cfg), net.get("hooks", {}), cfg.hooks)
    if cfg.initscript:
        hooks["startContainer"].insert(0, {"path": cfg.initscript, "args": [cfg.initscript]})
    if cfg.system_init and plan.get("backend") != "legacy":
        from richcontainer.bootid import boot_id_hook

        hook = boot_id_hook(cdir, rootfs)
        if hook is not None:
            hooks["createContainer"].insert(0, hook)
    detached_poststart = not cfg.foreground
    extra_mounts = tuple(net.get("mounts", [])) + tuple(lxcfs_mounts(mgr, plan))
    inp = BuildInputs(
        cid=cid, config=cfg, rootfs=os.fspath(rootfs), image_env=tuple(record.env), image_cmd=tuple(record.cmd),
        uid=uid, gid=gid, additional_gids=tuple(groups),
        tini_path=TINI if cfg.init == "tini" else None, cgroupns=bool(plan.get("cgroupns", True)),
        seccomp=bool(plan.get("seccomp", True)), pids_limit_ok=bool(plan.get("pids", True)),
        memsw_ok=bool(plan.get("memsw", True)), network_namespaces=tuple(net.get("namespaces", [{"type": "network"}])),
        extra_mounts=extra_mounts, extra_env=tuple(plan.get("env", [])) + cpu_env(cfg, plan),
        hooks=ocihooks.spec_hooks(hooks, runtime_poststart=not detached_poststart),
        annotations=dict(net.get("annotations", {})), container_uuid=container_uuid, masked_units=masked,
        host_caps=host_caps,
        init_args=tuple(plan.get("init_args", [])))
    spec = build_spec(inp)
    if cfg.init == "systemd":
        from richcontainer import systemd

        systemd.keep_runtime_mounts(rootfs, [m.destination for m in spec.mounts])
    bundle = cdir / "bundle"
    bundle.mkdir(exist_ok=True)
    atomic_write(bundle / "config.json", spec.to_json(), durable=False)  # rebuilt from state if lost
    manager_hooks = {"poststop": [*hooks.get("poststop", []), *net.get("poststop", [])],
                     "poststart": hooks.get("poststart", []) if detached_poststart else []}
    atomic_write(cdir / "hooks.json", json.dumps(manager_hooks), durable=False)
    if plan.get("backend") == "legacy":
        state = state.model_copy(update={"runtime_path": str(plan["runtime_path"])})
    state = state.model_copy(update={
        "status": Status.CREATED, "storage": kind, "masked_units": list(masked), "plan": plan,
        "guest": dict(plan.get("guest", {})),  # type: ignore[call-overload]
        "warnings": list(plan.get("warnings", [])) + (["overlayfs unavailable: the image was copied"] if kind == "copy" else [])})
    if not for_attached_run:  # else the durable CREATING record stands until run_foreground's RUNNING
        mgr.repo.save(state)
        storage.unmount_rootfs(kind, cdir)  # mounted again by start
    return state


def cpu_env(cfg: ContainerConfig, plan: dict[str, object]) -> tuple[str, ...]:
    """With lxcfs, --cpus also shows in nproc and OpenMP runtimes: they count CPUs by affinity,
    which a FUSE file cannot change, but honour OMP_NUM_THREADS (unless the user set it)."""
    cpus = cfg.resources.cpus
    if not plan.get("lxcfs") or not cpus or any(e.startswith("OMP_NUM_THREADS=") for e in cfg.env):
        return ()
    import math

    return (f"OMP_NUM_THREADS={max(1, math.ceil(cpus))}",)


def resolve_user(rootfs: Path, user: str | None) -> tuple[int, int, list[int]]:
    """'name', 'uid', 'uid:gid', 'name:group' -> numeric ids, looked up in the image's files."""
    if not user:
        return 0, 0, []
    name, _, group = user.partition(":")
    passwd = _table(rootfs / "etc/passwd")
    groups = _table(rootfs / "etc/group")
    if name.isdigit():
        uid = int(name)
        gid = next((int(f[3]) for f in passwd.values() if f[2] == name), uid)
    elif name in passwd:
        uid, gid = int(passwd[name][2]), int(passwd[name][3])
    else:
        raise UsageError(f"user {name!r} is not in the image's /etc/passwd")
    if group:
        if group.isdigit():
            gid = int(group)
        elif group in groups:
            gid = int(groups[group][2])
        else:
            raise UsageError(f"group {group!r} is not in the image's /etc/group")
    return uid, gid, []


def _table(path: Path) -> dict[str, list[str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    return {f[0]: f for f in (line.split(":") for line in text.splitlines()) if len(f) >= 4}


def plan_container(mgr: Manager, cfg: ContainerConfig, lower: Path) -> dict[str, object]:
    """Host/guest decisions for this container (the compat planner, where available)."""
    from richcontainer.planning import plan_for

    return plan_for(mgr, cfg, lower)


def network_fragment(mgr: Manager, cfg: ContainerConfig, cid: str, cdir: Path) -> dict:
    from richcontainer.netplug import fragment

    return fragment(mgr, cfg, cid, cdir)


def user_hooks(cfg: ContainerConfig) -> dict[str, list[dict]]:
    from richcontainer.hookplug import hooks_for

    return hooks_for(cfg)


def lxcfs_mounts(mgr: Manager, plan: dict[str, object]) -> list[dict]:
    """Bind mounts of the lxcfs_py files (the daemon is started first if it is not running)."""
    if not plan.get("lxcfs"):
        return []
    from richcontainer.lxcfs import container_mounts, ensure_lxcfs

    ensure_lxcfs()
    return container_mounts()


def run_manager_hooks(mgr: Manager, state: ContainerState, stage: str) -> list[HookResult]:
    """Run the poststart or poststop hooks the manager owns; failures are recorded, never raised."""
    path = mgr.paths.container_dir(state.id) / "hooks.json"
    try:
        hooks = json.loads(path.read_text()).get(stage, [])
    except (OSError, ValueError):
        return []
    if not hooks:
        return []
    from richcontainer.hookplug import run_hooks

    oci_state = {"ociVersion": "1.0.2", "id": state.id, "status": "stopped" if stage == "poststop" else "running",
                 "bundle": os.fspath(mgr.paths.container_dir(state.id) / "bundle"),
                 "annotations": _annotations(mgr, state)}
    if stage != "poststop" and state.pid:
        oci_state["pid"] = state.pid
    try:
        return run_hooks(stage, hooks, oci_state)
    except RichContainerError as e:
        return [HookResult(stage=stage, path="?", exit_code=None, error=str(e))]


def _annotations(mgr: Manager, state: ContainerState) -> dict[str, str]:
    try:
        spec = json.loads((mgr.paths.container_dir(state.id) / "bundle/config.json").read_text())
        return dict(spec.get("annotations") or {})
    except (OSError, ValueError):
        return {}
