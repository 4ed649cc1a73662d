"""Old-kernel emulation for tests: run a command under a seccomp filter that makes this kernel
answer like RHEL 6 (2.6.32) or RHEL 7 (3.10) for the syscalls richcontainer probes and uses.

    python3 -m compat.emulate --profile el6 -- CMD [ARGS...]

The filter returns ENOSYS for syscalls the old kernel lacks and EINVAL for flags it does not know
(unshare(CLONE_NEWPID), setns into mnt/pid, PR_SET_CHILD_SUBREAPER...). With the el6 profile the
command also runs under `setarch --uname-2.6`. A filter cannot hide /proc or /sys entries: pair it
with a recorded tree (`compat.probe.probe(root=tests/compat/fixtures/el6, live=True)`).
Installing a filter needs CAP_SYS_ADMIN or no_new_privs; as root we have the former. x86_64 only.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import shutil
import struct
import sys

from compat import syscalls as sc

AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
O_TMPFILE_BIT = 0x400000  # __O_TMPFILE

_NR = {"open": 2, "openat": 257, "openat2": 437, "clone": 56, "clone3": 435, "unshare": 272, "setns": 308,
       "memfd_create": 319, "seccomp": 317, "prctl": 157, "pidfd_open": 434, "pidfd_send_signal": 424,
       "pidfd_getfd": 438, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
       "fsmount": 432, "fspick": 433, "mount_setattr": 442, "statx": 332}

# A rule: (syscall, [(arg index, op, value)...] all true -> fail with errno). op: eq, ne, set (any bit).
Rule = tuple[str, list[tuple[int, str, int]], int]

_NEW = ["clone3", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "open_tree", "move_mount", "fsopen",
        "fsconfig", "fsmount", "fspick", "mount_setattr", "openat2"]
_EL7: list[Rule] = [(name, [], errno.ENOSYS) for name in _NEW] + [
    ("unshare", [(0, "set", sc.CLONE_NEWUSER | sc.CLONE_NEWCGROUP | sc.CLONE_NEWTIME)], errno.EINVAL),
    ("clone", [(0, "set", sc.CLONE_NEWUSER | sc.CLONE_NEWCGROUP)], errno.EINVAL),
]
_EL6: list[Rule] = [(name, [], errno.ENOSYS) for name in _NEW + ["memfd_create", "seccomp", "statx"]] + [
    ("setns", [(1, "ne", sc.CLONE_NEWNET)], errno.EINVAL),  # RHEL 6.5+ backported setns for net only
    ("unshare", [(0, "set", sc.CLONE_NEWPID | sc.CLONE_NEWUSER | sc.CLONE_NEWCGROUP | sc.CLONE_NEWTIME)],
     errno.EINVAL),
    ("clone", [(0, "set", sc.CLONE_NEWUSER | sc.CLONE_NEWCGROUP)], errno.EINVAL),
    ("open", [(1, "set", O_TMPFILE_BIT)], errno.EISDIR),
    ("openat", [(2, "set", O_TMPFILE_BIT)], errno.EISDIR),
    ("prctl", [(0, "eq", sc.PR_SET_SECCOMP), (1, "eq", sc.SECCOMP_MODE_FILTER)], errno.EINVAL),
] + [("prctl", [(0, "eq", opt)], errno.EINVAL) for opt in (36, 37, 38, 39, 47)]  # subreaper, nnp, ambient

PROFILES = {"el6": _EL6, "el7": _EL7}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06


def build_filter(rules: list[Rule]) -> bytes:
    """Classic BPF for seccomp: one block per rule, falling through to ALLOW."""
    prog = [_insn(LD_W_ABS, 0, 0, 4), _insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64), _insn(RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    for name, conds, err in rules:
        size = 2 + 2 * len(conds) + 1
        block = [_insn(LD_W_ABS, 0, 0, 0), _insn(JEQ_K, 0, size - 2, _NR[name])]
        for idx, op, value in conds:
            block.append(_insn(LD_W_ABS, 0, 0, 16 + 8 * idx))
            skip = size - len(block) - 1
            if op == "eq":
                block.append(_insn(JEQ_K, 0, skip, value))
            elif op == "ne":
                block.append(_insn(JEQ_K, skip, 0, value))
            else:
                block.append(_insn(JSET_K, 0, skip, value))
        block.append(_insn(RET_K, 0, 0, SECCOMP_RET_ERRNO | err))
        prog.extend(block)
    prog.append(_insn(RET_K, 0, 0, SECCOMP_RET_ALLOW))
    return b"".join(prog)


def install(profile: str) -> None:
    """Install PROFILE's filter on this process (inherited by children, cannot be removed)."""
    if os.uname().machine != "x86_64":
        raise OSError(errno.ENOTSUP, "the emulation filter is written for x86_64")
    code = build_filter(PROFILES[profile])
    buf = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(code) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(sc.PR_SET_SECCOMP, sc.SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "installing the seccomp filter: " + os.strerror(err))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m compat.emulate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), required=True)
    ap.add_argument("--no-uname26", action="store_true", help="keep the real uname (el6 sets --uname-2.6)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    ns = ap.parse_args(argv)
    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if not cmd:
        ap.error("a command is required after --")
    if ns.profile == "el6" and not ns.no_uname26:
        setarch = shutil.which("setarch")
        if not setarch:
            print("compat.emulate: setarch not found (util-linux)", file=sys.stderr)
            return 127
        cmd = [setarch, os.uname().machine, "--uname-2.6", *cmd]
    try:
        install(ns.profile)
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        print(f"compat.emulate: {exc.strerror or exc}", file=sys.stderr)
        return 126
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
