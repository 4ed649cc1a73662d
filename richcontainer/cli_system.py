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
def serve() -> None:
    """Run the supervised daemon in the foreground (what the systemd unit runs)."""
    from lxcfs_py.supervise import supervise_main
    from richcontainer import lxcfs as seam

    sys.exit(supervise_main(["--mount", seam.mountpoint(), "--state-dir", seam.state_dir()]))


@lxcfs.command(name="stop")
@click.option("--force", is_flag=True, help="Stop it even while running containers use its files.")
def lxcfs_stop(force: bool) -> None:
    """Stop the supervised daemon and unmount its files. Refused while running containers (of any
    store) use them, unless --force: they then read errors until the daemon is back, which
    re-attaches them on its next start."""
    import shutil

    from lxcfs_py.attach import containers_with_lxcfs
    from lxcfs_py.supervise import stop as do_stop
    from richcontainer import lxcfs as seam
    from richcontainer.errors import Conflict

    users = containers_with_lxcfs(seam.mountpoint())
    if users and not force:
        raise Conflict(f"lxcfs_py is in use by {len(users)} running container(s) (pids "
                       f"{', '.join(map(str, users[:5]))}{' ...' if len(users) > 5 else ''})",
                       hint="stop them first, or pass --force")
    do_stop(seam.state_dir())
    shutil.rmtree(seam.state_dir(), ignore_errors=True)


@lxcfs.command()
def reattach() -> None:
    """Bind fresh lxcfs files into every running container that had them (no restart)."""
    from lxcfs_py.attach import reattach_all
    from richcontainer import lxcfs as seam

    errors = reattach_all(seam.mountpoint())
    for pid, err in errors.items():
        click.echo(f"richcontainer: reattach pid {pid}: {err}", err=True)
    sys.exit(1 if errors else 0)


@lxcfs.command()
def unit() -> None:
    """Print a systemd unit that runs the supervised daemon at boot."""
    from richcontainer import lxcfs as seam
    from richcontainer.templating import render

    click.echo(render("lxcfs-py.service.j2", python=sys.executable, mountpoint=seam.mountpoint(),
                      state_dir=seam.state_dir()))


@main.command()
@click.argument("container")
def doctor(container: str) -> None:
    """Explain a degraded systemd container: each failed unit, why, and what to change."""
    from richcontainer.doctor import diagnose
    from richcontainer.errors import Conflict

    mgr = manager()
    s = mgr.get(container)
    if s.status != "running":
        raise Conflict(f"container {s.name} is {s.status}, not running")
    prefix = mgr.runtime(s).exec_argv(s.id, [], tty=False, env=[], user=None, cwd=None)
    state, findings = diagnose(prefix)
    click.echo(f"{s.name}: system state {state}, {len(findings)} failed unit(s)")
    if s.masked_units:
        click.echo(f"masked up front (cannot work in a container): {', '.join(s.masked_units)}")
    for f in findings:
        click.echo(f"\n● {f.unit}: {f.result}" + (f" (exit status {f.status})" if f.status else ""))
        for line in f.journal:
            click.echo(f"    | {line}")
        click.echo(f"  → {f.advice}")


@main.group()
def network() -> None:
    """Bridge networks (veth + bridge + nftables NAT, set up by OCI hooks)."""


def _net_call(fn, *args):  # noqa: ANN001, ANN202
    from richcontainer import networks
    from richcontainer.errors import Conflict, NotFound, UsageError

    try:
        return fn(str(manager().paths.root), *args)
    except networks.NetworkNotFound as e:
        raise NotFound(str(e)) from None
    except networks.NetworkConflict as e:
        raise Conflict(str(e)) from None
    except networks.NetworkConfigError as e:
        raise UsageError(str(e)) from None


@network.command(name="create")
@click.option("--subnet", help="an IPv4 CIDR, e.g. 10.213.7.0/24 (default: the next free /24)")
@click.argument("name")
def network_create(subnet: str | None, name: str) -> None:
    """Create a named network; its containers resolve each other by name."""
    from richcontainer import networks

    cfg = _net_call(networks.create_network, name, subnet)
    click.echo(f"{cfg['name']} {cfg['subnet']}")


@network.command(name="ls")
def network_ls() -> None:
    """List networks."""
    from richcontainer import networks

    click.echo(f"{'NAME':20}{'SUBNET':20}{'BRIDGE':16}CONTAINERS")
    for n in _net_call(networks.list_networks):
        click.echo(f"{n['name']:20}{n['subnet']:20}{n.get('bridge', ''):16}{n.get('containers', 0)}")


@network.command(name="inspect")
@click.argument("names", nargs=-1, required=True)
def network_inspect(names: tuple[str, ...]) -> None:
    """Show networks with their containers as JSON."""
    import json

    from richcontainer import networks

    click.echo(json.dumps([_net_call(networks.inspect_network, n) for n in names], indent=1))


@network.command(name="rm")
@click.argument("names", nargs=-1, required=True)
def network_rm(names: tuple[str, ...]) -> None:
    """Remove networks (refused while a container uses them)."""
    from richcontainer import networks

    for n in names:
        _net_call(networks.remove_network, n)
        click.echo(n)


@network.command(name="prune")
def network_prune() -> None:
    """Remove what crashed or rebooted containers left behind: leases, veths, nft entries."""
    from richcontainer import networks

    for net, ids in _net_call(networks.prune).items():
        click.echo(f"{net}: cleaned {len(ids)} container(s)")


@main.command(name="_on-exit", hidden=True)
@click.argument("cid")
def on_exit(cid: str) -> None:
    """conmon's exit command: finalize the container, then apply its restart policy and --rm."""
    manager().on_exit(cid)
