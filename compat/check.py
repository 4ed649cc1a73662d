"""`richcontainer check`: a table of host features, found or not, and what richcontainer does."""

from __future__ import annotations

import json

from compat.errors import CompatError
from compat.features import CATALOGUE, NAMESPACES
from compat.model import ContainerRequest, GuestInfo, HostFacts
from compat.plan import plan

_NS_PARTS = ("proc", "open", "unshare", "setns")


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "?"}[value]


def rows(facts: HostFacts) -> list[dict]:
    """One row per namespace type and per other feature: name, found, detail, effect."""
    out = []
    cat = {f.key: f for f in CATALOGUE}
    for ns in NAMESPACES:
        vals = {p: facts.features.get(f"ns.{ns}.{p}") for p in _NS_PARTS}
        bits = []
        for p in _NS_PARTS:
            detail = (facts.details.get(f"ns.{ns}.{p}", "").split() or [""])[-1 if p == "setns" and "open" in facts.details.get(f"ns.{ns}.{p}", "") else 0]
            bits.append(f"{p}:{_mark(vals[p])}" + (f"({detail})" if vals[p] is False and detail else ""))
        found = True if all(vals.values()) else (False if not any(vals.values()) else None)
        status = "yes" if found else ("no" if found is False else "partial")
        missing = [p for p in _NS_PARTS if vals[p] is not True]
        effect = "used" if not missing else cat[f"ns.{ns}.{missing[-1] if 'unshare' not in missing else 'unshare'}"].if_missing
        out.append({"name": f"namespace {ns}", "key": f"ns.{ns}", "found": status, "detail": " ".join(bits),
                    "effect": effect, "since": cat[f"ns.{ns}.unshare"].since})
    for f in CATALOGUE:
        if f.key.startswith("ns.") and f.key != "ns.pid.clone":
            continue
        val = facts.features.get(f.key)
        out.append({"name": f.title, "key": f.key, "found": _mark(val), "detail": facts.details.get(f.key, ""),
                    "effect": f.if_found if val else ("not probed" if val is None else f.if_missing),
                    "since": f.since})
    return out


def summary(facts: HostFacts) -> dict:
    """Header facts, the default plan (backend, storage, warnings) and whether anything can run."""
    info = {"kernel": facts.kernel_release, "machine": facts.machine, "cgroup_mode": facts.cgroup_mode,
            "cgroup_v1_root": facts.details.get("cgroup.v1", ""), "cgroup_v2_mount": facts.cgroup_v2_mount,
            "cgroup_v2_controllers": list(facts.cgroup_v2_controllers),
            "max_user_namespaces": facts.max_user_namespaces, "vsyscall": facts.vsyscall,
            "runtimes": {k: {"path": v, "version": facts.runtime_versions.get(k, "")} for k, v in facts.runtimes.items()}}
    try:
        p = plan(ContainerRequest(), facts, GuestInfo())
        info.update(ok=True, backend=p.backend, storage=p.storage, warnings=list(p.warnings), error=None)
    except CompatError as exc:
        info.update(ok=False, backend=None, storage=None, warnings=[], error=exc.message)
    return info


def render_table(facts: HostFacts) -> str:
    info = summary(facts)
    table = rows(facts)
    cg = info["cgroup_mode"]
    where = []
    if info["cgroup_v1_root"]:
        where.append(f"v1 at {info['cgroup_v1_root']}")
    if info["cgroup_v2_mount"]:
        where.append(f"v2 at {info['cgroup_v2_mount']} [{' '.join(info['cgroup_v2_controllers']) or 'no controllers'}]")
    lines = [f"kernel {info['kernel']} ({info['machine']}), cgroup {cg}" + (f" ({', '.join(where)})" if where else ""),
             f"max_user_namespaces {info['max_user_namespaces']}, vsyscall {info['vsyscall']}", ""]
    w1 = max(len(r["name"]) for r in table)
    w3 = min(max(len(r["detail"]) for r in table), 48)
    lines.append(f"{'FEATURE':<{w1}}  {'FOUND':<7}  {'SINCE':<7}  {'DETAIL':<{w3}}  RICHCONTAINER")
    for r in table:
        detail = r["detail"] if len(r["detail"]) <= w3 else r["detail"][:w3 - 1] + "~"
        lines.append(f"{r['name']:<{w1}}  {r['found']:<7}  {r['since']:<7}  {detail:<{w3}}  {r['effect']}".rstrip())
    lines.append("")
    for name, rt in info["runtimes"].items():
        lines.append(f"runtime {name}: {rt['path']} {rt['version']}".rstrip())
    if info["ok"]:
        lines.append(f"default plan: backend {info['backend']}, storage {info['storage']}")
        lines.extend(f"  warning: {w}" for w in info["warnings"])
    else:
        lines.append(f"no backend can run containers here: {info['error']}")
    return "\n".join(lines) + "\n"


def run_check(fmt: str = "table", root: str = "/", facts: HostFacts | None = None) -> tuple[str, int]:
    """Probe (fresh) and render; exit code 1 only when no backend can run containers here."""
    if fmt not in ("table", "json"):
        return f"unknown format {fmt!r} (expected table or json)\n", 2
    if facts is None:
        from compat.probe import host_facts
        facts = host_facts(root=root, refresh=True)
    info = summary(facts)
    code = 0 if info["ok"] else 1
    if fmt == "json":
        doc = dict(info, features=rows(facts), facts=facts.to_dict())
        return json.dumps(doc, indent=2) + "\n", code
    return render_table(facts), code


def main(argv: list[str] | None = None) -> int:
    """`python -m compat.check [--format table|json] [--root DIR]` (the lead wires the click command)."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(prog="richcontainer check", description=__doc__)
    ap.add_argument("--format", default="table", choices=("table", "json"))
    ap.add_argument("--root", default="/", help="read /proc and /sys below this directory (recorded hosts)")
    ns = ap.parse_args(argv)
    text, code = run_check(ns.format, ns.root)
    sys.stdout.write(text)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
