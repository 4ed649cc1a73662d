"""The capabilities this host can hand out: the bounding set of the calling process."""

from __future__ import annotations

# Linux capability numbers (linux/capability.h), in order.
CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)


def cap_name(text: str) -> str:
    """CAP_NET_ADMIN for net_admin, NET_ADMIN or cap_net_admin (ALL stays ALL)."""
    up = text.upper()
    return up if up == "ALL" or up.startswith("CAP_") else "CAP_" + up


def caps_from_mask(mask: int) -> frozenset[str]:
    """The named capabilities whose bits are set in MASK (unknown higher bits are ignored)."""
    return frozenset(name for bit, name in enumerate(CAP_NAMES) if mask >> bit & 1)


def parse_cap_bounding(status_text: str) -> frozenset[str] | None:
    """The CapBnd set from the text of /proc/PID/status, or None if it has no such line."""
    for line in status_text.splitlines():
        if line.startswith("CapBnd:"):
            return caps_from_mask(int(line.split()[1], 16))
    return None


def host_bounding_caps() -> frozenset[str] | None:
    """What this process may give a container (a host without, say, CAP_SYS_RESOURCE in its
    bounding set cannot grant it; runc would fail with 'unable to apply caps'). None if unknown."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:  # the codec Python has loaded already
            return parse_cap_bounding(f.read())
    except (OSError, ValueError):
        return None
