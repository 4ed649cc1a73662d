"""Link, address and route changes for the bridge network.

Two interchangeable backends with the same two functions (``attach``, ``delete_link``):

* ``iproute2`` (default): one ``ip -batch`` per namespace, ~3 ms each; inside the container's
  netns through ``nsenter --net=/proc/PID/ns/net``;
* ``pyroute2``: netlink from Python; imported lazily, because importing pyroute2 costs
  100-250 ms, more than the whole network setup with iproute2.

Choose with :func:`backend` (the hook takes the name from an annotation).
"""

from __future__ import annotations

import os

from . import spawn

TIMEOUT = 30


class NetlinkError(RuntimeError):
    """A link/address/route change failed."""


# A backend has: attach(host_if, bridge, gateway_cidr, pid, addr_cidr, gateway) -> bool (bridge
# created), delete_link(name) -> bool. (No typing.Protocol: hook start-up time.)
Backend = "IpRoute2 | Pyroute2"


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def set_sysctl(path: str, value: str) -> None:
    """Write VALUE to /proc/sys/PATH (PATH with slashes: ``net/ipv4/ip_forward``)."""
    with open("/proc/sys/" + path, "w") as f:
        f.write(value)


def _bridge_sysctls(name: str) -> None:
    set_sysctl("net/ipv4/ip_forward", "1")  # NAT to the outside needs forwarding (as podman does)
    set_sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")  # 127.0.0.1:HOSTPORT -> container


class IpRoute2:
    """The ``ip`` command."""

    def _batch(self, lines: list[str], netns_pid: int | None = None) -> None:
        argv = ["ip", "-batch", "-"]
        if netns_pid:
            argv = ["nsenter", f"--net=/proc/{netns_pid}/ns/net", "--", *argv]
        try:
            p = spawn.run(argv, input="\n".join(lines) + "\n", timeout=TIMEOUT)
        except FileNotFoundError as e:
            raise NetlinkError(f"{e.filename} not found (install iproute2 / util-linux)") from None
        if p.returncode != 0:
            raise NetlinkError(" ".join(p.stderr.split()) or f"ip -batch failed ({p.returncode})")

    def attach(self, host_if: str, bridge: str, gateway_cidr: str, pid: int, addr_cidr: str, gateway: str) -> bool:
        """veth HOST_IF on BRIDGE (created with GATEWAY_CIDR if missing, in the same ``ip -batch``);
        its peer becomes eth0 in PID's netns with ADDR_CIDR and a default route.
        True if the bridge was created."""
        new_bridge = not link_exists(bridge)
        lines = [f"link add {bridge} type bridge", f"addr add {gateway_cidr} dev {bridge}",
                 f"link set {bridge} up"] if new_bridge else []
        self._batch([*lines, f"link add {host_if} type veth peer name eth0 netns {pid}",
                     f"link set {host_if} master {bridge} up"])
        if new_bridge:
            _bridge_sysctls(bridge)
        self._batch(["link set lo up", f"addr add {addr_cidr} dev eth0", "link set eth0 up",
                     f"route add default via {gateway} dev eth0"], netns_pid=pid)
        return new_bridge

    def delete_link(self, name: str) -> bool:
        """Delete link NAME if present; True if it existed."""
        if not link_exists(name):
            return False
        p = spawn.run(["ip", "link", "del", name], timeout=TIMEOUT)
        if p.returncode != 0 and link_exists(name):
            raise NetlinkError(f"cannot delete {name}: {p.stderr.strip()}")
        return True


class Pyroute2:
    """pyroute2 (imported on first use only)."""

    def __init__(self) -> None:
        try:
            from pyroute2 import IPRoute, NetNS
        except ImportError:
            raise NetlinkError("pyroute2 is not installed (pip install pyroute2)") from None
        self._IPRoute, self._NetNS = IPRoute, NetNS

    def attach(self, host_if: str, bridge: str, gateway_cidr: str, pid: int, addr_cidr: str, gateway: str) -> bool:
        created = self._ensure_bridge(bridge, gateway_cidr)
        self._add_veth(host_if, bridge, pid, addr_cidr, gateway)
        return created

    def _ensure_bridge(self, name: str, gateway_cidr: str) -> bool:
        if link_exists(name):
            return False
        addr, plen = gateway_cidr.split("/")
        with self._IPRoute() as ipr:
            ipr.link("add", ifname=name, kind="bridge")
            idx = ipr.link_lookup(ifname=name)[0]
            ipr.addr("add", index=idx, address=addr, prefixlen=int(plen))
            ipr.link("set", index=idx, state="up")
        _bridge_sysctls(name)
        return True

    def _add_veth(self, host_if: str, bridge: str, pid: int, addr_cidr: str, gateway: str) -> None:
        addr, plen = addr_cidr.split("/")
        nsfd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with self._IPRoute() as ipr:
                ipr.link("add", ifname=host_if, kind="veth", peer={"ifname": "eth0", "net_ns_fd": nsfd})
                idx = ipr.link_lookup(ifname=host_if)[0]
                br = ipr.link_lookup(ifname=bridge)[0]
                ipr.link("set", index=idx, master=br, state="up")
        finally:
            os.close(nsfd)
        with self._NetNS(f"/proc/{pid}/ns/net") as ns:
            lo = ns.link_lookup(ifname="lo")[0]
            ns.link("set", index=lo, state="up")
            eth = ns.link_lookup(ifname="eth0")[0]
            ns.addr("add", index=eth, address=addr, prefixlen=int(plen))
            ns.link("set", index=eth, state="up")
            ns.route("add", dst="default", gateway=gateway)

    def delete_link(self, name: str) -> bool:
        if not link_exists(name):
            return False
        with self._IPRoute() as ipr:
            idx = ipr.link_lookup(ifname=name)
            if idx:
                ipr.link("del", index=idx[0])
        return True


def backend(name: str = "") -> Backend:
    """The backend called NAME (``iproute2`` or ``pyroute2``; empty: iproute2)."""
    if name in ("", "iproute2", "ip"):
        return IpRoute2()
    if name == "pyroute2":
        return Pyroute2()
    raise NetlinkError(f"unknown netlink backend {name!r} (iproute2 or pyroute2)")
