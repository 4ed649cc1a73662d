"""Build the container's filesystem inside its new mount namespace, then pivot_root into it."""

import array
import fcntl
import os
import socket
import stat
import struct

import nsutil as ns

_FLAGS = {"ro": ns.MS_RDONLY, "nosuid": ns.MS_NOSUID, "nodev": ns.MS_NODEV, "noexec": ns.MS_NOEXEC,
          "sync": 16, "mand": 64, "dirsync": 128, "noatime": 1024, "nodiratime": 2048,
          "bind": ns.MS_BIND, "rbind": ns.MS_BIND | ns.MS_REC, "relatime": 1 << 21, "strictatime": 1 << 24}
_CLEAR = ("rw", "suid", "dev", "exec", "async", "atime", "diratime", "norelatime", "nostrictatime")
_PROPAGATION = {"private": ns.MS_PRIVATE, "rprivate": ns.MS_PRIVATE | ns.MS_REC, "slave": ns.MS_SLAVE,
                "rslave": ns.MS_SLAVE | ns.MS_REC, "shared": ns.MS_SHARED, "rshared": ns.MS_SHARED | ns.MS_REC,
                "unbindable": ns.MS_UNBINDABLE, "runbindable": ns.MS_UNBINDABLE | ns.MS_REC}
_DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]


def parse_options(options):
    """(flags, propagation flags, data string) from OCI mount options."""
    flags, prop, data = 0, 0, []
    for opt in options or []:
        if opt in _FLAGS:
            flags |= _FLAGS[opt]
        elif opt in _PROPAGATION:
            prop |= _PROPAGATION[opt]
        elif opt not in _CLEAR:
            data.append(opt)
    return flags, prop, ",".join(data)


def inside(rootfs, path):
    """Host path for PATH in ROOTFS, refusing symlinks that climb out of it."""
    target = os.path.normpath(os.path.join(rootfs, path.lstrip("/")))
    real_root = os.path.realpath(rootfs)
    real = os.path.realpath(target)
    if real != real_root and not real.startswith(real_root + "/"):
        raise OSError(1, "mount destination %s escapes the rootfs" % path)
    return real


def _make_target(dest, source_is_file):
    if os.path.lexists(dest):
        return
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        os.makedirs(parent)
    if source_is_file:
        open(dest, "a").close()
    else:
        os.mkdir(dest)


def do_mount(rootfs, m):
    dest = inside(rootfs, m["destination"])
    mtype = m.get("type") or "none"
    flags, prop, data = parse_options(m.get("options"))
    if mtype == "cgroup" or m["destination"].startswith("/sys/fs/cgroup/"):
        return  # sysvinit/upstart guests do not need /sys/fs/cgroup; systemd guests are not supported here
    if flags & ns.MS_BIND:
        src = m["source"]
        _make_target(dest, not os.path.isdir(src))
        ns.mount(src, dest, None, flags & (ns.MS_BIND | ns.MS_REC))
        rest = flags & ~(ns.MS_BIND | ns.MS_REC)
        if rest:
            ns.mount(src, dest, None, ns.MS_BIND | ns.MS_REMOUNT | rest)
    else:
        _make_target(dest, False)
        ns.mount(m.get("source") or mtype, dest, mtype, flags, data or None)
    if prop:
        ns.mount("none", dest, None, prop)


def make_devices(rootfs):
    dev = os.path.join(rootfs, "dev")
    for name, major, minor in _DEVICES:
        path = os.path.join(dev, name)
        if not os.path.exists(path):
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod(path, 0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(os.path.join(dev, name)):
            os.symlink(target, os.path.join(dev, name))
    if os.path.isdir(os.path.join(dev, "pts")) and not os.path.lexists(os.path.join(dev, "ptmx")):
        os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))


def setup_console(rootfs, console_socket):
    """A pty in the container's own devpts: the slave is bound on /dev/console, the master goes to
    the monitor over CONSOLE_SOCKET (SCM_RIGHTS, like runc). Returns the slave's in-container path."""
    ptmx = os.path.join(rootfs, "dev/pts/ptmx")
    if not os.path.exists(ptmx):
        raise OSError(2, "a terminal needs a devpts (newinstance) mount on /dev/pts")
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.ioctl(master, 0x40045431, struct.pack("i", 0))  # TIOCSPTLCK: unlock
        num = struct.unpack("i", fcntl.ioctl(master, 0x80045430, struct.pack("i", 0)))[0]  # TIOCGPTN
        slave = "/dev/pts/%d" % num
        console = os.path.join(rootfs, "dev/console")
        if not os.path.lexists(console):
            open(console, "a").close()
        ns.mount(os.path.join(rootfs, slave.lstrip("/")), console, None, ns.MS_BIND)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            addr, dirfd = ns.unix_path(console_socket)
            try:
                sock.connect(addr)
            finally:
                if dirfd is not None:
                    os.close(dirfd)
            sock.sendmsg([slave.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [master]))])
        finally:
            sock.close()
    finally:
        os.close(master)
    return "/dev/console"


def mask_and_protect(linux):
    """maskedPaths (bind /dev/null or an empty ro tmpfs) and readonlyPaths, after pivot_root."""
    for path in linux.get("maskedPaths") or []:
        if not os.path.exists(path):
            continue
        if os.path.isdir(path):
            ns.mount("tmpfs", path, "tmpfs", ns.MS_RDONLY, None)
        else:
            ns.mount("/dev/null", path, None, ns.MS_BIND)
    for path in linux.get("readonlyPaths") or []:
        if os.path.exists(path):
            ns.mount(path, path, None, ns.MS_BIND | ns.MS_REC)
            ns.mount(path, path, None, ns.MS_BIND | ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_REC)


def setup_rootfs(config, rootfs):
    """Everything up to (not including) pivot_root: private propagation, the rootfs bind, the mounts."""
    linux = config.get("linux") or {}
    prop = _PROPAGATION.get(linux.get("rootfsPropagation") or "rprivate", ns.MS_PRIVATE | ns.MS_REC)
    ns.mount("none", "/", None, prop)  # nothing we mount may leak to the host
    ns.mount(rootfs, rootfs, None, ns.MS_BIND | ns.MS_REC)
    for m in config.get("mounts") or []:
        do_mount(rootfs, m)
    make_devices(rootfs)


def enter_rootfs(config, rootfs):
    """pivot_root(".", ".") then detach the old root (runc's trick; no scratch dir needed)."""
    os.chdir(rootfs)
    ns.pivot_root(".", ".")
    ns.mount("none", ".", None, ns.MS_SLAVE | ns.MS_REC)
    ns.umount2(".", ns.MNT_DETACH)
    os.chdir("/")
    mask_and_protect(config.get("linux") or {})
    if (config.get("root") or {}).get("readonly"):
        ns.mount("/", "/", None, ns.MS_BIND | ns.MS_REMOUNT | ns.MS_RDONLY)
