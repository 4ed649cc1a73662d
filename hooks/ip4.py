"""IPv4 addresses and networks as plain ints, for the hooks' start-up time.

``ipaddress`` costs ~6 ms of imports (re, functools, enum...) on every hook start. These helpers
accept only the plain dotted-quad forms (``10.1.2.3``, ``10.1.2.0/24``); anything else is handed to
``ipaddress`` (imported then), so what is accepted or rejected, and the error messages, are the
same as ``ipaddress.IPv4Address`` / ``IPv4Network(strict=False)``.
"""

from __future__ import annotations

_DIGITS = frozenset("0123456789")


def _fast_addr(text: str) -> int | None:
    """The int of a canonical dotted quad; None if TEXT is anything else (valid or not)."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for p in parts:
        if not 0 < len(p) <= 3 or not _DIGITS.issuperset(p) or (p[0] == "0" and len(p) > 1):
            return None
        v = int(p)
        if v > 255:
            return None
        n = n << 8 | v
    return n


def to_str(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def addr(text: str) -> int:
    """``ipaddress.IPv4Address(text)`` as an int; ValueError (ipaddress's message) if invalid."""
    n = _fast_addr(text)
    if n is None:
        import ipaddress
        n = int(ipaddress.IPv4Address(text))
    return n


def network(text: str) -> tuple[int, int]:
    """``ipaddress.IPv4Network(text, strict=False)`` as (network int, prefix length)."""
    a, sep, plen = text.partition("/")
    n = _fast_addr(a)
    if n is not None and (not sep or (0 < len(plen) <= 2 and _DIGITS.issuperset(plen) and int(plen) <= 32)):
        p = int(plen) if sep else 32
        return n & mask(p), p
    import ipaddress
    net = ipaddress.IPv4Network(text, strict=False)
    return int(net.network_address), net.prefixlen


def mask(prefixlen: int) -> int:
    return (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF


def net_str(net: int, prefixlen: int) -> str:
    return f"{to_str(net)}/{prefixlen}"


def broadcast(net: int, prefixlen: int) -> int:
    return net | (0xFFFFFFFF >> prefixlen)


def hosts(net: int, prefixlen: int) -> range:
    """The usable host addresses, as ``IPv4Network.hosts()`` (all of a /31, the one of a /32)."""
    if prefixlen >= 31:
        return range(net, broadcast(net, prefixlen) + 1)
    return range(net + 1, broadcast(net, prefixlen))


def ip_str(text: str) -> str:
    """``str(ipaddress.ip_address(text))`` (IPv4 or IPv6); ValueError (ipaddress's message) if invalid."""
    if _fast_addr(text) is not None:
        return text
    import ipaddress
    return str(ipaddress.ip_address(text))
