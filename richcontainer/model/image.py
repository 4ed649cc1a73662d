"""An image record: a content-addressed, read-only root filesystem."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ImageRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")
    digest: str  # sha256:<hex> of the uncompressed rootfs tar stream
    created: float
    size: int
    source: str
    env: list[str] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    cmd: list[str] = ["/bin/sh"]
    os_release: dict[str, str] = {}
