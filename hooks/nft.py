"""NAT and port publishing in one dedicated nftables table (``inet richcontainer`` by default).

The table holds a set ``nets`` (subnets to masquerade) and a map ``ports``
(``proto . hostport : container-ip . port``), used by static rules. Adding or removing a
container or a network only adds or deletes *elements*, so no rule handles are tracked and
nothing outside this table is ever touched. The table is deleted when both are empty.

Changes are written in nft's own language through ``nft -f -`` (nft 1.0.6's JSON parser
crashes on concatenated map types); reads use ``nft -j``. Every value placed in a command is
validated first (IPv4 addresses through ``ip4``, ports as ints, protocols from a fixed set).
No ``re``/``json``/``subprocess``/``ipaddress`` imports: the hook's start-up time.
"""

from __future__ import annotations

import os

from . import ip4, jsonlite, spawn
from .ipam import flocked

NFT = "nft"
TIMEOUT = 30
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_-")
LOCK_DIR = "/run/lock"


class NftError(RuntimeError):
    """nft failed; the message carries its stderr."""


class Port(tuple):
    """A published port: HOSTPORT on the host to PORT in the container (a validated tuple)."""

    __slots__ = ()

    def __new__(cls, host_port: int, port: int, proto: str = "tcp") -> "Port":
        if proto not in ("tcp", "udp"):
            raise ValueError(f"unknown protocol {proto!r} (tcp or udp)")
        for p in (host_port, port):
            if not isinstance(p, int) or not 0 < p < 65536:
                raise ValueError(f"port {p!r} out of range 1-65535")
        return super().__new__(cls, (host_port, port, proto))

    host_port = property(lambda self: self[0])
    port = property(lambda self: self[1])
    proto = property(lambda self: self[2])

    @classmethod
    def parse(cls, text: str) -> "Port":
        """``HOSTPORT:PORT[/udp|/tcp]`` or ``PORT`` (same port on both sides)."""
        spec, _, proto = text.strip().partition("/")
        hp, sep, cp = spec.partition(":")
        try:
            host_port, port = int(hp), int(cp if sep else hp)
        except ValueError:
            raise ValueError(f"invalid port mapping {text!r} (HOSTPORT:PORT[/udp])") from None
        return cls(host_port, port, proto or "tcp")

    def __str__(self) -> str:
        return f"{self.host_port}:{self.port}/{self.proto}"


def parse_ports(text: str) -> list[Port]:
    """Comma-separated port mappings."""
    return [Port.parse(p) for p in text.split(",") if p.strip()]


def _valid_name(name: str) -> bool:
    """``[A-Za-z][A-Za-z0-9_-]{0,31}``."""
    return 0 < len(name) <= 32 and name[0].isascii() and name[0].isalpha() and _NAME_CHARS.issuperset(name)


def _table(table: str) -> str:
    if not _valid_name(table):
        raise ValueError(f"invalid nft table name {table!r}")
    return table


def _run(script: str, *, check: bool = True) -> spawn.Result:
    try:
        p = spawn.run([NFT, "-f", "-"], input=script, timeout=TIMEOUT)
    except FileNotFoundError:
        raise NftError("nft not found in PATH (install nftables)") from None
    if check and p.returncode != 0:
        raise NftError(_first_error(p.stderr))
    return p


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "Error:" in line:
            return line[line.index("Error:"):].strip()
    return stderr.strip() or "nft failed"


_CHAINS = (("prerouting", "prerouting", -100), ("output", "output", -100), ("postrouting", "postrouting", 100))
_RULES = (("prerouting", "fib daddr type local dnat ip to meta l4proto . th dport map @ports"),
          ("output", "fib daddr type local dnat ip to meta l4proto . th dport map @ports"),
          ("postrouting", "ip saddr @nets ip daddr != @nets masquerade"),
          ("postrouting", "ip saddr 127.0.0.0/8 ip daddr @nets masquerade"))


