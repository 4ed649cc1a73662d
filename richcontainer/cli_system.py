"""Host-level commands: check, doctor, lxcfs, network (each delegating to its package)."""

from __future__ import annotations

import sys

import click

from richcontainer.cli import main, manager


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def check(fmt: str) -> None:
    """What this host's kernel offers containers, and what richcontainer does about it."""
    from compat.check import run_check

    text, code = run_check(fmt)
    click.echo(text)
    sys.exit(code)


@main.group()
def lxcfs() -> None:
    """The lxcfs_py daemon that gives containers a truthful /proc."""


@lxcfs.command()
@click.option("--mountpoint", default=None)
def serve(mountpoint: str | None) -> None:
    """Run the supervised daemon in the foreground (what the systemd unit runs)."""
    from richcontainer import lxcfs as seam
    from lxcfs_py.supervise import serve as do_serve

    do_serve(mountpoint or seam.MOUNTPOINT, seam.state_dir(manager().paths),
             reattach_cmd=[sys.executable, "-m", "richcontainer", "lxcfs", "reattach"])


@lxcfs.command()
def reattach() -> None:
    """Bind fresh lxcfs files into every running container that uses them (no restart)."""
    from richcontainer import lxcfs as seam
    from lxcfs_py.attach import reattach as do_reattach

    mgr = manager()
    for s in mgr.list(False):
        if s.plan.get("lxcfs") and s.pid:
            try:
                do_reattach(s.pid, seam.MOUNTPOINT)
                click.echo(s.name)
            except Exception as e:  # noqa: BLE001 - one container's failure must not stop the others
                click.echo(f"richcontainer: reattach {s.name}: {e}", err=True)
