"""`python -m lxcfs_py [options] [MOUNT]`: serve the lxcfs view (default /var/lib/lxcfs).

Also `python -m lxcfs_py supervise ...` (the restart loop, see supervise.py) and
`python -m lxcfs_py reattach [--pid PID ...] MOUNT` (re-bind the files into containers).
"""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_MOUNT = "/var/lib/lxcfs"


def _serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lxcfs-py", description="lxcfs-compatible /proc view in Python")
    p.add_argument("mountpoint", nargs="?", default=DEFAULT_MOUNT)
    p.add_argument("-f", "--foreground", action="store_true", help="do not daemonize")
    p.add_argument("-d", "--debug", action="store_true", help="libfuse debug output")
    p.add_argument("--disable-cfs", action="store_true",
                   help="cpuinfo/online/stat from the cpuset only (lxcfs without --enable-cfs)")
    p.add_argument("--enable-cfs", action="store_true", help="accepted for lxcfs compatibility (default)")
    p.add_argument("-u", "--disable-swap", action="store_true", help="report no swap")
    p.add_argument("--disable-loadavg", action="store_true", help="serve the host's loadavg")
    p.add_argument("-l", "--enable-loadavg", action="store_true", help="accepted (default)")
    p.add_argument("--cache-ms", type=float, default=50.0,
                   help="max age of a cached cgroup/host file read (default 50 ms, 0 = off)")
    p.add_argument("-p", "--pidfile", help="write the daemon pid here")
    return p


def serve(argv: list[str]) -> int:
    args = _serve_parser().parse_args(argv)
    mnt = os.path.abspath(args.mountpoint)
    if not os.path.isdir(mnt):
        try:
            os.makedirs(mnt, exist_ok=True)
        except OSError as e:
            print(f"lxcfs-py: cannot create mount point {mnt}: {e.strerror}", file=sys.stderr)
            return 1
    if os.geteuid() != 0:
        print("lxcfs-py: must run as root (allow_other and cgroup reads)", file=sys.stderr)
        return 1
    try:
        from .cgroup import Cgroups, FileCache
        from .fs import mount
        from .procview import ProcView
    except OSError as e:  # libfuse missing
        print(f"lxcfs-py: {e}", file=sys.stderr)
        return 1
    view = ProcView(Cgroups(FileCache(ttl=max(args.cache_ms, 0) / 1000.0)),
                    use_cfs=not args.disable_cfs, swap=not args.disable_swap,
                    loadavg=not args.disable_loadavg)
    def write_pidfile() -> None:
        if args.pidfile:
            with open(args.pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
    try:
        mount(mnt, view, foreground=args.foreground, debug=args.debug, on_ready=write_pidfile)
    except RuntimeError as e:
        print(f"lxcfs-py: mounting {mnt} failed ({e}); is it stale? try: umount -l {mnt}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "supervise":
        from .supervise import supervise_main
        return supervise_main(argv[1:])
    if argv and argv[0] == "reattach":
        from .attach import reattach_main
        return reattach_main(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
