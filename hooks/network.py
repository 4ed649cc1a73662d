"""The bridge network as OCI hooks: ``up`` at createRuntime, ``down`` at poststop.

Everything comes from annotations in the OCI state (prefix ``org.richcontainer.network.``):
``name``, ``bridge``, ``subnet``, ``gateway``, ``state-dir`` (leases), ``etc-dir`` (the
container's hosts/resolv.conf/hostname), ``ports`` (``8080:80/tcp,...``), ``ip``, ``dns``,
``add-hosts`` (``name:ip,...``), ``hostname``, ``nft-table``, ``peers`` (``1``: write the other
containers of the network into /etc/hosts), ``netlink`` (``iproute2`` or ``pyroute2``).
Any OCI runtime that runs hooks can use this; it needs neither richcontainer nor its state.
"""

from __future__ import annotations

import os

from . import etcfiles, ip4, ipam, netlink, nft
from .state import State

PREFIX = "org.richcontainer.network."
DEFAULT_TABLE = "richcontainer"
# no re (nor ipaddress, json, subprocess): their imports would cost ~20 ms of every hook start
_IFNAME_CHARS = nft._ALNUM | frozenset("_.-")
_NETNAME_CHARS = nft._ALNUM | frozenset("_-")


def _valid_ifname(name: str) -> bool:
    """``[A-Za-z0-9_.-]{1,15}``."""
    return 0 < len(name) <= 15 and _IFNAME_CHARS.issuperset(name)


def _valid_netname(name: str) -> bool:
    """``[A-Za-z0-9][A-Za-z0-9_-]{0,63}``."""
    return 0 < len(name) <= 64 and name[0] in nft._ALNUM and _NETNAME_CHARS.issuperset(name)


class NetworkError(RuntimeError):
    """Bad parameters or a failed setup step (one line, shown to the user)."""


def crc32(data: bytes) -> int:
    """``zlib.crc32(data)`` in Python: loading zlib costs ~1 ms, a few dozen bytes cost ~20 us."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def veth_name(container_id: str) -> str:
    """Host-side veth name derived from the container id (15 chars max, 48 bits of hash).

    crc32 rather than hashlib: importing OpenSSL costs ~4 ms of every hook's start.
    """
    b = container_id.encode()
    return f"rcv{crc32(b):08x}{crc32(b[::-1]) & 0xffff:04x}"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``name:ip,name2:ip2`` -> [(name, ip), ...] (addresses validated)."""
    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, sep, addr = item.partition(":")
        if not sep or not name:
            raise NetworkError(f"invalid host entry {item!r} (NAME:IP)")
        try:
            ip4.ip_str(addr)
        except ValueError:
            raise NetworkError(f"invalid address in host entry {item!r}") from None
        out.append((name, addr))
    return out


class NetParams:
    """The network parameters of one container, as read from its annotations."""

    def __init__(self, name: str, bridge: str, subnet: str, gateway: str, state_dir: str, etc_dir: str = "",
                 ports: list[nft.Port] | None = None, ip: str = "", dns: list[str] | None = None,
                 add_hosts: list[tuple[str, str]] | None = None, hostname: str = "",
                 table: str = DEFAULT_TABLE, peers: bool = False, netlink: str = "") -> None:
        self.name, self.bridge, self.subnet, self.gateway = name, bridge, subnet, gateway
        self.state_dir, self.etc_dir, self.ports, self.ip = state_dir, etc_dir, ports or [], ip
        self.dns, self.add_hosts, self.hostname = dns or [], add_hosts or [], hostname
        self.table, self.peers, self.netlink = table, peers, netlink

    @property
    def prefixlen(self) -> int:
        if ":" in self.subnet:
            import ipaddress
            return ipaddress.ip_network(self.subnet, strict=False).prefixlen
        return ip4.network(self.subnet)[1]

    @classmethod
    def from_annotations(cls, ann: dict[str, str]) -> "NetParams":
        """Read and validate the parameters; raise NetworkError naming the bad annotation."""
        def get(key: str, default: str = "") -> str:
            return ann.get(PREFIX + key) or default

        for key in ("name", "bridge", "subnet", "state-dir"):
            if not get(key):
                raise NetworkError(f"missing annotation {PREFIX}{key}")
        if not _valid_netname(get("name")):
            raise NetworkError(f"invalid network name {get('name')!r}")
        if not _valid_ifname(get("bridge")):
            raise NetworkError(f"invalid bridge name {get('bridge')!r} (at most 15 characters)")
        try:
            net, plen = ip4.network(get("subnet"))
            gateway = get("gateway") or ip4.to_str(ip4.hosts(net, plen)[0])
            ip4.addr(gateway)
            ip = get("ip")
            if ip:
                ip4.addr(ip)
            dns = [ip4.ip_str(d.strip()) for d in get("dns").split(",") if d.strip()]
            ports = nft.parse_ports(get("ports"))
        except ValueError as e:
            raise NetworkError(f"invalid network annotation: {e}") from None
        return cls(name=get("name"), bridge=get("bridge"), subnet=ip4.net_str(net, plen), gateway=gateway,
                   state_dir=get("state-dir"), etc_dir=get("etc-dir"), ports=ports, ip=ip, dns=dns,
                   add_hosts=parse_pairs(get("add-hosts")), hostname=get("hostname"),
                   table=get("nft-table", DEFAULT_TABLE), peers=get("peers") == "1",
                   netlink=get("netlink"))


