"""Image commands: images, image bootstrap/import/ls/inspect/rm/tag."""

from __future__ import annotations

import json
import time

import click

from richcontainer.cli import main, manager
from richcontainer.cli_query import _ago


@main.group()
def image() -> None:
    """Manage images (content-addressed root filesystems)."""


def _list() -> None:
    from richcontainer.stats import human

    mgr = manager()
    rows = [("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")]
    for rec, refs in mgr.images.listing():
        for ref in refs or ["<none>:<none>"]:
            repo, _, tag = ref.rpartition(":")
            rows.append((repo, tag, rec.digest[7:19], _ago(rec.created), human(rec.size)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@main.command(name="images")
def images_cmd() -> None:
    """List images."""
    _list()


@image.command(name="ls")
def image_ls() -> None:
    """List images."""
    _list()


@image.command()
@click.option("--include", multiple=True, help="extra packages (repeatable or comma-separated)")
@click.option("--tag", "ref", help="store under this NAME[:TAG] (default: the target)")
@click.argument("target")
def bootstrap(include: tuple[str, ...], ref: str | None, target: str) -> None:
    """Build a base image from the Debian mirror: TARGET is debian:bullseye|bookworm|trixie."""
    from richcontainer.images.bootstrap import bootstrap as do_bootstrap

    start = time.monotonic()
    rec = do_bootstrap(manager().images, target, list(include), ref)
    click.echo(f"{ref or target} {rec.digest} ({time.monotonic() - start:.1f}s)", err=True)
    click.echo(rec.digest)


@image.command(name="import")
@click.argument("tarball")
@click.argument("name", required=False)
def import_(tarball: str, name: str | None) -> None:
    """Import a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst, or - for stdin) as NAME[:TAG]."""
    rec = manager().images.import_file(tarball, name)
    click.echo(rec.digest)


@image.command(name="inspect")
@click.argument("names", nargs=-1, required=True)
def image_inspect(names: tuple[str, ...]) -> None:
    """Show image records as JSON."""
    mgr = manager()
    out = []
    for n in names:
        digest = mgr.images.resolve(n)
        d = mgr.images.record(digest).model_dump()
        d["refs"] = sorted(r for r, dg in mgr.images.refs().items() if dg == digest)
        d["rootfs"] = str(mgr.images.rootfs(digest))
        out.append(d)
    click.echo(json.dumps(out, indent=1))


@image.command(name="rm")
@click.option("-f", "--force", is_flag=True)
@click.argument("names", nargs=-1, required=True)
def image_rm(force: bool, names: tuple[str, ...]) -> None:
    """Remove images (refused while a container uses them, unless -f, which only untags)."""
    mgr = manager()
    for n in names:
        digest = mgr.images.resolve(n)
        click.echo(mgr.images.remove(n, mgr.users_of_image(digest), force))


@main.command(name="rmi")
@click.option("-f", "--force", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rmi(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove images (alias of image rm)."""
    ctx.invoke(image_rm, force=force, names=names)


@image.command()
@click.argument("source")
@click.argument("target")
def tag(source: str, target: str) -> None:
    """Give an image another NAME[:TAG]."""
    manager().images.tag(source, target)
