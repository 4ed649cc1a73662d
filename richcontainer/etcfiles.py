"""/etc/hosts, /etc/resolv.conf and /etc/hostname for a container, rendered from templates/."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from richcontainer.util.fs import atomic_write

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render(name: str, **values: object) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True,
                             autoescape=False)
    return env.get_template(name).render(**values)


def host_nameservers(resolv: Path = Path("/etc/resolv.conf")) -> tuple[list[str], list[str], list[str]]:
    """Nameservers, search domains and options of the host, without loopback resolvers."""
    servers, search, options = [], [], []
    try:
        text = resolv.read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", ";")):
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            try:
                if not ipaddress.ip_address(parts[1]).is_loopback:
                    servers.append(parts[1])
            except ValueError:
                pass
        elif parts[0] == "search":
            search = parts[1:]
        elif parts[0] == "options":
            options = parts[1:]
    return servers, search, options


def write_etc_files(cdir: Path, hostname: str, address: str | None = None,
                    extra_hosts: list[tuple[str, str]] | None = None,
                    dns: list[str] | None = None) -> dict[str, str]:
    """Write the files into CDIR/etc; return {container path: host path} to bind-mount."""
    etc = cdir / "etc"
    etc.mkdir(exist_ok=True)
    servers, search, options = host_nameservers()
    files = {
        "hosts": render("hosts.j2", hostname=hostname, address=address, extra_hosts=extra_hosts or []),
        "resolv.conf": render("resolv.conf.j2", nameservers=dns or servers, search=search, options=options),
        "hostname": render("hostname.j2", hostname=hostname),
    }
    for name, text in files.items():
        atomic_write(etc / name, text, 0o644)
    return {f"/etc/{name}": str(etc / name) for name in files}
