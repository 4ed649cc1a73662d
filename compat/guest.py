"""Detect what a guest image runs as init, its systemd version and its distribution (no execution)."""

from __future__ import annotations

import glob
import os
import re

from compat.model import GuestInfo

_SYSTEMD_DIRS = ("usr/lib/systemd", "lib/systemd", "usr/lib64/systemd", "usr/lib/x86_64-linux-gnu/systemd",
                 "usr/lib/aarch64-linux-gnu/systemd")
_LIBC_DIRS = ("lib64", "lib", "usr/lib64", "usr/lib", "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu",
              "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu")


def resolve_in(rootfs: str, path: str, hops: int = 40) -> str | None:
    """Host path of PATH inside ROOTFS, following symlinks as if ROOTFS were '/'; None if missing."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        if part == ".":
            continue
        host = os.path.join(rootfs, *done, part)
        if os.path.islink(host):
            hops -= 1
            if hops < 0:
                return None
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        done.append(part)
    host = os.path.join(rootfs, *done)
    return host if os.path.lexists(host) else None


def _read(rootfs: str, path: str, limit: int = 1 << 20) -> str | None:
    host = resolve_in(rootfs, path)
    if not host or not os.path.isfile(host):
        return None
    try:
        with open(host, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit)
    except OSError:
        return None


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with optional shell quotes."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("'\"")
    return out


def _distro(rootfs: str) -> tuple[str, str, tuple[str, ...]]:
    text = _read(rootfs, "/etc/os-release") or _read(rootfs, "/usr/lib/os-release")
    if text:
        rel = parse_os_release(text)
        return rel.get("ID", ""), rel.get("VERSION_ID", ""), tuple(rel.get("ID_LIKE", "").split())
    for name, did in (("/etc/centos-release", "centos"), ("/etc/redhat-release", "rhel")):
        text = _read(rootfs, name)
        if text:
            if "CentOS" in text:
                did = "centos"
            m = re.search(r"release (\d+(?:\.\d+)*)", text)
            return did, m.group(1) if m else "", ("rhel", "fedora") if did != "rhel" else ("fedora",)
    text = _read(rootfs, "/etc/debian_version")
    if text:
        return "debian", text.strip(), ()
    return "", "", ()


def _dpkg_version(rootfs: str, package: str) -> str | None:
    text = _read(rootfs, "/var/lib/dpkg/status", limit=16 << 20)
    if not text:
        return None
    start = text.find(f"Package: {package}\n")
    while start >= 0:
        end = text.find("\n\n", start)
        para = text[start:end if end >= 0 else len(text)]
        if "Status: install ok installed" in para:
            m = re.search(r"^Version: (?:\d+:)?(\S+)", para, re.M)
            if m:
                return m.group(1)
        start = text.find(f"\nPackage: {package}\n", start + 1)
        start = start + 1 if start >= 0 else -1
    return None


def _grep_binary(path: str | None, pattern: bytes, limit: int = 8 << 20) -> bytes | None:
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as fh:
            m = re.search(pattern, fh.read(limit))
    except OSError:
        return None
    return m.group(1) if m else None


def _systemd_version(rootfs: str, systemd_bin: str | None) -> int | None:
    for d in _SYSTEMD_DIRS:
        for lib in glob.glob(os.path.join(rootfs, d, "libsystemd-shared-*.so")):
            m = re.match(r"libsystemd-shared-(\d+)", os.path.basename(lib))
            if m:
                return int(m.group(1))
    deb = _dpkg_version(rootfs, "systemd")
    if deb and re.match(r"\d+", deb):
        return int(re.match(r"\d+", deb).group(0))  # type: ignore[union-attr]
    found = _grep_binary(systemd_bin, rb"\x00systemd (\d{2,3})[\x00 ]")  # PACKAGE_STRING, e.g. CentOS 7's 219
    return int(found) if found else None


def _glibc_version(rootfs: str) -> str | None:
    for d in _LIBC_DIRS:
        for lib in glob.glob(os.path.join(rootfs, d, "libc-*.so")):
            m = re.match(r"libc-(\d+\.\d+)\.so$", os.path.basename(lib))
            if m:
                return m.group(1)
    deb = _dpkg_version(rootfs, "libc6")
    if deb:
        m = re.match(r"(\d+\.\d+)", deb)
        if m:
            return m.group(1)
    for d in _LIBC_DIRS:
        found = _grep_binary(resolve_in(rootfs, f"/{d}/libc.so.6"), rb"GNU C Library[^\n]*?version (\d+\.\d+)")
        if found:
            return found.decode()
    return None


def _init_kind(rootfs: str) -> tuple[str, str | None, str | None]:
    """(kind, init path inside the guest, host path of the systemd binary if any)."""
    systemd_bin = None
    for cand in ("/usr/lib/systemd/systemd", "/lib/systemd/systemd"):
        systemd_bin = resolve_in(rootfs, cand)
        if systemd_bin:
            break
    init = resolve_in(rootfs, "/sbin/init")
    if init is None:
        if systemd_bin:
            return "systemd", "/" + os.path.relpath(systemd_bin, rootfs), systemd_bin
        return "none", None, None
    rel = "/" + os.path.relpath(init, rootfs)
    if os.path.basename(init) == "systemd":
        return "systemd", rel, init
    if resolve_in(rootfs, "/sbin/initctl") and os.path.isdir(os.path.join(rootfs, "etc/init")) and \
            _grep_binary(init, rb"(upstart)"):
        return "upstart", rel, systemd_bin
    if _grep_binary(init, rb"(systemd\.unit|SYSTEMD_)"):
        return "systemd", rel, init
    return "sysvinit", rel, systemd_bin


def detect_guest(rootfs: str) -> GuestInfo:
    """Inspect ROOTFS (a directory) without running anything from it."""
    if not os.path.isdir(rootfs):
        raise FileNotFoundError(f"guest rootfs {rootfs!r} is not a directory")
    kind, init_path, systemd_bin = _init_kind(rootfs)
    did, version, like = _distro(rootfs)
    return GuestInfo(
        init=kind,
        init_path=init_path,
        systemd_version=_systemd_version(rootfs, systemd_bin) if kind == "systemd" else None,
        distro_id=did,
        distro_version=version,
        distro_like=like,
        glibc_version=_glibc_version(rootfs),
    )
