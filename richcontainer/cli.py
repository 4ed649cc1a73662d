"""The `richcontainer` command line. Commands parse input and call the Manager; errors become
one line on stderr and an exit code (see errors.py); tracebacks only with --debug."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import click

from richcontainer.errors import NotFound, RichContainerError, UsageError

ADJ = ("brave", "calm", "eager", "fond", "keen", "lucid", "merry", "nifty", "quiet", "stoic", "tender", "witty")
NOUN = ("babbage", "curie", "darwin", "euler", "gauss", "hopper", "knuth", "lovelace", "noether", "turing")


class Cli(click.Group):
    """Maps RichContainerError (and pydantic's ValidationError) to one stderr line + exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RichContainerError as e:
            if os.environ.get("RICHCONTAINER_DEBUG"):
                raise
            click.echo(f"richcontainer: {e}", err=True)
            if e.hint:
                click.echo(f"  hint: {e.hint}", err=True)
            ctx.exit(e.exit_code)
        except Exception as e:  # noqa: BLE001
            if type(e).__name__ == "ValidationError" and hasattr(e, "errors"):
                err = e.errors()[0]  # type: ignore[attr-defined]
                where = ".".join(str(x) for x in err.get("loc", ()))
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                click.echo(f"richcontainer: invalid {where or 'input'}: {msg}", err=True)
                ctx.exit(2)
            if isinstance(e, (click.exceptions.Exit, click.exceptions.Abort, click.ClickException)):
                raise
            if os.environ.get("RICHCONTAINER_DEBUG"):
                raise
            click.echo(f"richcontainer: internal error: {type(e).__name__}: {e} (RICHCONTAINER_DEBUG=1 shows more)", err=True)
            ctx.exit(125)


def manager():  # noqa: ANN201
    from richcontainer.manager import Manager

    return Manager()


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="richcontainer")
def main() -> None:
    """Rich system containers on runc: systemd as PID 1, a truthful /proc, hooks, old hosts."""


from richcontainer.cli_options import config_from_options, run_options  # noqa: E402


def _make_config(opts: dict[str, Any]):  # noqa: ANN202
    from richcontainer.model.config import ContainerConfig

    name = opts["name"] or f"{random.choice(ADJ)}_{random.choice(NOUN)}_{random.randrange(100, 999)}"
    if opts["init"] == "sbin-init" and opts["command"]:
        raise UsageError("--init sbin-init runs the image's /sbin/init; it takes no command")
    return ContainerConfig.model_validate(config_from_options(opts, name))


@main.command(context_settings={"ignore_unknown_options": False, "allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True)
@run_options
def run(detach: bool, **opts: Any) -> None:
    """Create and start a container from IMAGE."""
    cfg = _make_config(opts)
    if not detach and not cfg.system_init:
        cfg = cfg.model_copy(update={"foreground": True})
    if cfg.restart.name != "no" and not detach:
        raise UsageError("--restart needs -d: detached containers are the ones conmon supervises")
    mgr = manager()
    if detach or cfg.system_init:
        click.echo(mgr.create(cfg, start=True).id)
        return
    state = mgr.create(cfg, for_attached_run=cfg.foreground)
    sys.exit(mgr.run_foreground(state))


@main.command(context_settings={"allow_interspersed_args": False})
@run_options
def create(**opts: Any) -> None:
    """Create a container without starting it."""
    click.echo(manager().create(_make_config(opts)).id)


@main.command()
@click.argument("containers", nargs=-1, required=True)
def start(containers: tuple[str, ...]) -> None:
    """Start one or more containers."""
    mgr = manager()
    for c in containers:
        mgr.start(c)
        click.echo(c)


@main.command()
@click.option("-t", "--time", "timeout", type=int, default=None, help="seconds before SIGKILL")
@click.argument("containers", nargs=-1, required=True)
def stop(timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop containers: the stop signal (SIGRTMIN+3 for systemd), then SIGKILL after -t seconds."""
    mgr = manager()
    for c in containers:
        mgr.stop(c, timeout)
        click.echo(c)


@main.command()
@click.option("-t", "--time", "timeout", type=int, default=None)
@click.argument("containers", nargs=-1, required=True)
def restart(timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop and start containers."""
    mgr = manager()
    for c in containers:
        mgr.restart(c, timeout)
        click.echo(c)


@main.command()
@click.option("-s", "--signal", "sig", default="KILL")
@click.argument("containers", nargs=-1, required=True)
def kill(sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' PID 1."""
    from richcontainer.units import parse_signal

    signo = parse_signal(sig)
    mgr = manager()
    for c in containers:
        mgr.kill(c, signo)
        click.echo(c)


@main.command()
@click.option("-f", "--force", is_flag=True)
@click.argument("containers", nargs=-1, required=True)
def rm(force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers (-f: stop them first)."""
    mgr = manager()
    failed = 0
    for c in containers:
        try:
            mgr.remove(c, force=force)
            click.echo(c)
        except NotFound as e:
            if not force:
                click.echo(f"richcontainer: {e}", err=True)
                failed = e.exit_code
    if failed:
        sys.exit(failed)


@main.command()
@click.argument("containers", nargs=-1, required=True)
def pause(containers: tuple[str, ...]) -> None:
    """Freeze all processes of containers."""
    for c in containers:
        manager().pause(c, True)
        click.echo(c)


@main.command()
@click.argument("containers", nargs=-1, required=True)
def unpause(containers: tuple[str, ...]) -> None:
    """Thaw paused containers."""
    for c in containers:
        manager().pause(c, False)
        click.echo(c)


@main.command()
@click.argument("container")
@click.argument("new_name")
def rename(container: str, new_name: str) -> None:
    """Rename a container."""
    manager().rename(container, new_name)


@main.command()
@click.option("-m", "--memory")
@click.option("--memory-swap")
@click.option("--cpus")
@click.option("--cpuset-cpus")
@click.option("--cpu-shares", type=int)
@click.option("--pids-limit", type=int)
@click.argument("containers", nargs=-1, required=True)
def update(containers: tuple[str, ...], **o: Any) -> None:
    """Change memory, CPU and pids limits of (running) containers."""
    from richcontainer.units import parse_cpus, parse_cpuset, parse_size

    ncpus = os.cpu_count() or 1
    res = {"memory": parse_size(o["memory"], "memory") if o["memory"] else None,
           "memory_swap": (-1 if o["memory_swap"] == "-1" else parse_size(o["memory_swap"], "memory-swap")) if o["memory_swap"] else None,
           "cpus": parse_cpus(o["cpus"], ncpus) if o["cpus"] else None,
           "cpuset_cpus": parse_cpuset(o["cpuset_cpus"], ncpus) if o["cpuset_cpus"] else None,
           "cpu_shares": o["cpu_shares"], "pids_limit": o["pids_limit"]}
    if all(v is None for v in res.values()):
        raise UsageError("update: give at least one of --memory, --memory-swap, --cpus, --cpuset-cpus, --cpu-shares, --pids-limit")
    mgr = manager()
    for c in containers:
        mgr.update(c, res)
        click.echo(c)


from richcontainer import cli_query  # noqa: E402,F401  (ps, inspect, logs, exec, ...)
from richcontainer import cli_images  # noqa: E402,F401
from richcontainer import cli_system  # noqa: E402,F401