def _teardown_lease(db: ipam.LeaseDB, cid: str, p: NetParams, nl: netlink.Backend | None) -> None:
    """Undo what ``up`` did for CID (link, ports, lease); tolerant of missing pieces."""
    rec = db.release(cid)
    if rec is None:
        return
    (nl or netlink.IpRoute2()).delete_link(rec.get("veth") or veth_name(cid))
    ports = [nft.Port.parse(x) for x in rec.get("ports", [])]
    nft.remove_container(rec.get("table") or p.table, ports)


def _refresh_hosts(db: ipam.LeaseDB, p: NetParams) -> None:
    """Rewrite every container's hosts file on the network (peers see each other by name)."""
    peers = [(r.get("hostname", ""), r["ip"]) for r in db.leases.values()] if p.peers else []
    for rec in db.leases.values():
        etc = rec.get("etc_dir")
        if not etc or not os.path.isdir(etc):
            continue
        add = [tuple(x) for x in rec.get("add_hosts", [])]
        etcfiles.write_in_place(os.path.join(etc, etcfiles.HOSTS),
                                etcfiles.render_hosts(rec.get("hostname", ""), rec["ip"], peers, add))


def _finish_network(db: ipam.LeaseDB, p: NetParams, nl: netlink.Backend) -> None:
    """When the last lease is gone: delete the bridge and the network's NAT entry."""
    if db.leases:
        return
    nl.delete_link(p.bridge)
    nft.remove_network(p.table, p.subnet)


def up(state: State) -> str:
    """createRuntime: connect the container to its network; return its address.

    On any failure everything done so far is undone before the error is raised.
    """
    p = NetParams.from_annotations(state.annotations)
    if not state.pid:
        raise NetworkError("OCI state has no pid (network up must run at createRuntime)")
    nl = netlink.backend(p.netlink)
    veth = veth_name(state.id)
    gw_cidr = f"{p.gateway}/{p.prefixlen}"
    with ipam.open_leases(p.state_dir, p.name) as db:
        for cid, rec in list(db.leases.items()):  # leftovers of crashes, reboots, this id's last run
            if cid == state.id or not ipam.lease_alive(rec):
                _teardown_lease(db, cid, p, nl)
        nl.delete_link(veth)
        try:
            ip = db.allocate(state.id, p.subnet, p.gateway, p.ip or None, veth=veth,
                             hostname=p.hostname, etc_dir=p.etc_dir, pid=state.pid,
                             starttime=ipam.pid_starttime(state.pid), ports=[str(x) for x in p.ports],
                             table=p.table, add_hosts=[list(x) for x in p.add_hosts])
            nl.attach(veth, p.bridge, gw_cidr, state.pid, f"{ip}/{p.prefixlen}", p.gateway)
            nft.add_container(p.table, p.subnet, ip, p.ports)
            _refresh_hosts(db, p)
        except (ipam.IpamError, netlink.NetlinkError, nft.NftError, OSError) as e:
            try:
                if db.get(state.id):
                    nl.delete_link(veth)
                    db.release(state.id)  # ports were not added: nft changes are all-or-nothing
                _finish_network(db, p, nl)
            finally:
                db.save()
            raise NetworkError(f"network {p.name}: {e}") from None
    return ip


def down(state: State) -> bool:
    """poststop: disconnect the container; True if it had a lease. Idempotent."""
    p = NetParams.from_annotations(state.annotations)
    nl = netlink.backend(p.netlink)
    with ipam.open_leases(p.state_dir, p.name) as db:
        had = db.get(state.id) is not None
        _teardown_lease(db, state.id, p, nl)
        nl.delete_link(veth_name(state.id))
        if had:
            _refresh_hosts(db, p)
        _finish_network(db, p, nl)
    return had


def prune(annotations: dict[str, str]) -> list[str]:
    """Remove leases (and their links and ports) whose container is gone; return their ids.

    ANNOTATIONS are the network's (name, bridge, subnet, state-dir, nft-table); the bridge and
    the NAT entry go too when nothing is left on the network.
    """
    p = NetParams.from_annotations(annotations)
    nl = netlink.backend(p.netlink)
    removed = []
    with ipam.open_leases(p.state_dir, p.name) as db:
        for cid, rec in list(db.leases.items()):
            if not ipam.lease_alive(rec):
                _teardown_lease(db, cid, p, nl)
                removed.append(cid)
        if removed:
            _refresh_hosts(db, p)
        _finish_network(db, p, nl)
    return removed
