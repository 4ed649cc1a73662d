"""The hooks seam: hook files from hook dirs plus --hook flags, and running poststop hooks."""

from __future__ import annotations

from richcontainer.model.config import ContainerConfig
from richcontainer.model.state import HookResult

SYSTEM_HOOK_DIRS = ("/usr/share/richcontainer/hooks.d", "/etc/richcontainer/hooks.d")


def hooks_for(cfg: ContainerConfig) -> dict[str, list[dict]]:
    """OCI hooks per stage for this container, in the order they must run."""
    out: dict[str, list[dict]] = {}
    try:
        from richcontainer import ocihooks
    except ImportError:
        ocihooks = None  # type: ignore[assignment]
    if ocihooks is not None:
        files = ocihooks.load_hook_dirs([*SYSTEM_HOOK_DIRS, *cfg.hooks_dirs])
        argv0 = cfg.command[0] if cfg.command else ("/sbin/init" if cfg.init in ("systemd", "sbin-init") else "")
        has_binds = bool(cfg.volumes)
        for stage, hooks in ocihooks.select_hooks(files, {**cfg.annotations}, argv0, has_binds).items():
            out.setdefault(stage, []).extend(hooks)
    for stage, hooks in cfg.hooks.items():
        out.setdefault(stage, []).extend(hooks)
    return out


def run_hooks(stage: str, hooks: list[dict], oci_state: dict) -> list[HookResult]:
    from richcontainer import hookrun

    results = hookrun.run_hooks(stage, hooks, oci_state)
    return [HookResult(stage=stage, path=r.path, exit_code=r.exit_code, error=r.stderr_tail,
                       seconds=r.seconds) for r in results]
