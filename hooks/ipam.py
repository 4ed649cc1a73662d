"""File-based IP address management: one JSON lease file per network, guarded by flock.

``STATE_DIR/NAME.leases`` maps container id -> lease record (ip plus whatever the caller keeps:
veth, hostname, hosts file, pid and its start time). ``STATE_DIR/NAME.lock`` is the lock file;
every read-modify-write happens under ``flock(LOCK_EX)``, so concurrent starts never share an
address. The lease file is replaced atomically (temp, fsync, rename) and removed when empty.
"""

from __future__ import annotations

import fcntl
import os

from . import ip4, jsonlite


class IpamError(RuntimeError):
    """No address left, or the requested address is invalid or taken."""


def lease_path(state_dir: str, network: str) -> str:
    return os.path.join(state_dir, f"{network}.leases")


class flocked:
    """``with flocked(path):`` holds an exclusive flock on PATH (created if needed) for the block.

    A class, not @contextlib.contextmanager: contextlib's imports cost the hook ~2 ms per start.
    """

    def __init__(self, path: str) -> None:
        self.path, self.fd = path, -1

    def __enter__(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


def atomic_write_json(path: str, data: object) -> None:
    """Write DATA as JSON to PATH atomically (temp file, fsync, rename)."""
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.tmp")  # no tempfile: start-up time
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(jsonlite.dumps(data, indent=1))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class LeaseDB:
    """The leases of one network; use through :func:`open_leases` (which holds the lock)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.changed = False
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            self.leases = {}
            return
        try:
            self.leases: dict[str, dict] = jsonlite.loads(text).get("leases", {})
        except (ValueError, AttributeError):  # ValueError: json.JSONDecodeError
            raise IpamError(f"{path}: corrupt lease file") from None

    def get(self, cid: str) -> dict | None:
        return self.leases.get(cid)

    def used(self) -> set[str]:
        return {rec["ip"] for rec in self.leases.values()}

    def allocate(self, cid: str, subnet: str, gateway: str, want: str | None = None, **info: object) -> str:
        """Lease an address in SUBNET for CID (WANT if given), recording INFO; return the address."""
        if ":" in subnet:  # IPv6: rare, keep ipaddress for it
            return self._allocate_ipaddress(cid, subnet, gateway, want, **info)
        net, plen = ip4.network(subnet)
        bcast = ip4.broadcast(net, plen)
        reserved = {gateway}
        used = self.used()
        if want:
            try:
                addr = ip4.addr(want)
            except ValueError:
                if ":" not in want:
                    raise IpamError(f"invalid address {want!r}") from None
                try:
                    ip4.ip_str(want)
                except ValueError:
                    raise IpamError(f"invalid address {want!r}") from None
                addr = -1  # an IPv6 address is never in an IPv4 subnet
            if not net <= addr <= bcast or addr in (net, bcast) or want in reserved:
                raise IpamError(f"address {want} is not usable in {subnet}")
            if want in used:
                raise IpamError(f"address {want} is already in use on this network")
            ip = want
        else:
            ip = next((s for s in map(ip4.to_str, ip4.hosts(net, plen)) if s not in used and s not in reserved), "")
            if not ip:
                raise IpamError(f"no free address left in {subnet}")
        self.leases[cid] = {"ip": ip, **info}
        self.changed = True
        return ip

    def _allocate_ipaddress(self, cid: str, subnet: str, gateway: str, want: str | None = None,
                            **info: object) -> str:
        import ipaddress
        net = ipaddress.ip_network(subnet, strict=False)
        reserved = {gateway}
        used = self.used()
        if want:
            try:
                addr = ipaddress.ip_address(want)
            except ValueError:
                raise IpamError(f"invalid address {want!r}") from None
            if addr not in net or addr in (net.network_address, net.broadcast_address) or want in reserved:
                raise IpamError(f"address {want} is not usable in {subnet}")
            if want in used:
                raise IpamError(f"address {want} is already in use on this network")
            ip = want
        else:
            ip = next((str(a) for a in net.hosts() if str(a) not in used and str(a) not in reserved), "")
            if not ip:
                raise IpamError(f"no free address left in {subnet}")
        self.leases[cid] = {"ip": ip, **info}
        self.changed = True
        return ip

    def update(self, cid: str, **info: object) -> None:
        self.leases[cid].update(info)
        self.changed = True

    def release(self, cid: str) -> dict | None:
        """Drop CID's lease; return it (None if it had none)."""
        rec = self.leases.pop(cid, None)
        if rec is not None:
            self.changed = True
        return rec

    def save(self) -> None:
        if not self.changed:
            return
        if self.leases:
            atomic_write_json(self.path, {"leases": self.leases})
        else:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.changed = False


class open_leases:
    """``with open_leases(state_dir, network) as db:`` locks NETWORK's leases and gives the LeaseDB;
    saved on normal exit (changes are dropped on error)."""

    def __init__(self, state_dir: str, network: str) -> None:
        self._lock = flocked(os.path.join(state_dir, f"{network}.lock"))
        self._path = lease_path(state_dir, network)
        self._db: LeaseDB | None = None

    def __enter__(self) -> LeaseDB:
        self._lock.__enter__()
        try:
            self._db = LeaseDB(self._path)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None and self._db is not None:
                self._db.save()
        finally:
            self._db = None
            self._lock.__exit__(None, None, None)


def pid_starttime(pid: int) -> int | None:
    """Start time of PID in clock ticks since boot (field 22 of /proc/PID/stat); None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):  # a zombie nobody reaped (PID 1 may not reap) is gone too
        return None
    return int(fields[19])


def lease_alive(rec: dict) -> bool:
    """True if the process that holds the lease still runs (same pid *and* start time)."""
    pid, start = rec.get("pid"), rec.get("starttime")
    if not pid or start is None:
        return True  # not yet filled in: being set up right now by a holder of the lock
    return pid_starttime(int(pid)) == start
