"""Pure pieces of the old-host path: glibc's kernel check follows the vDSO note, the spec's
degraded cgroup mounts for systemd without a cgroup namespace, rcmon's argv and log format."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
from pathlib import Path

from compatfixtures import DEBIAN12_SYSV

from compat.errors import CompatError
from compat.model import ContainerRequest
from compat.plan import plan

REPO = Path(__file__).resolve().parents[2]


def _rcmon():
    path = REPO / "compat" / "legacy" / "rcmon.py"
    spec = importlib.util.spec_from_file_location("rcmon_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_glibc_kernel_check_reads_the_vdso_note(el6):
    """Under `setarch --uname-2.6` only uname() is old; glibc checks the vDSO note (the real kernel)."""
    emulated = dataclasses.replace(el6, vdso_kernel="6.1.0")
    assert plan(ContainerRequest(), emulated, DEBIAN12_SYSV).backend == "legacy"
    real_el6 = dataclasses.replace(el6, vdso_kernel="2.6.32")
    try:
        plan(ContainerRequest(), real_el6, DEBIAN12_SYSV)
    except CompatError as exc:
        assert "needs Linux >= 3.2" in exc.message and "2.6.32" in exc.message
    else:
        raise AssertionError("a glibc 2.36 guest must be refused on a 2.6.32 vDSO")


def test_this_hosts_vdso_note_matches_uname():
    from compat.probe import vdso_kernel

    note = vdso_kernel()
    assert note and note.split(".")[:2] == os.uname().release.split("-")[0].split(".")[:2]


def _spec(cgroupns: bool, init: str = "systemd") -> dict:
    from richcontainer.model.config import ContainerConfig
    from richcontainer.spec.builder import BuildInputs, build_spec

    cfg = ContainerConfig.model_validate({"name": "t", "image": "x", "init": init})
    return json.loads(build_spec(BuildInputs(cid="c" * 64, config=cfg, rootfs="/r", cgroupns=cgroupns)).to_json())


def test_systemd_without_cgroupns_gets_only_its_own_subtree_writable():
    own = "/sys/fs/cgroup/systemd/richcontainer/" + "c" * 64
    mounts = {m["destination"]: m for m in _spec(cgroupns=False)["mounts"]}
    assert "ro" in mounts["/sys/fs/cgroup"]["options"]  # controllers (limits) stay read-only
    assert mounts["/sys/fs/cgroup/systemd"]["type"] == "tmpfs"  # nothing of the host's tree shows
    assert mounts[own]["source"] == own and "rw" in mounts[own]["options"]
    assert {"nosuid", "nodev", "noexec"} <= set(mounts[own]["options"])
    dests = [m["destination"] for m in _spec(cgroupns=False)["mounts"]]
    assert dests.index("/sys/fs/cgroup") < dests.index("/sys/fs/cgroup/systemd") < dests.index(own)


def test_subtree_mounts_only_where_needed():
    for cgroupns, init in ((True, "systemd"), (False, "sbin-init"), (False, "none")):
        dests = [m["destination"] for m in _spec(cgroupns, init)["mounts"]]
        assert not [d for d in dests if d.startswith("/sys/fs/cgroup/")], (cgroupns, init)


def test_rcmon_keeps_option_like_values():
    ns, _ = _rcmon()._parser().parse_known_args(_rcmon()._join_values(
        ["-c", "id", "-r", "/rt", "-b", "/b", "-p", "/p", "--runtime-arg", "--root=/x",
         "--exit-command", "/py", "--exit-command-arg", "-m", "--exit-command-arg", "mod", "--terminal"]))
    assert ns.runtime_arg == ["--root=/x"] and ns.exit_command == "/py"
    assert ns.exit_command_arg == ["-m", "mod"] and ns.terminal


def test_rcmon_writes_k8s_file_records(tmp_path):
    log = _rcmon().Log("k8s-file:" + os.fspath(tmp_path / "ctr.log"), -1)
    log.write("stdout", b"one\r\ntwo\nlogin: ")
    log.write("stderr", b"err\n")
    lines = (tmp_path / "ctr.log").read_text().splitlines()
    assert [ln.split(" ", 1)[1] for ln in lines] == ["stdout F one", "stdout F two", "stdout P login: ",
                                                     "stderr F err"]
    sys.path.insert(0, os.fspath(REPO))
    from richcontainer.logs import parse_records

    records = list(parse_records(iter(ln + "\n" for ln in lines)))
    assert sorted((r[1], r[2]) for r in records) == [("stderr", "err"), ("stdout", "login: "), ("stdout", "one"),
                                                    ("stdout", "two")]
