"""Guest detection on small synthetic image trees (and on the cached Debian rootfs when present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compat.guest import detect_guest, parse_os_release, resolve_in


def put(root: Path, rel: str, data: bytes | str = b"") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def link(root: Path, rel: str, target: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def centos6(root: Path) -> Path:
    put(root, "etc/redhat-release", "CentOS release 6.10 (Final)\n")
    put(root, "etc/centos-release", "CentOS release 6.10 (Final)\n")
    put(root, "sbin/init", b"\x7fELF...init (upstart 0.6.5)...")
    put(root, "sbin/initctl", b"\x7fELF")
    put(root, "etc/init/rcS.conf", "start on startup\n")
    put(root, "lib64/libc-2.12.so", b"\x7fELF")
    return root


def centos7(root: Path) -> Path:
    put(root, "usr/lib/os-release", 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n')
    link(root, "etc/os-release", "../usr/lib/os-release")
    link(root, "lib", "usr/lib")
    link(root, "sbin", "usr/sbin")
    put(root, "usr/lib/systemd/systemd", b"\x7fELF\x00systemd 219\x00+PAM +AUDIT")
    link(root, "usr/sbin/init", "../lib/systemd/systemd")
    put(root, "usr/lib64/libc-2.17.so", b"\x7fELF")
    return root


def test_centos6_upstart(tmp_path):
    g = detect_guest(os.fspath(centos6(tmp_path)))
    assert (g.init, g.distro_id, g.distro_version, g.glibc_version) == ("upstart", "centos", "6.10", "2.12")
    assert g.el_major() == 6 and g.systemd_version is None


def test_centos5_sysvinit(tmp_path):
    put(tmp_path, "etc/redhat-release", "CentOS release 5.11 (Final)\n")
    put(tmp_path, "sbin/init", b"\x7fELF sysvinit")
    put(tmp_path, "etc/inittab", "id:3:initdefault:\n")
    put(tmp_path, "lib64/libc-2.5.so", b"")
    g = detect_guest(os.fspath(tmp_path))
    assert (g.init, g.el_major(), g.glibc_version) == ("sysvinit", 5, "2.5")


def test_centos7_systemd_219_from_binary(tmp_path):
    g = detect_guest(os.fspath(centos7(tmp_path)))
    assert g.init == "systemd" and g.systemd_version == 219
    assert g.init_path == "/usr/lib/systemd/systemd"
    assert (g.distro_id, g.distro_version, g.distro_like) == ("centos", "7", ("rhel", "fedora"))
    assert g.el_major() == 7 and g.glibc_version == "2.17"


def test_systemd_version_from_libsystemd_shared(tmp_path):
    put(tmp_path, "etc/os-release", "ID=fedora\nVERSION_ID=40\n")
    put(tmp_path, "usr/lib/systemd/systemd", b"\x7fELF")
    put(tmp_path, "usr/lib64/systemd/libsystemd-shared-255.so", b"")
    link(tmp_path, "sbin/init", "/usr/lib/systemd/systemd")  # absolute: must resolve inside the image
    g = detect_guest(os.fspath(tmp_path))
    assert g.init == "systemd" and g.systemd_version == 255 and g.el_major() is None


def test_systemd_version_from_dpkg(tmp_path):
    put(tmp_path, "etc/os-release", 'ID=debian\nVERSION_ID="12"\n')
    put(tmp_path, "lib/systemd/systemd", b"\x7fELF")
    link(tmp_path, "sbin/init", "/lib/systemd/systemd")
    put(tmp_path, "var/lib/dpkg/status",
        "Package: libsystemd0\nStatus: install ok installed\nVersion: 252.30-1~deb12u2\n\n"
        "Package: systemd\nStatus: install ok installed\nVersion: 252.30-1~deb12u2\n\n"
        "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u10\n")
    g = detect_guest(os.fspath(tmp_path))
    assert (g.systemd_version, g.glibc_version) == (252, "2.36")


def test_no_init(tmp_path):
    put(tmp_path, "etc/debian_version", "12.5\n")
    g = detect_guest(os.fspath(tmp_path))
    assert (g.init, g.distro_id, g.distro_version) == ("none", "debian", "12.5")


def test_systemd_without_sbin_init(tmp_path):
    put(tmp_path, "usr/lib/systemd/systemd", b"\x7fELF\x00systemd 239\x00")
    g = detect_guest(os.fspath(tmp_path))
    assert g.init == "systemd" and g.systemd_version == 239


def test_absolute_symlinks_never_escape(tmp_path):
    link(tmp_path, "etc/os-release", "/etc/os-release")  # would be the host's file if followed naively
    g = detect_guest(os.fspath(tmp_path))
    assert g.distro_id == ""
    link(tmp_path, "loop", "loop")
    assert resolve_in(os.fspath(tmp_path), "/loop") is None


def test_parse_os_release_quotes():
    assert parse_os_release("ID='ol'\nVERSION_ID=\"8.9\"\n# c\nBAD\n") == {"ID": "ol", "VERSION_ID": "8.9"}


def test_not_a_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        detect_guest(os.fspath(tmp_path / "missing"))


@pytest.mark.integration
def test_cached_debian_sysvinit_rootfs():
    from compatfixtures import imagecache
    path = imagecache().cached_rootfs("bookworm", ["sysvinit-core"])  # built once, cached by recipe
    g = detect_guest(os.fspath(path))
    assert (g.init, g.distro_id, g.distro_version, g.glibc_version) == ("sysvinit", "debian", "12", "2.36")
