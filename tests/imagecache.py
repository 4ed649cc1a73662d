"""Cached Debian root filesystems for tests, built with debootstrap from the Debian mirror.

A rootfs is keyed by a hash of its recipe (suite, variant, packages, script version) and kept
outside the repository, so reruns and CI on the same machine skip the multi-minute bootstrap.
Callers get a read-only view by convention: copy it (or import it into a store) before changing it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

CACHE_DIR = Path(os.environ.get("RICHCONTAINER_TEST_CACHE", "/var/cache/richcontainer-tests"))
MIRROR = os.environ.get("RICHCONTAINER_MIRROR", "http://deb.debian.org/debian")
RECIPE_VERSION = 1


def recipe_key(suite: str, include: list[str], variant: str) -> str:
    """Hash of everything that decides the rootfs's content."""
    recipe = {"v": RECIPE_VERSION, "suite": suite, "include": sorted(include), "variant": variant,
              "mirror": MIRROR}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def cached_rootfs(suite: str = "bookworm", include: list[str] | None = None,
                  variant: str = "minbase", timeout: float = 1800) -> Path:
    """Return the directory of a debootstrapped rootfs, building it once per recipe."""
    include = include or []
    key = recipe_key(suite, include, variant)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    final = CACHE_DIR / f"{suite}-{key}"
    lock_fd = os.open(CACHE_DIR / f"{suite}-{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if (final / ".complete").exists():
            return final / "rootfs"
        work = CACHE_DIR / f".{suite}-{key}.building"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        argv = ["debootstrap", f"--variant={variant}"]
        if include:
            argv.append("--include=" + ",".join(include))
        argv += [suite, os.fspath(work / "rootfs"), MIRROR]
        subprocess.run(argv, check=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
        (work / "rootfs" / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
        for deb in (work / "rootfs" / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        (work / ".complete").write_text(json.dumps({"suite": suite, "include": include}))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(work, final)
        return final / "rootfs"
    finally:
        os.close(lock_fd)


def busybox_rootfs(dest: Path) -> Path:
    """Make a tiny rootfs at DEST from Debian's busybox-static (for fast runtime-level tests)."""
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise FileNotFoundError("busybox-static is not installed (apt-get install busybox-static)")
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin/busybox")
    out = subprocess.run([os.fspath(busybox), "--list"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    for applet in out.split():
        link = dest / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (dest / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return dest
