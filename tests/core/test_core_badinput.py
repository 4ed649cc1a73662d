"""Bad input, each: one clear stderr line (maybe a `hint:`), non-zero exit, no traceback, and
nothing left behind in the store (or written outside it, for hostile tarballs)."""

from __future__ import annotations

import gzip
import io
import secrets
import subprocess
import tarfile
from pathlib import Path

import pytest
from corelib import assert_one_error, rc_argv

pytestmark = pytest.mark.integration

BAD_RUN = {
    "unknown image": (["no-such-image:1"], 3),
    "bad image ref": (["Bad Image!"], 3),
    "bad name": (["--name", "bad/name", "IMG"], 2),
    "bad name spaces": (["--name", "a b", "IMG"], 2),
    "bad memory": (["-m", "lots", "IMG"], 2),
    "memory too small": (["-m", "1k", "IMG"], 2),
    "bad memory-swap": (["-m", "64m", "--memory-swap", "32m", "IMG"], 2),
    "bad cpus": (["--cpus", "abc", "IMG"], 2),
    "too many cpus": (["--cpus", "999", "IMG"], 2),
    "zero cpus": (["--cpus", "0", "IMG"], 2),
    "bad cpuset": (["--cpuset-cpus", "a-b", "IMG"], 2),
    "cpuset out of range": (["--cpuset-cpus", "0-999", "IMG"], 2),
    "bad cpu-shares": (["--cpu-shares", "1", "IMG"], 2),
    "missing volume source": (["-v", "/nonexistent/rc-test-src:/x", "IMG"], 2),
    "relative volume": (["-v", "rel:/x", "IMG"], 2),
    "bad volume mode": (["-v", "/tmp:/x:rx", "IMG"], 2),
    "bad tmpfs": (["--tmpfs", "relative", "IMG"], 2),
    "port garbage": (["-p", "80:abc", "IMG"], 2),
    "port out of range": (["-p", "70000:80", "IMG"], 2),
    "port nonsense": (["-p", "::::", "IMG"], 2),
    "bad restart": (["--restart", "sometimes", "IMG"], 2),
    "bad restart count": (["--restart", "always:3", "IMG"], 2),
    "bad stop signal": (["--stop-signal", "NOPE", "IMG"], 2),
    "bad env": (["-e", "=x", "IMG"], 2),
    "missing env file": (["--env-file", "/nonexistent/rc-env", "IMG"], 2),
    "relative workdir": (["-w", "relative", "IMG"], 2),
    "unknown user": (["-u", "nosuchuser", "IMG"], 2),
    "unknown runtime": (["--runtime", "no-such-runtime", "IMG"], 3),
    "unknown capability": (["--cap-add", "CAP_FLY", "IMG"], 2),
    "unknown capability dropped": (["--cap-drop", "nope", "IMG"], 2),
}


@pytest.mark.parametrize("case", sorted(BAD_RUN))
def test_bad_run_input(rc, base_image: str, snapshot, case: str) -> None:  # noqa: ANN001
    args, code = BAD_RUN[case]
    args = [base_image if a == "IMG" else a for a in args]
    snap = snapshot()
    for verb in (["run", "-d"], ["create"]):
        p = rc(*verb, *args, "true", check=False)
        line = assert_one_error(p, code=code)
        assert line.startswith("richcontainer: "), line
        snap.assert_unchanged()


UNKNOWN_CONTAINER = [["start"], ["stop"], ["restart"], ["kill"], ["rm"], ["pause"], ["unpause"], ["inspect"],
                     ["logs"], ["wait"], ["top"], ["exec", "{}", "true"], ["rename", "{}", "newname"],
                     ["update", "-m", "64m"], ["stats", "--no-stream"]]


@pytest.mark.parametrize("verb", UNKNOWN_CONTAINER, ids=lambda v: v[0])
def test_unknown_container(rc, snapshot, verb: list[str]) -> None:  # noqa: ANN001
    name = "no-such-container-xyz"
    args = [a.replace("{}", name) for a in verb] if "{}" in verb else [*verb, name]
    snap = snapshot()
    line = assert_one_error(rc(*args, check=False), code=3)
    assert name in line
    snap.assert_unchanged()


