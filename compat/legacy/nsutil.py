"""Raw syscalls for the legacy runtime (ctypes; Python >= 3.4 syntax, no f-strings)."""

import ctypes
import fcntl
import os
import platform
import signal
import termios

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
CLONE_PARENT = 0x00008000
NS_FLAGS = {"mount": CLONE_NEWNS, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC, "network": CLONE_NEWNET,
            "pid": CLONE_NEWPID, "user": CLONE_NEWUSER, "cgroup": CLONE_NEWCGROUP}

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE = 1 << 18, 1 << 19, 1 << 20, 1 << 17
MNT_DETACH = 2
PR_CAPBSET_DROP = 24

_NR = {"x86_64": {"clone": 56, "pivot_root": 155, "setns": 308},
       "aarch64": {"clone": 220, "pivot_root": 41, "setns": 268}}[platform.machine()]
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(ret, what):
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))
    return ret


def _enc(value):
    return value.encode() if isinstance(value, str) else value


def clone(flags):
    """fork-like clone(2) with namespace FLAGS (what 2.6.32 offers instead of unshare(CLONE_NEWPID))."""
    return _check(_libc.syscall(ctypes.c_long(_NR["clone"]), ctypes.c_ulong(flags | signal.SIGCHLD),
                                ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0),
                                ctypes.c_void_p(0)), "clone")


def setns(fd, nstype):
    _check(_libc.syscall(ctypes.c_long(_NR["setns"]), ctypes.c_long(fd), ctypes.c_long(nstype)), "setns")


def mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_enc(source), _enc(target), _enc(fstype) if fstype else None,
                       ctypes.c_ulong(flags), _enc(data) if data else None),
           "mount %s on %s" % (fstype or source, target))


def umount2(target, flags=0):
    _check(_libc.umount2(_enc(target), ctypes.c_int(flags)), "umount " + target)


def pivot_root(new_root, put_old):
    _check(_libc.syscall(ctypes.c_long(_NR["pivot_root"]), ctypes.c_char_p(_enc(new_root)),
                         ctypes.c_char_p(_enc(put_old))), "pivot_root")


def unix_path(path):
    """A unix socket address for PATH that fits sun_path (108 bytes): long paths go through an
    O_PATH-like directory fd, /proc/self/fd/N/NAME. Returns (address, fd to close after use or None)."""
    if len(path.encode()) < 100:
        return path, None
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return "/proc/self/fd/%d/%s" % (fd, os.path.basename(path)), fd


def take_terminal(path):
    """New session with PATH (the container's console) as controlling terminal and stdio."""
    os.setsid()
    fd = os.open(path, os.O_RDWR)
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def sethostname(name):
    raw = _enc(name)
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def drop_bounding_caps(keep):
    """Drop every capability not in KEEP (numbers) from the bounding set (PR_CAPBSET_DROP, 2.6.25)."""
    for cap in range(0, 64):
        if cap in keep:
            continue
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break  # EINVAL past the last capability the kernel knows


CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE"]


def proc_start_time(pid):
    """Field 22 of /proc/PID/stat (guards against pid reuse), or None if the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            data = fh.read()
    except (IOError, OSError):
        return None
    fields = data[data.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]
