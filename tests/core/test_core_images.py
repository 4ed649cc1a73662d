"""Image store: import of .tar/.tar.gz/.tar.xz/.tar.zst/stdin, content addressing, tag, ls,
inspect, rm (refused while used; -f only untags); container storage: overlay, forced copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from corelib import StoreSnapshot, assert_clean, assert_one_error, mounts_under, rc_argv

pytestmark = pytest.mark.integration

COMPRESSORS = {".tar": None, ".tar.gz": ["gzip", "-c"], ".tar.xz": ["xz", "-c", "-T1"], ".tar.zst": ["zstd", "-c", "-q"]}


@pytest.fixture(scope="module")
def tiny_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs as an uncompressed tar (made once per module)."""
    if not Path("/bin/busybox").exists():
        pytest.skip("busybox-static is not installed")
    from imagecache import busybox_rootfs  # tests/imagecache.py, put on sys.path by tests/conftest.py

    work = tmp_path_factory.mktemp("tiny")
    root = busybox_rootfs(work / "rootfs")
    (root / "etc/os-release").write_text('ID=tiny\nPRETTY_NAME="Tiny busybox"\n')
    tar = work / "tiny.tar"
    subprocess.run(["tar", "--numeric-owner", "--sort=name", "--mtime=@0", "-C", str(root), "-cf", str(tar), "."],
                   check=True, timeout=60)
    return tar


def compressed(tar: Path, suffix: str, dest: Path) -> Path:
    out = dest / f"img{suffix}"
    if COMPRESSORS[suffix] is None:
        shutil.copy(tar, out)
    else:
        with open(tar, "rb") as src, open(out, "wb") as dst:
            subprocess.run(COMPRESSORS[suffix], stdin=src, stdout=dst, check=True, timeout=120)
    return out


def rm_image(rc, ref: str) -> None:  # noqa: ANN001
    rc("image", "rm", ref, check=False)


def test_import_every_format_same_digest(rc, tiny_tar: Path, scratch: Path) -> None:  # noqa: ANN001
    digests = {}
    refs = []
    try:
        for i, suffix in enumerate(COMPRESSORS):
            ref = f"tiny{i}:v1"
            refs.append(ref)
            digests[suffix] = rc("image", "import", str(compressed(tiny_tar, suffix, scratch)), ref).stdout.strip()
        with open(tiny_tar, "rb") as f:
            p = subprocess.run([*rc_argv(), "image", "import", "-", "tinystdin"],
                               stdin=f, capture_output=True, text=True, env=rc.env, timeout=120)
        refs.append("tinystdin:latest")
        assert p.returncode == 0, p.stderr
        digests["stdin"] = p.stdout.strip()
        assert len(set(digests.values())) == 1, digests
        digest = digests[".tar"]
        assert digest.startswith("sha256:") and len(digest) == 71
        img_dirs = [d for d in StoreSnapshot(rc.root).images if digest[7:] == d]
        assert len(img_dirs) == 1
        info = json.loads(rc("image", "inspect", "tiny0:v1").stdout)[0]
        assert info["digest"] == digest and sorted(info["refs"]) == sorted(refs)
        assert info["os_release"]["ID"] == "tiny"
        assert Path(info["rootfs"], "bin/busybox").exists()
        # it runs
        assert rc("run", "--rm", "tiny0:v1", "/bin/echo", "hi").stdout == "hi\n"
    finally:
        for ref in refs:
            rm_image(rc, ref)
    assert digest[7:] not in StoreSnapshot(rc.root).images


def _without_age(listing: str) -> list[list[str]]:
    """The listing's cells, minus the CREATED age (two calls may straddle a second)."""
    return [re.sub(r"\d+ \w+ ago", "", line).split() for line in listing.splitlines()]


def test_tag_ls_inspect_rm(rc, tiny_tar: Path) -> None:  # noqa: ANN001
    digest = rc("image", "import", str(tiny_tar), "tinytag:1").stdout.strip()
    try:
        rc("image", "tag", "tinytag:1", "tinytag:2")
        rc("image", "tag", digest[7:19], "other/tiny")
        listing = rc("images").stdout
        assert _without_age(listing) == _without_age(rc("image", "ls").stdout)
        lines = [ln.split() for ln in listing.splitlines()[1:]]
        assert ["tinytag", "1", digest[7:19]] in [ln[:3] for ln in lines]
        assert ["tinytag", "2", digest[7:19]] in [ln[:3] for ln in lines]
        assert ["other/tiny", "latest", digest[7:19]] in [ln[:3] for ln in lines]
        info = json.loads(rc("image", "inspect", "other/tiny").stdout)[0]
        assert info["refs"] == ["other/tiny:latest", "tinytag:1", "tinytag:2"]
        # rm of one tag only untags while others remain
        assert rc("image", "rm", "tinytag:2").stdout.strip() == "Untagged: tinytag:2"
        assert digest[7:] in StoreSnapshot(rc.root).images
        # refused while a container uses it; -f only untags
        cid = rc("create", "--name", "im-user", "tinytag:1", "/bin/true").stdout.strip()
        assert_one_error(rc("image", "rm", "tinytag:1", check=False), code=4)
        assert rc("image", "rm", "-f", "tinytag:1").stdout.strip().startswith("Untagged")
        assert digest[7:] in StoreSnapshot(rc.root).images
        assert rc("start", "im-user").returncode == 0  # the container still has its image
        rc("rm", "-f", "im-user")
        assert_clean(rc, cid)
        assert rc("rmi", "other/tiny").stdout.strip() == f"Deleted: {digest}"
        assert digest[7:] not in StoreSnapshot(rc.root).images
        assert_one_error(rc("image", "inspect", digest, check=False), code=3)
    finally:
        for ref in ("tinytag:1", "tinytag:2", "other/tiny"):
            rm_image(rc, ref)


def test_storage_overlay_default_and_copy_fallback(rc, base_image: str) -> None:  # noqa: ANN001
    image_rootfs = Path(json.loads(rc("image", "inspect", base_image).stdout)[0]["rootfs"])
    cid = rc("run", "-d", "--name", "st-overlay", base_image, "sleep", "300").stdout.strip()
    info = rc.inspect(cid)
    assert info["storage"] == "overlay"
    mounts = open("/proc/self/mountinfo").read()
    assert f" {info['rootfs']} " in mounts and "overlay" in mounts
    rc("exec", cid, "sh", "-c", "echo changed > /etc/motd-test")
    assert Path(info["rootfs"]).parent.joinpath("upper/etc/motd-test").exists()
    assert not (image_rootfs / "etc/motd-test").exists()

    cid2 = rc("run", "-d", "--name", "st-copy", base_image, "sleep", "300",
              env={"RICHCONTAINER_STORAGE": "copy"}).stdout.strip()
    info2 = rc.inspect(cid2)
    assert info2["storage"] == "copy", info2["storage"]
    assert not mounts_under(Path(info2["rootfs"])), "a copied rootfs is not a mount"
    assert any("copied" in w for w in info2["warnings"])
    rc("exec", cid2, "sh", "-c", "echo changed > /etc/motd-test")
    assert Path(info2["rootfs"], "etc/motd-test").read_text() == "changed\n"
    assert not (image_rootfs / "etc/motd-test").exists()
    rc("restart", "-t", "0", cid2)
    assert rc("exec", cid2, "cat", "/etc/motd-test").stdout == "changed\n"
    for c in (cid, cid2):
        rc("rm", "-f", c)
        assert_clean(rc, c)
    assert os.path.isdir(image_rootfs)
