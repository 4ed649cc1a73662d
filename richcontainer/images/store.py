"""Content-addressed image store: unpacked rootfs dirs keyed by sha256, plus name:tag refs."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from richcontainer.errors import Conflict, ImageInputError, NotFound, UsageError
from richcontainer.images.unpack import extract_rootfs
from richcontainer.model.image import ImageRecord
from richcontainer.paths import StorePaths
from richcontainer.util.fs import atomic_write, fsync_dir
from richcontainer.util.lock import file_lock

REF_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")


def normalize_ref(ref: str) -> str:
    if not REF_RE.match(ref):
        raise UsageError(f"invalid image name {ref!r}: use NAME[:TAG] in lower case, e.g. debian:bookworm")
    return ref if ":" in ref else ref + ":latest"


class ImageStore:
    """Reads and changes the image store. Ref changes hold a short store-wide lock."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    def _lock(self):  # noqa: ANN202
        return file_lock(self.paths.locks / "images.lock", what="the image store")

    def refs(self) -> dict[str, str]:
        try:
            return json.loads(self.paths.image_refs.read_text())
        except FileNotFoundError:
            return {}

    def _save_refs(self, refs: dict[str, str]) -> None:
        atomic_write(self.paths.image_refs, json.dumps(refs, indent=1, sort_keys=True))

    def record(self, digest: str) -> ImageRecord:
        try:
            return ImageRecord.model_validate_json((self.paths.image_dir(digest) / "image.json").read_text())
        except FileNotFoundError:
            raise NotFound(f"image {digest} is not in the store") from None

    def rootfs(self, digest: str) -> Path:
        return self.paths.image_dir(digest) / "rootfs"

    def resolve(self, name: str) -> str:
        """Return the digest for a ref, a full digest or a unique digest prefix (12+ hex)."""
        refs = self.refs()
        if name in refs:
            return refs[name]
        if ":" not in name and name + ":latest" in refs:
            return refs[name + ":latest"]
        hexpart = name.removeprefix("sha256:")
        if re.fullmatch(r"[0-9a-f]{12,64}", hexpart) and self.paths.images.is_dir():
            hits = [d.name for d in self.paths.images.iterdir() if d.name.startswith(hexpart)
                    and (d / "image.json").exists()]
            if len(hits) == 1:
                return "sha256:" + hits[0]
        raise NotFound(f"image {name!r} not found", hint="see `richcontainer images`, or "
                       "`richcontainer image bootstrap debian:bookworm`")

    def import_stream(self, stream: BinaryIO, ref: str | None, source: str,
                      cmd: list[str] | None = None) -> ImageRecord:
        """Unpack a rootfs tarball into the store under its sha256, then point REF at it."""
        ref = normalize_ref(ref) if ref else None
        self.paths.ensure()
        staging = Path(tempfile.mkdtemp(prefix="import-", dir=self.paths.tmp))
        try:
            rootfs = staging / "rootfs"
            rootfs.mkdir(mode=0o755)
            digest, size = extract_rootfs(stream, rootfs)
            record = ImageRecord(digest=digest, created=time.time(), size=size, source=source,
                                 os_release=read_os_release(rootfs),
                                 **({"cmd": cmd} if cmd else {}))
            atomic_write(staging / "image.json", record.model_dump_json(indent=1), 0o644)
            final = self.paths.image_dir(digest)
            with self._lock():
                if (final / "image.json").exists():
                    record = self.record(digest)  # same content already stored: keep the original
                else:
                    shutil.rmtree(final, ignore_errors=True)
                    os.rename(staging, final)
                    fsync_dir(final.parent)
                if ref:
                    refs = self.refs()
                    refs[ref] = digest
                    self._save_refs(refs)
            return record
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def import_file(self, path: str, ref: str | None) -> ImageRecord:
        if path == "-":
            return self.import_stream(sys.stdin.buffer, ref, "stdin")
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError as e:
            raise ImageInputError(f"cannot open {path}: {e.strerror}") from None
        with f:
            return self.import_stream(f, ref, os.path.abspath(path))

    def listing(self) -> list[tuple[ImageRecord, list[str]]]:
        refs = self.refs()
        out = []
        if not self.paths.images.is_dir():
            return out
        for d in sorted(self.paths.images.iterdir()):
            if (d / "image.json").exists():
                rec = self.record("sha256:" + d.name)
                out.append((rec, sorted(r for r, dg in refs.items() if dg == rec.digest)))
        return out

    def tag(self, source: str, target: str) -> None:
        digest = self.resolve(source)
        target = normalize_ref(target)
        with self._lock():
            refs = self.refs()
            refs[target] = digest
            self._save_refs(refs)

    def remove(self, name: str, users: list[str], force: bool = False) -> str:
        """Untag NAME and delete the image once nothing refers to it. USERS: containers using it."""
        digest = self.resolve(name)
        if users and not force:
            raise Conflict(f"image {name} is used by container(s) {', '.join(users)}",
                           hint="remove them first, or use -f to untag it anyway")
        with self._lock():
            refs = self.refs()
            is_ref = name in refs or (name + ":latest") in refs
            for r in [r for r, d in refs.items() if d == digest and (not is_ref or r in (name, name + ":latest"))]:
                del refs[r]
            self._save_refs(refs)
            if not users and digest not in refs.values():
                gone = self.paths.image_dir(digest).with_name(f".rm-{digest[7:19]}-{os.getpid()}")
                os.rename(self.paths.image_dir(digest), gone)
                shutil.rmtree(gone, ignore_errors=True)
                return f"Deleted: {digest}"
        return f"Untagged: {name}"


def read_os_release(rootfs: Path) -> dict[str, str]:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        p = rootfs / rel
        try:
            if p.is_symlink():
                target = os.readlink(p)
                p = rootfs / target.lstrip("/") if target.startswith("/") else p.parent / target
            text = p.read_text(errors="replace")
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            k, sep, v = line.partition("=")
            if sep and k.strip():
                out[k.strip()] = v.strip().strip('"')
        return out
    return {}