def test_bad_values_on_existing_container(rc, base_image: str, snapshot) -> None:  # noqa: ANN001
    rc("run", "-d", "--name", "bi-target", base_image, "sleep", "300")
    snap = snapshot()
    for args, code in [(["kill", "-s", "NOPE", "bi-target"], 2), (["kill", "-s", "99", "bi-target"], 2),
                       (["update", "-m", "abc", "bi-target"], 2), (["update", "--cpus", "999", "bi-target"], 2),
                       (["update", "--cpuset-cpus", "x", "bi-target"], 2), (["update", "bi-target"], 2),
                       (["logs", "--tail", "-3", "bi-target"], 2), (["rename", "bi-target", "bad name"], 2),
                       (["rm", "bi-target"], 4), (["unpause", "bi-target"], 4)]:
        assert_one_error(rc(*args, check=False), code=code)
    snap.assert_unchanged()
    assert rc.inspect("bi-target")["status"] == "running"


# ----- hostile and corrupt image tarballs ---------------------------------------------------

def _tar(entries: list[tuple[str, str, str | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        ok = tarfile.TarInfo("etc/os-release")
        ok.size = 8
        tar.addfile(ok, io.BytesIO(b"ID=evil\n"))
        for name, kind, extra in entries:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                data = b"pwned\n"
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
                       "blk": tarfile.BLKTYPE, "dir": tarfile.DIRTYPE}[kind]
            if kind in ("sym", "lnk"):
                ti.linkname = extra or ""
            if kind in ("chr", "blk"):
                ti.devmajor, ti.devminor = 8, 0
            tar.addfile(ti)
    return buf.getvalue()


def hostile_cases(tag: str, outside: Path) -> dict[str, bytes]:
    evil = f"evil-{tag}"
    big = _tar([(f"big{i}", "file", None) for i in range(50)])
    return {
        "dotdot": _tar([(f"../../../../../../tmp/{evil}", "file", None)]),
        "dotdot-inner": _tar([(f"usr/../../../tmp/{evil}", "file", None)]),
        "absolute": _tar([(f"/tmp/{evil}", "file", None)]),
        "symlink-out-then-write": _tar([("escape", "sym", str(outside)), (f"escape/{evil}", "file", None)]),
        "symlink-tmp-then-write": _tar([("tmpdir", "sym", "/tmp"), (f"tmpdir/{evil}", "file", None)]),
        "relative-symlink-escape": _tar([("a", "dir", None), ("a/up", "sym", "../../../../../../tmp"),
                                         (f"a/up/{evil}", "file", None)]),
        "hardlink-out": _tar([("hl", "lnk", f"../../tmp/{evil}")]),
        "chardev": _tar([("dev/sda", "chr", None)]),
        "blockdev": _tar([("dev/sdb", "blk", None)]),
        "truncated-gzip": (lambda gz: gz[: len(gz) // 2])(gzip.compress(big)),
        "garbage": b"\x1f\x8b" + secrets.token_bytes(3000),
        "not-a-tar": b"hello, this is plain text and not an archive\n" * 30,
        "empty": b"",
    }


@pytest.mark.parametrize("case", sorted(hostile_cases("x", Path("/x"))))
def test_hostile_or_corrupt_import(rc, snapshot, scratch: Path, case: str) -> None:  # noqa: ANN001
    tag = secrets.token_hex(4)
    outside = scratch / "outside"
    outside.mkdir()
    data = hostile_cases(tag, outside)[case]
    tarball = scratch / "evil.tar"
    tarball.write_bytes(data)
    snap = snapshot()
    line = assert_one_error(rc("image", "import", str(tarball), "evil:1", check=False), code=2)
    assert "tarball" in line, line
    snap.assert_unchanged()
    # the same through stdin
    p = subprocess.run([*rc_argv(), "image", "import", "-", "evil:2"], input=data, capture_output=True,
                       env=rc.env, timeout=60)
    assert_one_error(subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(), p.stderr.decode()),
                     code=2)
    snap.assert_unchanged()
    assert not list(Path("/tmp").glob(f"evil-{tag}*")), "wrote outside the store"
    assert not list(outside.iterdir()), "wrote through a symlink"
    assert "evil:1" not in rc("images").stdout


def test_import_missing_file_and_bad_ref(rc, snapshot, scratch: Path) -> None:  # noqa: ANN001
    snap = snapshot()
    assert_one_error(rc("image", "import", str(scratch / "missing.tar"), "x:1", check=False), code=2)
    (scratch / "ok.tar").write_bytes(_tar([]))
    assert_one_error(rc("image", "import", str(scratch / "ok.tar"), "Bad Ref!", check=False), code=2)
    assert_one_error(rc("image", "tag", "no-such-image", "x:1", check=False), code=3)
    assert_one_error(rc("image", "rm", "no-such-image", check=False), code=3)
    assert_one_error(rc("image", "bootstrap", "fedora:40", check=False), code=2)
    snap.assert_unchanged()
