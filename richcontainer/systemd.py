"""Preparing a system-init guest's own layer (never the image): machine-id, units that can never
work in a container, the user's command as a service, and sysvinit's inittab."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from richcontainer.util.fs import atomic_write

# Units a container can never use: masked up front, and listed in `inspect`.
NEVER_IN_CONTAINER = (
    "systemd-udevd.service", "systemd-udev-trigger.service", "systemd-udev-settle.service",
    "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "getty@tty1.service", "getty@tty2.service", "getty@tty3.service", "getty@tty4.service",
    "getty@tty5.service", "getty@tty6.service", "getty-static.service",
    "systemd-remount-fs.service", "sys-kernel-config.mount", "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount", "systemd-modules-load.service", "kmod-static-nodes.service",
    "systemd-hwdb-update.service", "systemd-firstboot.service", "hwclock.service",
    "systemd-timesyncd.service", "proc-sys-fs-binfmt_misc.automount", "systemd-binfmt.service",
    "systemd-pcrphase.service", "systemd-pcrphase-sysinit.service", "systemd-pcrphase-initrd.service",
)
# Generators that only ever act on block devices, partitions or the kernel command line: masked
# the same way (a /dev/null link in /etc/systemd/system-generators), which also saves their
# start-up on every boot. fstab, getty, rc-local and sysv generators stay: guests use them.
NEVER_IN_CONTAINER_GENERATORS = (
    "systemd-cryptsetup-generator", "systemd-gpt-auto-generator", "systemd-hibernate-resume-generator",
    "systemd-integritysetup-generator", "systemd-veritysetup-generator", "systemd-bless-boot-generator",
)
APP_UNIT = "richcontainer-app.service"
# Mounts under these are systemd's API file systems: it never stops them at shutdown.
API_TREES = ("/proc", "/sys", "/dev")
KEEP_DROPIN = "richcontainer-keep.conf"
KEEP_DROPIN_TEXT = """# richcontainer: the container manager made this mount and the guest cannot unmount it (no
# CAP_SYS_ADMIN). Without default dependencies it does not conflict with umount.target, so
# shutdown does not spawn a umount that fails and logs "Failed unmounting".
[Unit]
DefaultDependencies=no
"""


def machine_id(cid: str) -> str:
    return cid[:32]


def _layer_path(rootfs: Path, rel: str) -> Path:
    """A path in the container's own layer, never following a symlink out of it."""
    p = rootfs / rel.lstrip("/")
    with contextlib.suppress(FileNotFoundError):
        if p.is_symlink():
            p.unlink()
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def prepare_systemd(rootfs: Path, cid: str) -> tuple[str, ...]:
    """Per-container /etc/machine-id; mask hardware-only units and generators. Returns what it masked."""
    _layer_path(rootfs, "etc/machine-id").write_text(machine_id(cid) + "\n")
    (rootfs / "var/log/journal").mkdir(parents=True, exist_ok=True)  # persistent journal on the layer
    masked = _mask(rootfs / "etc/systemd/system", NEVER_IN_CONTAINER)
    masked += _mask(rootfs / "etc/systemd/system-generators", NEVER_IN_CONTAINER_GENERATORS)
    return tuple(masked)


def unit_path_escape(path: str) -> str:
    """systemd's name for a path's mount unit (`systemd-escape --path`, without the suffix)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "-"
    out = []
    for i, ch in enumerate("/".join(parts).encode()):
        c = chr(ch)
        if c == "/":
            out.append("-")
        elif (c.isascii() and c.isalnum()) or c in ":_" or (c == "." and i > 0):
            out.append(c)
        else:
            out.append(f"\\x{ch:02x}")
    return "".join(out)


def keep_runtime_mounts(rootfs: Path, destinations: list[str]) -> list[str]:
    """Give each runtime mount outside the API trees (/tmp, /etc/hosts, volumes...) a drop-in that
    keeps it out of systemd's shutdown unmounting (see KEEP_DROPIN_TEXT); return the unit names."""
    units = []
    for dest in destinations:
        norm = "/" + "/".join(p for p in dest.split("/") if p)
        if norm in ("/", "/run") or any(norm == t or norm.startswith(t + "/") for t in API_TREES):
            continue
        unit = unit_path_escape(norm) + ".mount"
        atomic_write(_layer_path(rootfs, f"etc/systemd/system/{unit}.d/{KEEP_DROPIN}"), KEEP_DROPIN_TEXT, 0o644,
                     durable=False)  # lost in a power cut, it only costs a failed umount at shutdown
        units.append(unit)
    return units


