"""Network configurations (``ROOT/networks/NAME.json``) and the OCI spec fragment per container.

The heavy lifting happens in the ``hooks`` package, run by the OCI runtime at createRuntime and
by the manager at poststop; this module only stores configs and says what goes into the spec.
Stdlib only (no pyroute2 here: ``ps``/``exec`` may import this module).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import socket
import struct
import sys
import time

from hooks import etcfiles, ipam
from hooks.network import PREFIX, DEFAULT_TABLE
from hooks.nft import Port

DEFAULT_NETWORK = "bridge"
DEFAULT_SUBNET = "10.213.0.0/24"
AUTO_POOL = "10.213.0.0/16"  # named networks get the next free /24 from here
HOOK_TIMEOUT = 60
#: nft table for NAT and published ports (tests point it elsewhere)
NFT_TABLE = os.environ.get("RICHCONTAINER_NFT_TABLE", DEFAULT_TABLE)
MODES = ("bridge", "none", "host")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class NetworkConfigError(ValueError):
    """Bad user input or a refused change; one line for the CLI."""


class NetworkNotFound(NetworkConfigError):
    """The named network does not exist."""


class NetworkConflict(NetworkConfigError):
    """The change collides with what exists: the name is taken, or containers still use it."""


def _dir(root: str) -> str:
    return os.path.join(root, "networks")


def lease_dir(root: str) -> str:
    return os.path.join(_dir(root), "leases")


@contextlib.contextmanager
def _store_lock(root: str):
    with ipam.flocked(os.path.join(_dir(root), ".lock")):
        yield


def bridge_name(name: str, root: str | None = None) -> str:
    """``rc-NAME`` when it fits in 15 characters, else ``rc-`` plus a hash of NAME.

    A store other than the default one (tests, a second instance) gets a hash of both, so two
    stores on one host never share a bridge."""
    if root is None or os.path.abspath(root) == "/var/lib/richcontainer":
        if len(name) <= 12 and re.fullmatch(r"[A-Za-z0-9_-]+", name):
            return f"rc-{name}"
        return "rc-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return "rc" + hashlib.sha256(f"{os.path.abspath(root)}\0{name}".encode()).hexdigest()[:13]


def _host_routes() -> list[ipaddress.IPv4Network]:
    nets = []
    try:
        with open("/proc/net/route") as f:
            next(f)
            for line in f:
                parts = line.split()
                dest, mask = (socket.inet_ntoa(struct.pack("<I", int(x, 16))) for x in (parts[1], parts[7]))
                if dest != "0.0.0.0":
                    nets.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return nets


def _read(root: str, name: str) -> dict | None:
    try:
        with open(os.path.join(_dir(root), f"{name}.json"), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        raise NetworkConfigError(f"network {name}: corrupt config file") from None


def network_configs(root: str) -> list[dict]:
    """The config of every network of the store at ROOT (none is created)."""
    try:
        names = sorted(n[:-5] for n in os.listdir(_dir(root)) if n.endswith(".json"))
    except FileNotFoundError:
        return []
    return [c for c in (_read(root, n) for n in names) if c]


def _pick_subnet(root: str) -> str:
    taken = [ipaddress.IPv4Network(c["subnet"]) for c in network_configs(root)]
    taken += [ipaddress.IPv4Network(DEFAULT_SUBNET)] + _host_routes()
    for cand in ipaddress.IPv4Network(AUTO_POOL).subnets(new_prefix=24):
        if not any(cand.overlaps(t) for t in taken):
            return str(cand)
    raise NetworkConfigError(f"no free /24 left in {AUTO_POOL}; pass --subnet")


def _create_unlocked(root: str, name: str, subnet: str | None, peers: bool) -> dict:
    if not _NAME.match(name) or name in ("none", "host") or name.startswith("container"):
        raise NetworkConfigError(f"invalid network name {name!r}")
    if _read(root, name):
        raise NetworkConflict(f"network {name} already exists")
    if subnet:
        try:
            net = ipaddress.IPv4Network(subnet, strict=False)
        except ValueError as e:
            raise NetworkConfigError(f"invalid subnet {subnet!r}: {e}") from None
        if net.prefixlen > 30:
            raise NetworkConfigError(f"subnet {subnet} is too small (at most /30)")
        for c in network_configs(root):
            if net.overlaps(ipaddress.IPv4Network(c["subnet"])):
                raise NetworkConfigError(f"subnet {net} overlaps network {c['name']} ({c['subnet']})")
    else:
        net = ipaddress.IPv4Network(_pick_subnet(root))
    cfg = {"name": name, "subnet": str(net), "gateway": str(next(net.hosts())), "bridge": bridge_name(name, root),
           "peers": peers, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.makedirs(_dir(root), exist_ok=True)
    ipam.atomic_write_json(os.path.join(_dir(root), f"{name}.json"), cfg)
    return cfg


def create_network(root: str, name: str, subnet: str | None = None) -> dict:
    """Create network NAME (subnet given, or the next free /24 of 10.213.0.0/16); return its config.

    Containers on a created network find each other by name through /etc/hosts.
    """
    os.makedirs(_dir(root), exist_ok=True)
    with _store_lock(root):
        return _create_unlocked(root, name, subnet, peers=True)


def get_network(root: str, name: str) -> dict:
    """Config of NAME; the default network is created on first use."""
    cfg = _read(root, name)
    if cfg:
        return cfg
    if name != DEFAULT_NETWORK:
        raise NetworkNotFound(f"no such network: {name}")
    os.makedirs(_dir(root), exist_ok=True)
    with _store_lock(root):
        if _read(root, name):
            return _read(root, name)  # type: ignore[return-value]
        default = ipaddress.IPv4Network(DEFAULT_SUBNET)
        free = not any(default.overlaps(r) for r in _host_routes())
        return _create_unlocked(root, name, DEFAULT_SUBNET if free else _pick_subnet(root), peers=False)


def network_leases(root: str, name: str) -> dict[str, dict]:
    """{container id: lease} of network NAME: the containers it has set up and not torn down."""
    try:
        with open(ipam.lease_path(lease_dir(root), name), encoding="utf-8") as f:
            return json.load(f).get("leases", {})
    except FileNotFoundError:
        return {}


def list_networks(root: str) -> list[dict]:
    """Every network (the default one included) with the number of containers on it."""
    get_network(root, DEFAULT_NETWORK)
    return [{**c, "containers": len(network_leases(root, c["name"]))} for c in network_configs(root)]


def inspect_network(root: str, name: str) -> dict:
    """Config of NAME plus its containers: {id: {ip, hostname, veth, ports}}."""
    cfg = get_network(root, name)
    leases = {cid: {k: r.get(k) for k in ("ip", "hostname", "veth", "ports")}
              for cid, r in network_leases(root, name).items()}
    return {**cfg, "containers": leases}


def _hook_annotations(root: str, cfg: dict) -> dict[str, str]:
    return {PREFIX + "name": cfg["name"], PREFIX + "bridge": cfg["bridge"], PREFIX + "subnet": cfg["subnet"],
            PREFIX + "gateway": cfg["gateway"], PREFIX + "state-dir": lease_dir(root),
            PREFIX + "nft-table": NFT_TABLE, PREFIX + "peers": "1" if cfg.get("peers") else "0"}


def remove_network(root: str, name: str) -> None:
    """Delete network NAME; refused while a running container uses it (after pruning leftovers)."""
    if name == DEFAULT_NETWORK:
        raise NetworkConfigError("the default network cannot be removed")
    with _store_lock(root):
        cfg = _read(root, name)
        if not cfg:
            raise NetworkNotFound(f"no such network: {name}")
        from hooks import network as hnet  # only here: removal tears links down
        hnet.prune(_hook_annotations(root, cfg))
        users = network_leases(root, name)
        if users:
            raise NetworkConflict(f"network {name} is in use by {len(users)} container(s): "
                                     + ", ".join(sorted(users)[:5]))
        os.unlink(os.path.join(_dir(root), f"{name}.json"))
        for suffix in (".lock",):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(ipam.lease_path(lease_dir(root), name)[:-len(".leases")] + suffix)


def prune(root: str) -> dict[str, list[str]]:
    """Remove what dead containers left (leases, veths, published ports, idle bridges).

    Returns {network: [container ids whose leftovers were removed]}. Also drops published
    ports whose address no live lease holds (a setup killed half way).
    """
    from hooks import network as hnet, nft

    out: dict[str, list[str]] = {}
    live_ips: set[str] = set()
    for cfg in network_configs(root):
        removed = hnet.prune(_hook_annotations(root, cfg))
        if removed:
            out[cfg["name"]] = removed
        live_ips |= {r["ip"] for r in network_leases(root, cfg["name"]).values()}
        subnet = ipaddress.IPv4Network(cfg["subnet"])
        stale = [Port(hp, p, pr) for pr, hp, ip, p in nft.list_table(NFT_TABLE).get("ports", [])
                 if ipaddress.IPv4Address(ip) in subnet and ip not in live_ips]
        nft.remove_container(NFT_TABLE, stale)
    return out


def _parse_hosts(add_hosts: list[str]) -> list[tuple[str, str]]:
    out = []
    for h in add_hosts:
        name, sep, addr = h.partition(":")
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise NetworkConfigError(f"invalid --add-host {h!r} (NAME:IP)") from None
        if not sep or not name:
            raise NetworkConfigError(f"invalid --add-host {h!r} (NAME:IP)")
        out.append((name, addr))
    return out


def _hook(action: str, netlink: str) -> dict:
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(etcfiles.__file__)))
    # -S skips site (and its .pth files): ~40 ms less per start; pyroute2 needs site-packages.
    flags = [] if netlink == "pyroute2" else ["-S"]
    script = os.path.join(pkg_parent, "hooks", "oci_hook.py")
    return {"path": sys.executable, "args": [sys.executable, *flags, script, "network", action],
            "env": [f"PYTHONPATH={pkg_parent}", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "timeout": HOOK_TIMEOUT}


def spec_fragment(root: str, container_id: str, mode: str = DEFAULT_NETWORK, ports: list[str] = (),
                  ip: str | None = None, dns: list[str] = (), add_hosts: list[str] = (),
                  hostname: str = "", *, etc_dir: str, join_pid: int | None = None,
                  join_etc_dir: str | None = None, netlink: str = "") -> dict:
    """What the manager merges into the OCI spec for network MODE.

    MODE: ``bridge`` (the default network), ``none``, ``host``, ``container:NAME`` (give
    JOIN_PID, and JOIN_ETC_DIR to share its hosts/resolv.conf), or a network name.
    Writes the container's hosts/resolv.conf/hostname into ETC_DIR (bind-mounted; the
    network hook fills in the address). Returns ``{"namespaces": [...], "hooks": {stage:
    [...]}, "poststop": [...], "annotations": {...}, "mounts": [...], "hostname": str}``;
    ``namespaces`` replaces any ``network`` entry of the spec (empty for ``host``).
    """
    hosts = _parse_hosts(list(add_hosts))
    try:
        parsed_ports = [Port.parse(p) for p in ports]
        dns_ok = [str(ipaddress.ip_address(d)) for d in dns]
    except ValueError as e:
        raise NetworkConfigError(str(e)) from None
    frag: dict = {"namespaces": [{"type": "network"}], "hooks": {}, "poststop": [], "annotations": {},
                  "mounts": [], "hostname": hostname}
    local = mode in ("none", "host") or mode.startswith("container:")
    if local and (parsed_ports or ip):
        raise NetworkConfigError(f"-p and --ip need a bridge network, not --network {mode}")
    if mode.startswith("container:"):
        if not join_pid:
            raise NetworkConfigError(f"--network {mode}: that container is not running")
        frag["namespaces"] = [{"type": "network", "path": f"/proc/{join_pid}/ns/net"}]
    if local:
        paths = etcfiles.prepare(etc_dir, hostname, dns_ok, hosts)
        mounts = etcfiles.spec_mounts(etc_dir)
        if mode == "host":
            frag["namespaces"] = []
            own = f"127.0.1.1\t{hostname}\n" if hostname else ""
            extra = "".join(f"{a}\t{n}\n" for n, a in hosts)
            etcfiles.write_in_place(paths[etcfiles.HOSTS], _read_text("/etc/hosts") + own + extra)
            if not dns_ok:
                etcfiles.write_in_place(paths[etcfiles.RESOLV], _read_text("/etc/resolv.conf"))
        elif join_etc_dir:  # share the other container's hosts and resolv.conf, as podman does
            mounts = [m for m in etcfiles.spec_mounts(join_etc_dir) if not m["destination"].endswith("hostname")]
            mounts += [m for m in etcfiles.spec_mounts(etc_dir) if m["destination"].endswith("hostname")]
        frag["mounts"] = mounts
        return frag
    cfg = get_network(root, mode)
    if ip:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise NetworkConfigError(f"invalid --ip {ip!r}") from None
        if addr not in ipaddress.IPv4Network(cfg["subnet"]):
            raise NetworkConfigError(f"--ip {ip} is not in network {cfg['name']} ({cfg['subnet']})")
    etcfiles.prepare(etc_dir, hostname, dns_ok, hosts)
    ann = _hook_annotations(root, cfg)
    ann.update({PREFIX + "etc-dir": etc_dir, PREFIX + "hostname": hostname,
                PREFIX + "ports": ",".join(map(str, parsed_ports)), PREFIX + "ip": ip or "",
                PREFIX + "dns": ",".join(dns_ok), PREFIX + "add-hosts": ",".join(f"{n}:{a}" for n, a in hosts)})
    if netlink:
        ann[PREFIX + "netlink"] = netlink
    frag.update(annotations={k: v for k, v in ann.items() if v}, mounts=etcfiles.spec_mounts(etc_dir),
                hooks={"createRuntime": [_hook("up", netlink)]}, poststop=[_hook("down", netlink)])
    return frag


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return etcfiles.LOCALHOST
