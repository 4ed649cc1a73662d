"""The container records on disk: state.json per container, unique names, per-container locks."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from richcontainer.errors import Conflict, NotFound
from richcontainer.model.state import ContainerState
from richcontainer.paths import StorePaths
from richcontainer.runroot import STATE_FILE
from richcontainer.util.fs import atomic_write
from richcontainer.util.lock import file_lock


class ContainerRepo:
    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    def new_id(self) -> str:
        return secrets.token_hex(32)

    def lock(self, cid: str, wait: bool = True) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.paths.locks / f"{cid}.lock", wait=wait, what=f"container {cid[:12]}")

    def lock_path(self, cid: str) -> Path:
        return self.paths.locks / f"{cid}.lock"

    def load(self, cid: str) -> ContainerState:
        try:
            return ContainerState.model_validate_json(self.paths.state_file(cid).read_bytes())
        except FileNotFoundError:
            raise NotFound(f"no such container: {cid[:12]}") from None

    def save(self, state: ContainerState) -> None:
        atomic_write(self.paths.state_file(state.id), state.model_dump_json(indent=1))

    def ids(self) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.paths.containers)
                    if not e.name.startswith(".") and os.path.exists(os.path.join(e.path, STATE_FILE))]
        except FileNotFoundError:
            return []

    def abandoned(self) -> list[Path]:
        """Container dirs without a state record (a create killed before its first save) or left
        half-removed (`.rm-ID`); the caller removes those whose lock nobody holds."""
        out = []
        try:
            for e in os.scandir(self.paths.containers):
                if e.name.startswith(".rm-") or not os.path.exists(os.path.join(e.path, STATE_FILE)):
                    out.append(Path(e.path))
        except FileNotFoundError:
            pass
        return out

    def find(self, ref: str) -> str:
        """Resolve a name, a full id or a unique id prefix to an id."""
        link = self.paths.names / ref
        if ref and "/" not in ref and ref not in (".", ".."):
            try:
                cid = os.readlink(link)
                if self.paths.state_file(cid).exists():
                    return cid
            except OSError:
                pass
        if len(ref) >= 3 and all(c in "0123456789abcdef" for c in ref):
            hits = [c for c in self.ids() if c.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise Conflict(f"{ref!r} matches {len(hits)} containers: give more of the id")
        raise NotFound(f"no such container: {ref}")

    def reserve_name(self, name: str, cid: str) -> None:
        """Atomically bind NAME to CID; exactly one of several concurrent callers wins."""
        self.paths.names.mkdir(parents=True, exist_ok=True)
        link = self.paths.names / name
        for _ in range(2):
            try:
                os.symlink(cid, link)
                return
            except FileExistsError:
                try:
                    owner = os.readlink(link)
                except OSError:
                    continue
                if self.paths.container_dir(owner).exists():
                    raise Conflict(f"the container name {name!r} is already in use by {owner[:12]}",
                                   hint="remove that container or choose another name") from None
                with file_lock(self.paths.locks / "names.lock"):
                    with contextlib.suppress(OSError):
                        if os.readlink(link) == owner and not self.paths.container_dir(owner).exists():
                            os.unlink(link)  # left by a crash during rm
        raise Conflict(f"the container name {name!r} is already in use")

    def release_name(self, name: str, cid: str) -> None:
        link = self.paths.names / name
        with contextlib.suppress(OSError):
            if os.readlink(link) == cid:
                os.unlink(link)

    def names(self) -> Iterator[tuple[str, str]]:
        try:
            for e in os.scandir(self.paths.names):
                with contextlib.suppress(OSError):
                    yield e.name, os.readlink(e.path)
        except FileNotFoundError:
            return