def _mask(directory: Path, names: tuple[str, ...]) -> list[str]:
    """Link each of NAMES in DIRECTORY to /dev/null (systemd's mask); return the masked names."""
    directory.mkdir(parents=True, exist_ok=True)
    masked = []
    for name in names:
        link = directory / name
        if link.exists() and not link.is_symlink():
            continue  # the image ships its own file here: respect it
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink("/dev/null", link)
        masked.append(name)
    return masked


def systemd_quote(arg: str) -> str:
    """Quote one ExecStart= argument (systemd.syntax: double quotes, \\ escapes, $$ and %%)."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%") + '"'


def env_file_line(item: str) -> str:
    key, _, value = item.partition("=")
    return f'{key}="' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def install_app_unit(rootfs: Path, command: list[str], env: list[str], workdir: str | None,
                     user: str | None) -> str:
    """Write the user's command as an enabled service; its output goes to the journal and the console."""
    from richcontainer.templating import render

    exe = command[0]
    text = render("app.service.j2", description=" ".join(command)[:80].replace("%", "%%"),
                  exec_start=" ".join(systemd_quote(a) for a in command) if exe.startswith("/")
                  else "/usr/bin/env " + " ".join(systemd_quote(a) for a in command),
                  workdir=workdir or "/", user=user)
    unit = _layer_path(rootfs, f"etc/systemd/system/{APP_UNIT}")
    atomic_write(unit, text, 0o644)
    atomic_write(_layer_path(rootfs, "etc/richcontainer/app.env"),
                 "".join(env_file_line(e) + "\n" for e in env), 0o600)
    wants = _layer_path(rootfs, f"etc/systemd/system/multi-user.target.wants/{APP_UNIT}")
    os.symlink(f"../{APP_UNIT}", wants)
    return APP_UNIT


def prepare_sysvinit(rootfs: Path, cid: str) -> tuple[str, ...]:
    """inittab without hardware VT gettys; SIGPWR (how stop asks) leads to a clean halt."""
    _layer_path(rootfs, "etc/machine-id").write_text(machine_id(cid) + "\n") if (rootfs / "etc/machine-id").exists() else None
    inittab = rootfs / "etc/inittab"
    try:
        lines = inittab.read_text().splitlines()
    except OSError:
        return ()
    out, changed = [], []
    for line in lines:
        if re.match(r"^[1-6]:\d*:respawn:.*getty.*tty[1-6]", line):
            out.append("#" + line + "  # richcontainer: no VTs in a container")
            changed.append(line.split(":", 1)[0])
        elif line.startswith(("pf::", "pn::", "po::")):
            out.append("#" + line)
        else:
            out.append(line)
    out += ["# richcontainer: stop sends SIGPWR", "pf::powerwait:/sbin/shutdown -h now",
            "co:2345:respawn:/sbin/getty -L 115200 console vt100"]
    atomic_write(_layer_path(rootfs, "etc/inittab"), "\n".join(out) + "\n", 0o644)
    return tuple(f"getty tty{n}" for n in changed)


_SHARED_RE = re.compile(r"libsystemd-(?:shared|core)-(\d+)")


def systemd_version(rootfs: Path) -> int | None:
    """The image's systemd version, from its private shared library's name."""
    for d in ("usr/lib/systemd", "usr/lib/x86_64-linux-gnu/systemd", "lib/systemd"):
        try:
            for name in os.listdir(rootfs / d):
                m = _SHARED_RE.match(name)
                if m:
                    return int(m.group(1))
        except OSError:
            continue
    return None
