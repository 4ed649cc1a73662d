"""/etc/hosts, /etc/resolv.conf and /etc/hostname for a container, as plain files in its etc dir.

The OCI spec bind-mounts these files over the rootfs (so read-only or shared rootfs trees stay
untouched). Files are rewritten *in place* (same inode): a bind mount of a file pins the inode,
so a rename would hide the update from a running container. Plain text, no jinja2: this runs in
the hook on every start and jinja2's import alone would cost more than the whole file writing.
"""

from __future__ import annotations

import os

HOSTS = "hosts"
RESOLV = "resolv.conf"
HOSTNAME = "hostname"
FILES = (HOSTS, RESOLV, HOSTNAME)

LOCALHOST = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def write_in_place(path: str, text: str) -> None:
    """Replace PATH's content keeping its inode (bind mounts of PATH see the change)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        data = text.encode()
        os.ftruncate(fd, 0)
        os.write(fd, data)
    finally:
        os.close(fd)


def render_hosts(hostname: str, ip: str | None, peers: list[tuple[str, str]] = (),
                 add_hosts: list[tuple[str, str]] = ()) -> str:
    """hosts text: localhost, this container, its network peers, then --add-host entries."""
    lines = [LOCALHOST]
    if hostname:
        lines.append(f"{ip or '127.0.1.1'}\t{hostname}\n")
    for name, addr in peers:
        if name and name != hostname:
            lines.append(f"{addr}\t{name}\n")
    for name, addr in add_hosts:
        lines.append(f"{addr}\t{name}\n")
    return "".join(lines)


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    """The host's nameservers, minus loopback ones that would not work from another netns."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver" and not parts[1].startswith(("127.", "::1")):
                    out.append(parts[1])
    except OSError:
        pass
    return out


def render_resolv(dns: list[str], search: list[str] = (), host_resolv: str = "/etc/resolv.conf") -> str:
    """resolv.conf text: the given servers, else the host's usable ones."""
    servers = list(dns) or host_nameservers(host_resolv)
    text = "".join(f"nameserver {s}\n" for s in servers)
    if search:
        text += "search " + " ".join(search) + "\n"
    return text


def prepare(etc_dir: str, hostname: str, dns: list[str], add_hosts: list[tuple[str, str]],
            ip: str | None = None) -> dict[str, str]:
    """Create the three files in ETC_DIR (before `runc create`); return {name: path}."""
    os.makedirs(etc_dir, exist_ok=True)
    paths = {n: os.path.join(etc_dir, n) for n in FILES}
    write_in_place(paths[HOSTS], render_hosts(hostname, ip, (), add_hosts))
    write_in_place(paths[RESOLV], render_resolv(dns))
    write_in_place(paths[HOSTNAME], f"{hostname}\n" if hostname else "")
    return paths


def spec_mounts(etc_dir: str) -> list[dict]:
    """OCI bind mounts of the three files over the container's /etc."""
    return [{"destination": f"/etc/{n}", "type": "bind", "source": os.path.join(etc_dir, n),
             "options": ["rbind", "rprivate"]} for n in FILES]