def _table_script(table: str) -> str:
    """Commands that make the table whether or not it exists: ``add`` of an existing table, set,
    map or chain is a no-op, and each chain is flushed and refilled with its fixed rules, so
    the result is the same either way (elements are kept). One transaction with the elements
    replaces a probe (``nft list``) plus a retry: one ``nft`` process per container start."""
    t = _table(table)
    lines = [f"add table inet {t}",
             f"add set inet {t} nets {{ type ipv4_addr; flags interval; }}",
             f"add map inet {t} ports {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}"]
    lines += [f"add chain inet {t} {name} {{ type nat hook {hook} priority {prio}; policy accept; }}"
              for name, hook, prio in _CHAINS]
    lines += [f"flush chain inet {t} {name}" for name, _, _ in _CHAINS]
    lines += [f"add rule inet {t} {chain} {rule}" for chain, rule in _RULES]
    return "\n".join(lines) + "\n"


def _net_str(subnet: str) -> str:
    """``str(ipaddress.ip_network(subnet, strict=False))`` (IPv6 goes to ipaddress)."""
    if ":" in subnet:
        import ipaddress
        return str(ipaddress.ip_network(subnet, strict=False))
    return ip4.net_str(*ip4.network(subnet))


def _lock(table: str):
    return flocked(os.path.join(LOCK_DIR, f"richcontainer-nft-{_table(table)}.lock"))


def _elements_script(table: str, subnet: str, ip: str, ports: list[Port]) -> str:
    t = _table(table)
    net = _net_str(subnet)
    lines = [f"add element inet {t} nets {{ {net} }}"]
    if ports:
        addr = ip4.to_str(ip4.addr(ip))
        elems = ", ".join(f"{p.proto} . {p.host_port} : {addr} . {p.port}" for p in ports)
        lines.append(f"create element inet {t} ports {{ {elems} }}")
    return "\n".join(lines) + "\n"


def add_container(table: str, subnet: str, ip: str, ports: list[Port]) -> None:
    """Masquerade SUBNET and publish PORTS to IP; creates the table on first use.

    Raises NftError if a host port is already published (the whole change is then dropped).
    """
    script = _table_script(table) + _elements_script(table, subnet, ip, ports)
    with _lock(table):  # the same lock as remove_network, which may delete the table
        p = _run(script, check=False)
    if p.returncode != 0:
        if "File exists" in p.stderr:
            raise NftError(f"host port already published: {', '.join(map(str, ports))}")
        raise NftError(_first_error(p.stderr))


def list_table(table: str) -> dict:
    """{'nets': [...], 'ports': [(proto, hostport, ip, port)...]} or {} if the table is absent."""
    p = spawn.run([NFT, "-j", "list", "table", "inet", _table(table)], timeout=TIMEOUT)
    if p.returncode != 0:
        return {}
    nets: list[str] = []
    ports: list[tuple[str, int, str, int]] = []
    for obj in jsonlite.loads(p.stdout).get("nftables", []):
        if "set" in obj and obj["set"].get("name") == "nets":
            for e in obj["set"].get("elem", []):
                if isinstance(e, dict) and "prefix" in e:
                    nets.append(f"{e['prefix']['addr']}/{e['prefix']['len']}")
                elif isinstance(e, str):
                    nets.append(e)
        if "map" in obj and obj["map"].get("name") == "ports":
            for k, v in obj["map"].get("elem", []):
                proto, hport = k["concat"]
                ip, port = v["concat"]
                ports.append((proto, int(hport), ip, int(port)))
    return {"nets": nets, "ports": ports}


def remove_container(table: str, ports: list[Port]) -> None:
    """Unpublish PORTS (those still present); never fails on already-missing elements."""
    if not ports:
        return
    t = _table(table)
    current = {(pr, hp) for pr, hp, _, _ in list_table(table).get("ports", [])}
    keys = [f"{p.proto} . {p.host_port}" for p in ports if (p.proto, p.host_port) in current]
    if keys:
        _run(f"delete element inet {t} ports {{ {', '.join(keys)} }}\n")


def remove_network(table: str, subnet: str) -> None:
    """Stop masquerading SUBNET; delete the table when nothing is left in it."""
    t = _table(table)
    with _lock(table):
        cur = list_table(table)
        if not cur:
            return
        net = _net_str(subnet)
        if net in cur["nets"]:
            _run(f"delete element inet {t} nets {{ {net} }}\n")
            cur["nets"].remove(net)
        if not cur["nets"] and not cur["ports"]:
            _run(f"delete table inet {t}\n", check=False)
