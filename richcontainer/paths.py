"""Every on-disk path of a store, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from richcontainer.runroot import CONTAINERS_DIR, NAMES_DIR, STATE_FILE, run_dir, runtime_root, store_root


@dataclass(frozen=True)
class StorePaths:
    """Layout of a richcontainer store (RICHCONTAINER_ROOT, default /var/lib/richcontainer)."""

    root: Path

    @classmethod
    def from_env(cls) -> StorePaths:
        return cls(Path(store_root()))

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def image_refs(self) -> Path:
        return self.images / "refs.json"

    def image_dir(self, digest: str) -> Path:
        return self.images / digest.replace("sha256:", "")

    @property
    def containers(self) -> Path:
        return self.root / CONTAINERS_DIR

    def container_dir(self, cid: str) -> Path:
        return self.containers / cid

    def state_file(self, cid: str) -> Path:
        return self.container_dir(cid) / STATE_FILE

    @property
    def names(self) -> Path:
        return self.root / NAMES_DIR

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def exits(self) -> Path:
        return self.root / "exits"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def run(self) -> Path:
        """Volatile state (runc's root, sockets): under /run so a reboot clears it."""
        return Path(run_dir(os.fspath(self.root)))

    @property
    def runc_root(self) -> Path:
        return Path(runtime_root(os.fspath(self.root)))

    @property
    def sockets(self) -> Path:
        return self.run / "sockets"

    @property
    def forkserver_socket(self) -> Path:
        return self.run / "forkserver.sock"

    def ensure(self) -> None:
        for d in (self.images, self.containers, self.names, self.locks, self.exits, self.tmp,
                  self.runc_root, self.sockets):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
