"""Secure defaults that enter every generated spec (data only)."""

from __future__ import annotations

from richcontainer.util.caps import CAP_NAMES

# podman's 11 default capabilities.
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
)

ALL_CAPS = CAP_NAMES  # every capability Linux defines (its numbering is in util.caps)

MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)

READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# (type, major, minor, access) allowed in the devices cgroup after "deny all".
ALLOWED_DEVICES = (
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"),
    ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"), ("c", 136, None, "rwm"),
)

# Denied with EPERM; everything else is allowed (a deny list, like LXC's common.seccomp,
# extended with what docker's profile refuses to unprivileged containers).
SECCOMP_DENIED = (
    "kexec_load", "kexec_file_load", "open_by_handle_at", "init_module", "finit_module",
    "delete_module", "create_module", "get_kernel_syms", "query_module", "iopl", "ioperm",
    "swapon", "swapoff", "acct", "lookup_dcookie", "nfsservctl", "vm86", "vm86old", "uselib",
    "_sysctl", "add_key", "request_key", "keyctl", "quotactl", "bpf", "perf_event_open",
    "userfaultfd", "pivot_root",
)
SECCOMP_ARCHES = ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
