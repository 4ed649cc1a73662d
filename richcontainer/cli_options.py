"""`run`/`create` options and their translation into a ContainerConfig."""

from __future__ import annotations

import os
from typing import Any

import click

from richcontainer.errors import UsageError
from richcontainer.units import check_name, parse_cpus, parse_cpuset, parse_restart, parse_signal, parse_size



def run_options(f):  # noqa: ANN001, ANN201
    opts = [
        click.option("--name"), click.option("-e", "--env", multiple=True),
        click.option("--env-file", multiple=True, type=click.Path()),
        click.option("-v", "--volume", multiple=True), click.option("--tmpfs", multiple=True),
        click.option("-w", "--workdir"), click.option("-u", "--user"), click.option("--hostname"),
        click.option("-m", "--memory"), click.option("--memory-swap"), click.option("--cpus"),
        click.option("--cpuset-cpus"), click.option("--cpu-shares", type=int),
        click.option("--pids-limit", type=int), click.option("--label", "-l", multiple=True),
        click.option("--annotation", multiple=True), click.option("--restart", default="no"),
        click.option("--rm", "auto_remove", is_flag=True),
        click.option("--init", "init", type=click.Choice(["none", "tini", "systemd", "sbin-init"]), default="none"),
        click.option("--runtime", default=os.environ.get("RICHCONTAINER_RUNTIME", "runc")),
        click.option("--network", "--net", default="bridge"),
        click.option("-p", "--publish", multiple=True), click.option("--ip"),
        click.option("--dns", multiple=True), click.option("--add-host", multiple=True),
        click.option("--stop-signal"), click.option("--stop-timeout", type=int, default=None),
        click.option("--lxcfs/--no-lxcfs", default=None), click.option("--cap-add", multiple=True),
        click.option("--cap-drop", multiple=True), click.option("--privileged", is_flag=True),
        click.option("--initscript"), click.option("--hook", multiple=True),
        click.option("--hooks-dir", multiple=True),
        click.option("-t", "--tty", is_flag=True), click.option("-i", "--interactive", is_flag=True),
        click.argument("image"), click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _kv(items: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid {what} {item!r}: use KEY=VALUE")
        out[k] = v
    return out


def read_env_files(paths: tuple[str, ...]) -> list[str]:
    env = []
    for path in paths:
        try:
            text = open(path, encoding="utf-8").read()  # noqa: SIM115
        except OSError as e:
            raise UsageError(f"cannot read env file {path}: {e.strerror}") from None
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                if line in os.environ:
                    env.append(f"{line}={os.environ[line]}")
                    continue
                raise UsageError(f"{path}:{n}: {line!r} is not KEY=VALUE")
            env.append(line)
    return env


def parse_volume(spec: str) -> dict[str, Any]:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise UsageError(f"invalid volume {spec!r}: use SRC:DST[:ro|rw]")
    src, dst = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise UsageError(f"invalid volume mode {mode!r} in {spec!r}: use ro or rw")
    if not src.startswith("/") or not dst.startswith("/"):
        raise UsageError(f"invalid volume {spec!r}: both paths must be absolute")
    if not os.path.exists(src):
        raise UsageError(f"volume source {src} does not exist")
    return {"source": os.path.realpath(src), "destination": os.path.normpath(dst), "readonly": mode == "ro"}


def parse_tmpfs(spec: str) -> dict[str, Any]:
    dst, _, opts = spec.partition(":")
    if not dst.startswith("/"):
        raise UsageError(f"invalid --tmpfs {spec!r}: the path must be absolute")
    return {"destination": os.path.normpath(dst), "options": [o for o in opts.split(",") if o]}


def parse_port(spec: str) -> str:
    import re

    if not re.fullmatch(r"(?:(?:\d{1,3}\.){3}\d{1,3}:)?\d{1,5}:\d{1,5}(?:/(?:tcp|udp))?", spec):
        raise UsageError(f"invalid port mapping {spec!r}: use [IP:]HOSTPORT:PORT[/tcp|udp]")
    for p in re.findall(r"(?<![\d.])(\d{1,5})(?=[:/]|$)", spec.split("/")[0]):
        if not 0 < int(p) < 65536:
            raise UsageError(f"invalid port {p} in {spec!r}: ports are 1-65535")
    return spec


def config_from_options(o: dict[str, Any], name: str) -> dict[str, Any]:
    """Turn click's parsed values into the ContainerConfig fields (validated further by pydantic)."""
    ncpus = os.cpu_count() or 1
    hooks: dict[str, list[dict[str, Any]]] = {}
    from richcontainer.ocihooks import HookError, parse_hook_flag

    for h in o["hook"]:
        try:
            stage, hook = parse_hook_flag(h)
        except HookError as e:
            raise UsageError(str(e)) from None
        hooks.setdefault(stage, []).append(hook)
    resources: dict[str, Any] = {
        "memory": parse_size(o["memory"], "memory") if o["memory"] else None,
        "cpus": parse_cpus(o["cpus"], ncpus) if o["cpus"] else None,
        "cpuset_cpus": parse_cpuset(o["cpuset_cpus"], ncpus) if o["cpuset_cpus"] else None,
        "cpu_shares": o["cpu_shares"], "pids_limit": o["pids_limit"],
    }
    if o["memory_swap"]:
        if o["memory_swap"] == "-1":
            resources["memory_swap"] = -1
        else:
            resources["memory_swap"] = parse_size(o["memory_swap"], "memory-swap")
            if not resources["memory"]:
                raise UsageError("--memory-swap needs --memory")
            if resources["memory_swap"] < resources["memory"]:
                raise UsageError("--memory-swap must be at least --memory (it is memory plus swap)")
    if resources["memory"] is not None and resources["memory"] < 6 * 1024 * 1024:
        raise UsageError("invalid --memory: the minimum is 6m")
    restart_name, retries = parse_restart(o["restart"])
    if restart_name != "no" and o["auto_remove"]:
        raise UsageError("--restart and --rm cannot be used together")
    stop_signal = parse_signal(o["stop_signal"]) if o["stop_signal"] else None
    return {
        "name": check_name(name), "image": o["image"], "command": list(o["command"]),
        "env": read_env_files(o["env_file"]) + [_env_item(e) for e in o["env"]],
        "workdir": o["workdir"], "user": o["user"], "hostname": o["hostname"],
        "tty": o["tty"], "interactive": o["interactive"],
        "volumes": [parse_volume(v) for v in o["volume"]], "tmpfs": [parse_tmpfs(t) for t in o["tmpfs"]],
        "resources": resources, "labels": _kv(o["label"], "label"), "annotations": _kv(o["annotation"], "annotation"),
        "restart": {"name": restart_name, "max_retries": retries}, "auto_remove": o["auto_remove"],
        "init": o["init"], "runtime": o["runtime"], "network": o["network"],
        "stop_signal": stop_signal, "stop_timeout": o["stop_timeout"] if o["stop_timeout"] is not None else 10,
        "lxcfs": o["lxcfs"], "cap_add": list(o["cap_add"]), "cap_drop": list(o["cap_drop"]),
        "privileged": o["privileged"], "initscript": o["initscript"], "hooks": hooks,
        "hooks_dirs": [os.path.abspath(d) for d in o["hooks_dir"]],
        "ports": [parse_port(p) for p in o["publish"]], "ip": o["ip"], "dns": list(o["dns"]),
        "add_hosts": list(o["add_host"]),
    }


def _env_item(item: str) -> str:
    if "=" in item:
        return item
    if item in os.environ:
        return f"{item}={os.environ[item]}"
    raise UsageError(f"invalid -e {item!r}: use KEY=VALUE (or the name of a variable set here)")
