"""`image bootstrap debian:SUITE`: debootstrap a base rootfs, cached by a hash of its recipe."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from richcontainer.errors import RuntimeFailure, UsageError
from richcontainer.images.store import ImageStore
from richcontainer.model.image import ImageRecord

SUITES = ("bullseye", "bookworm", "trixie")
DEFAULT_INCLUDE = ("systemd", "systemd-sysv", "dbus", "procps", "iproute2")
SYSVINIT_INCLUDE = ("sysvinit-core", "procps", "iproute2")  # when --include names sysvinit-core
MIRROR = os.environ.get("RICHCONTAINER_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("RICHCONTAINER_BOOTSTRAP_CACHE", "/var/cache/richcontainer/bootstrap"))
RECIPE_VERSION = 2


def parse_target(target: str) -> str:
    distro, _, suite = target.partition(":")
    if distro != "debian" or suite not in SUITES:
        raise UsageError(f"cannot bootstrap {target!r}: use debian:{'|'.join(SUITES)}")
    return suite


def recipe(suite: str, include: list[str], variant: str) -> dict[str, object]:
    return {"v": RECIPE_VERSION, "suite": suite, "variant": variant, "mirror": MIRROR,
            "include": sorted(set(include))}


def cached_tarball(suite: str, include: list[str], variant: str = "minbase",
                   progress=print) -> Path:  # noqa: ANN001
    """Return a tarball of the debootstrapped rootfs, building it once per recipe."""
    rec = recipe(suite, include, variant)
    key = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:20]
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"{suite}-{key}.tar"
    lock_fd = os.open(CACHE / f"{suite}-{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if tarball.exists():
            progress(f"using cached bootstrap {tarball.name}")
            return tarball
        work = Path(tempfile.mkdtemp(prefix=f".{suite}-", dir=CACHE))
        try:
            rootfs = work / "rootfs"
            argv = ["debootstrap", f"--variant={variant}", "--include=" + ",".join(rec["include"]),  # type: ignore[arg-type]
                    suite, os.fspath(rootfs), MIRROR]
            progress(f"debootstrap {suite} ({len(rec['include'])} extra packages) from {MIRROR}")  # type: ignore[arg-type]
            _run_with_progress(argv, progress)
            _tidy_rootfs(rootfs)
            progress("packing rootfs")
            tmp_tar = work / "rootfs.tar"
            subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", os.fspath(rootfs), "-cf",
                            os.fspath(tmp_tar), "."], check=True, timeout=900)
            os.rename(tmp_tar, tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return tarball
    finally:
        os.close(lock_fd)


def _run_with_progress(argv: list[str], progress, timeout: float = 1800) -> None:  # noqa: ANN001
    """Run debootstrap, relaying its progress lines; killed if it takes longer than TIMEOUT."""
    import threading

    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
    except FileNotFoundError:
        raise RuntimeFailure("debootstrap not found", hint="run scripts/install-deps.sh") from None
    tail: list[str] = []
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-5:]
            if line.startswith("I: ") and any(w in line for w in ("Retriev", "Extract", "Install", "Configur", "Unpack", "Base system")):
                progress("  " + line[3:])
        proc.wait()
    finally:
        watchdog.cancel()
    if proc.returncode == -9:
        raise RuntimeFailure(f"debootstrap did not finish within {timeout:g}s (is the mirror reachable?)")
    if proc.returncode != 0:
        raise RuntimeFailure(f"debootstrap failed (exit {proc.returncode}): {tail[-1] if tail else ''}")


def _tidy_rootfs(rootfs: Path) -> None:
    """Drop what an image must not carry: device nodes, apt caches, the build host's identity."""
    for sub in (rootfs / "dev").iterdir():
        if sub.is_dir() and not sub.is_symlink():
            shutil.rmtree(sub)
        else:
            sub.unlink()
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    mid = rootfs / "etc/machine-id"
    if mid.exists():
        mid.write_text("")  # systemd fills it per container (container_uuid)
    (rootfs / "etc/hostname").write_text("localhost\n")


def bootstrap(store: ImageStore, target: str, include: list[str], ref: str | None,
              progress=None) -> ImageRecord:  # noqa: ANN001
    """Build (or reuse) the base image for TARGET and store it under REF (default: TARGET)."""
    suite = parse_target(target)
    progress = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
    extra = [p for item in include for p in item.split(",") if p]
    packages = list(SYSVINIT_INCLUDE if "sysvinit-core" in extra else DEFAULT_INCLUDE) + extra
    tarball = cached_tarball(suite, packages, progress=progress)
    progress("importing into the image store")
    with open(tarball, "rb") as f:
        return store.import_stream(f, ref or target, f"debootstrap {suite} " + ",".join(sorted(set(packages))),
                                   cmd=["/bin/bash"])
