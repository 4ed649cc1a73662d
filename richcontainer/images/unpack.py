"""Safe extraction of root filesystem tarballs, hashing the uncompressed stream as it goes.

Refused (one clear error, nothing kept): absolute names, `..` components, device nodes,
relative symlinks or hard links that lead out of the rootfs, and entries written through a
symlink. Absolute symlinks are normal in a rootfs (they resolve inside it at run time).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import posixpath
import subprocess
import tarfile
from pathlib import Path
from typing import IO, BinaryIO

from richcontainer.errors import ImageInputError

_MAGIC = {b"\x1f\x8b": "gz", b"\xfd7zXZ\x00": "xz", b"BZh": "bz2", b"\x28\xb5\x2f\xfd": "zst"}


class HashingReader:
    """A read-only stream that hashes everything read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class _Peek:
    def __init__(self, raw: BinaryIO, head: bytes) -> None:
        self.raw, self.head = raw, head

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0:
                data, self.head = self.head + self.raw.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            if len(data) < n:
                data += self.raw.read(n - len(data))
            return data
        return self.raw.read(n)


def _decompressed(raw: BinaryIO) -> tuple[IO[bytes], subprocess.Popen[bytes] | None]:
    head = raw.read(6)
    peek = _Peek(raw, head)
    kind = next((k for m, k in _MAGIC.items() if head.startswith(m)), "")
    if kind == "gz":
        return gzip.GzipFile(fileobj=peek), None  # type: ignore[arg-type]
    if kind == "xz":
        return lzma.LZMAFile(peek), None  # type: ignore[arg-type]
    if kind == "bz2":
        return bz2.BZ2File(peek), None  # type: ignore[arg-type]
    if kind == "zst":
        proc = subprocess.Popen(["zstd", "-dc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        import threading

        def feed() -> None:
            try:
                while chunk := peek.read(1 << 20):
                    proc.stdin.write(chunk)  # type: ignore[union-attr]
            except (BrokenPipeError, OSError):
                pass
            finally:
                proc.stdin.close()  # type: ignore[union-attr]

        threading.Thread(target=feed, daemon=True).start()
        return proc.stdout, proc  # type: ignore[return-value]
    return peek, None  # type: ignore[return-value]


def _clean_name(name: str) -> str:
    if name.startswith("/"):
        raise ImageInputError(f"refusing tarball: entry {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ImageInputError(f"refusing tarball: entry {name!r} contains '..'")
    return "/".join(parts)


def _escapes(base_dir: str, target: str) -> bool:
    joined = posixpath.normpath(posixpath.join(base_dir, target))
    return joined == ".." or joined.startswith("../")


def _inside(path: str, real_dest: str) -> bool:
    return path == real_dest or path.startswith(real_dest + "/")


def make_filter(dest: Path):  # noqa: ANN201 - tarfile's filter protocol
    real_dest = os.path.realpath(dest)

    def check(member: tarfile.TarInfo, _path: str) -> tarfile.TarInfo | None:
        name = _clean_name(member.name)
        if not name:
            return None  # the archive's "./" itself
        if member.ischr() or member.isblk():
            raise ImageInputError(f"refusing tarball: entry {name!r} is a device node")
        if member.issym():
            if not member.linkname.startswith("/") and _escapes(posixpath.dirname(name), member.linkname):
                raise ImageInputError(f"refusing tarball: symlink {name!r} -> {member.linkname!r} leads out of the rootfs")
        if member.islnk():
            target = _clean_name(member.linkname)
            if not _inside(os.path.realpath(os.path.join(real_dest, posixpath.dirname(target))), real_dest):
                raise ImageInputError(f"refusing tarball: hard link {name!r} -> {member.linkname!r} leads out of the rootfs")
            member = member.replace(linkname=target, deep=False)
        parent = os.path.realpath(os.path.join(real_dest, posixpath.dirname(name)))
        if not _inside(parent, real_dest):
            raise ImageInputError(f"refusing tarball: entry {name!r} would be written through a symlink out of the rootfs")
        existing = os.path.join(parent, posixpath.basename(name))
        if os.path.islink(existing):
            os.unlink(existing)  # a later entry replaces a symlink; it is never written through
        return member.replace(name=name, deep=False)

    return check


def extract_rootfs(stream: BinaryIO, dest: Path) -> tuple[str, int]:
    """Extract a (possibly compressed) tar stream into DEST. Returns (sha256:<hex>, bytes)."""
    data, proc = _decompressed(stream)
    hashing = HashingReader(data)
    try:
        with tarfile.open(fileobj=hashing, mode="r|") as tar:  # type: ignore[call-overload]
            tar.extractall(dest, numeric_owner=True, filter=make_filter(dest))
        hashing.drain()
    except ImageInputError:
        raise
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib_error()) as e:
        raise ImageInputError(f"cannot read tarball: {e}") from None
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    if hashing.size == 0:
        raise ImageInputError("cannot read tarball: it is empty")
    return "sha256:" + hashing.sha.hexdigest(), hashing.size


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error
