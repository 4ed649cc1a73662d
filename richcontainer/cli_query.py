"""Read-side and interactive commands: ps, inspect, logs, exec, wait, top, stats."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from richcontainer.cli import main, manager
from richcontainer.errors import Conflict, UsageError


def _ago(t: float) -> str:
    d = max(0, time.time() - t)
    for unit, secs in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if d >= secs:
            n = int(d // secs)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return f"{int(d)} seconds ago"


def status_text(s) -> str:  # noqa: ANN001
    if s.status == "running":
        return f"Up {_ago(s.started_at).removesuffix(' ago')}"
    if s.status == "exited":
        return f"Exited ({s.exit_code if s.exit_code is not None else '?'}) {_ago(s.finished_at or s.created)}"
    return str(s.status).capitalize()


def command_text(s) -> str:  # noqa: ANN001
    cmd = " ".join(s.config.command)
    if s.config.system_init:
        return f"({s.config.init} init) {cmd}".strip()
    return cmd


def shown_pid(s) -> int:  # noqa: ANN001
    """The pid to report: none once exited (the record may still name the dead one until finalized)."""
    return 0 if str(s.status) == "exited" else s.pid


def summary(s) -> dict[str, Any]:  # noqa: ANN001
    return {"Id": s.id, "Names": s.name, "Image": s.config.image, "ImageID": s.image_digest,
            "Command": command_text(s),
            "Created": s.created, "State": str(s.status), "Status": status_text(s),
            "ExitCode": s.exit_code, "Pid": shown_pid(s), "Labels": s.config.labels}


@main.command()
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def ps(all_: bool, quiet: bool, fmt: str) -> None:
    """List containers (running ones; -a for all)."""
    states = manager().list(all_)
    if quiet:
        click.echo("\n".join(s.id[:12] for s in states) + ("\n" if states else ""), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([summary(s) for s in states], indent=1))
        return
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES")]
    for s in states:
        cmd = command_text(s)
        rows.append((s.id[:12], s.config.image, (cmd[:20] + "…") if len(cmd) > 21 else cmd, _ago(s.created),
                     status_text(s), s.name))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("   ".join(c.ljust(w) for c, w in zip(r, widths)) + "   " + r[-1])


@main.command()
@click.option("--type", "kind", type=click.Choice(["container", "image"]), default="container")
@click.argument("names", nargs=-1, required=True)
def inspect(kind: str, names: tuple[str, ...]) -> None:
    """Show the full record of containers (or images) as JSON."""
    mgr = manager()
    out = []
    for n in names:
        if kind == "image":
            out.append(mgr.images.record(mgr.images.resolve(n)).model_dump())
            continue
        s = mgr.get(n)
        d = s.model_dump(mode="json")
        d["pid"] = shown_pid(s)
        d["bundle"] = os.fspath(mgr.cdir(s.id) / "bundle")
        d["log_path"] = os.fspath(mgr.cdir(s.id) / "ctr.log")
        d["rootfs"] = os.fspath(mgr.cdir(s.id) / "rootfs")
        out.append(d)
    click.echo(json.dumps(out, indent=1))


@main.command()
@click.option("-f", "--follow", is_flag=True)
@click.option("--tail", default="all")
@click.option("-t", "--timestamps", is_flag=True)
@click.argument("container")
def logs(follow: bool, tail: str, timestamps: bool, container: str) -> None:
    """Show a container's output (detached containers; conmon writes it)."""
    from richcontainer.logs import show_logs

    n = None if tail == "all" else (int(tail) if tail.isdigit() else None)
    if tail != "all" and n is None:
        raise UsageError(f"invalid --tail {tail!r}: use a number or 'all'")
    mgr = manager()
    s = mgr.get(container)
    show_logs(mgr.cdir(s.id) / "ctr.log", tail=n, timestamps=timestamps, follow=follow,
              still_running=lambda: mgr.get(s.id).status in ("running", "paused", "creating"))


@main.command(name="exec", context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True)
@click.option("-t", "--tty", is_flag=True)
@click.option("-d", "--detach", is_flag=True)
@click.option("-e", "--env", multiple=True)
@click.option("-u", "--user")
@click.option("-w", "--workdir")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(interactive: bool, tty: bool, detach: bool, env: tuple[str, ...], user: str | None,
          workdir: str | None, container: str, command: tuple[str, ...]) -> None:
    """Run a command in a running container."""
    from richcontainer.create import resolve_user
    from richcontainer.util.proc import clean_env

    mgr = manager()
    s = mgr.get(container)
    if s.status != "running":
        raise Conflict(f"container {s.name} is {s.status}, not running")
    for e in env:
        if "=" not in e:
            raise UsageError(f"invalid -e {e!r}: use KEY=VALUE")
    uid_gid = None
    if user:
        uid, gid, _ = resolve_user(mgr.cdir(s.id) / "rootfs", user)
        uid_gid = f"{uid}:{gid}"
    if workdir and not workdir.startswith("/"):
        raise UsageError("exec -w needs an absolute path")
    argv = mgr.runtime(s).exec_argv(s.id, list(command), tty=tty, env=list(env), user=uid_gid,
                                    cwd=workdir, detach=detach)
    from richcontainer.forkclient import hand_back_exec

    hand_back_exec(argv, clean_env(), stdin_null=not (interactive or tty))  # the runtime's exit code is ours


@main.command()
@click.argument("containers", nargs=-1, required=True)
def wait(containers: tuple[str, ...]) -> None:
    """Wait until containers exit; print their exit codes."""
    mgr = manager()
    for c in containers:
        code = mgr.wait(c)
        click.echo("-1" if code is None else str(code))


@main.command()
@click.argument("container")
def top(container: str) -> None:
    """Show the processes of a container."""
    from richcontainer.util.proc import run

    mgr = manager()
    s = mgr.get(container)
    if s.status not in ("running", "paused"):
        raise Conflict(f"container {s.name} is not running")
    pids = mgr.runtime(s).pids(s.id)
    out = run(["ps", "-o", "user,pid,ppid,c,stime,tty,time,cmd", "-p", ",".join(map(str, pids))], check=False).stdout
    click.echo(out, nl=False)


@main.command()
@click.option("--no-stream", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.argument("containers", nargs=-1)
def stats(no_stream: bool, fmt: str, containers: tuple[str, ...]) -> None:
    """Live CPU, memory and pids usage of running containers."""
    from richcontainer.stats import cpu_percent, human, sample

    mgr = manager()
    while True:
        states = [mgr.get(c) for c in containers] if containers else mgr.list(False)
        states = [s for s in states if s.status == "running" and s.pid]
        first = {s.id: sample(s.pid) for s in states}
        time.sleep(0.5)
        rows = []
        for s in states:
            try:
                b = sample(s.pid)
            except OSError:
                continue
            rows.append({"id": s.id[:12], "name": s.name, "cpu_percent": round(cpu_percent(first[s.id], b), 2),
                         "mem": b["mem"], "mem_limit": b["mem_limit"], "pids": b["pids"]})
        if fmt == "json":
            click.echo(json.dumps(rows))
        else:
            click.echo(f"{'CONTAINER ID':14}{'NAME':24}{'CPU %':>8}  {'MEM USAGE / LIMIT':28}{'PIDS':>6}")
            for r in rows:
                mem = f"{human(r['mem'])} / {human(r['mem_limit'])}"
                click.echo(f"{r['id']:14}{r['name'][:23]:24}{r['cpu_percent']:>7.2f}%  {mem:28}{r['pids'] or 0:>6}")
        if no_stream:
            return
