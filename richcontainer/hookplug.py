"""The hooks seam: hook files from hook dirs plus --hook flags, and hooks the manager runs itself."""

from __future__ import annotations

from richcontainer.errors import UsageError
from richcontainer.model.config import ContainerConfig
from richcontainer.model.state import HookResult


def hooks_for(cfg: ContainerConfig) -> dict[str, list[dict]]:
    """OCI hooks per stage from the hook dirs (oci-hooks(5) files) that match this container."""
    from richcontainer import ocihooks

    try:
        files = ocihooks.load_hook_dirs([*ocihooks.DEFAULT_HOOK_DIRS, *cfg.hooks_dirs])
    except ocihooks.HookError as e:
        raise UsageError(str(e)) from None
    argv0 = "/sbin/init" if cfg.system_init else (cfg.command[0] if cfg.command else "")
    return ocihooks.select_hooks(files, dict(cfg.annotations), argv0, bool(cfg.volumes))


def run_hooks(stage: str, hooks: list[dict], oci_state: dict, *, stop_on_error: bool = False) -> list[HookResult]:
    from richcontainer import hookrun

    return [HookResult(stage=stage, path=r.path, exit_code=r.exit_status,
                       error=r.error or ("timed out" if r.timed_out else "") or
                       (r.stderr.strip().splitlines()[-1] if r.exit_status and r.stderr.strip() else ""),
                       seconds=round(r.duration, 4))
            for r in hookrun.run_hooks(hooks, oci_state, stage, stop_on_error=stop_on_error)]
