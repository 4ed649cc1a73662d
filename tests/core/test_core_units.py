"""Unit tests of pure logic: unit parsers, the spec builder, the tar filter, the k8s log parser."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import tarfile
from pathlib import Path

import pytest

from richcontainer.errors import ImageInputError, UsageError
from richcontainer.images.unpack import extract_rootfs
from richcontainer.logs import parse_records
from richcontainer.model.config import ContainerConfig
from richcontainer.spec import defaults as D
from richcontainer.spec.builder import BuildInputs, build_spec, ungrantable_caps
from richcontainer.units import (check_name, cpuset_size, parse_cpus, parse_cpuset, parse_restart,
                                 parse_signal, parse_size)
from richcontainer.util.caps import caps_from_mask, parse_cap_bounding

CID = "ab" * 32


# ----- units -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("1048576", 1 << 20), ("256m", 256 << 20), ("256M", 256 << 20), ("1g", 1 << 30), ("512MiB", 512 << 20),
    ("64k", 64 << 10), ("1.5g", int(1.5 * (1 << 30))), ("100b", 100), ("2t", 2 << 40), (" 8m ", 8 << 20),
])
def test_parse_size_ok(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "12x", "-5m", "1.2.3g", "m", "5 m b", "1e6"])
def test_parse_size_bad(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text, "memory")


def test_parse_cpus() -> None:
    assert parse_cpus("0.5", 2) == 0.5
    assert parse_cpus("2", 2) == 2.0
    for bad in ("0", "0.001", "3", "abc", "", "-1", "nan"):
        with pytest.raises(UsageError):
            parse_cpus(bad, 2)


def test_parse_cpuset() -> None:
    assert parse_cpuset("0", 2) == "0"
    assert parse_cpuset("0-1", 2) == "0-1"
    assert parse_cpuset("0,1", 4) == "0,1"
    assert cpuset_size("0-1,3") == 3
    for bad in ("2", "1-0", "a", "0-", "0,,1", "-1", "0-7", ""):
        with pytest.raises(UsageError):
            parse_cpuset(bad, 2)


def test_parse_restart() -> None:
    assert parse_restart("no") == ("no", 0)
    assert parse_restart("always") == ("always", 0)
    assert parse_restart("unless-stopped") == ("unless-stopped", 0)
    assert parse_restart("on-failure") == ("on-failure", 0)
    assert parse_restart("on-failure:3") == ("on-failure", 3)
    for bad in ("sometimes", "always:3", "on-failure:x", "on-failure:-1", ""):
        with pytest.raises(UsageError):
            parse_restart(bad)


def test_parse_signal() -> None:
    assert parse_signal("TERM") == signal.SIGTERM
    assert parse_signal("sigkill") == signal.SIGKILL
    assert parse_signal("9") == 9
    assert parse_signal("RTMIN+3") == int(signal.SIGRTMIN) + 3
    assert parse_signal("SIGRTMIN") == int(signal.SIGRTMIN)
    for bad in ("NOPE", "0", "65", "SIG", "-9", ""):
        with pytest.raises(UsageError):
            parse_signal(bad)


def test_check_name() -> None:
    for ok in ("a", "web-1", "A.b_c", "1x", "x" * 63):
        assert check_name(ok) == ok
    for bad in ("", "-x", ".x", "a/b", "a b", "x" * 64, "é", "a:b"):
        with pytest.raises(UsageError):
            check_name(bad)


# ----- spec builder ------------------------------------------------------------------------

def cfg(**kw: object) -> ContainerConfig:
    return ContainerConfig.model_validate({"name": "t", "image": "debian:bookworm", **kw})


def spec_of(**kw: object) -> dict:
    inputs = kw.pop("inputs", {})
    inp = BuildInputs(cid=CID, config=cfg(**kw), rootfs="/r", **inputs)  # type: ignore[arg-type]
    return json.loads(build_spec(inp).to_json())


def test_spec_default_caps_are_podmans_eleven() -> None:
    s = spec_of(command=["/bin/true"])
    caps = s["process"]["capabilities"]
    expected = sorted(["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                       "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
                       "CAP_SYS_CHROOT"])
    for kind in ("bounding", "effective", "permitted"):
        assert sorted(caps[kind]) == expected
    assert not caps.get("ambient") and not caps.get("inheritable")
    assert s["process"]["noNewPrivileges"] is True


def test_spec_cap_add_drop_and_privileged() -> None:
    caps = spec_of(cap_add=["net_admin"], cap_drop=["CAP_CHOWN"])["process"]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps
    s = spec_of(privileged=True)
    assert sorted(s["process"]["capabilities"]["bounding"]) == sorted(D.ALL_CAPS)
    assert "seccomp" not in s["linux"] and "maskedPaths" not in s["linux"]


def test_caps_limited_to_the_hosts_bounding_set() -> None:
    host = frozenset(D.ALL_CAPS) - {"CAP_SYS_RESOURCE"}
    priv = spec_of(privileged=True, inputs={"host_caps": host})["process"]["capabilities"]
    assert sorted(priv["bounding"]) == sorted(host) == sorted(priv["effective"])
    every = spec_of(cap_add=["ALL"], inputs={"host_caps": host})["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_RESOURCE" not in every and "CAP_SYS_ADMIN" in every
    assert ungrantable_caps(cfg(cap_add=["sys_resource", "NET_ADMIN", "all"]), host) == ["CAP_SYS_RESOURCE"]
    assert ungrantable_caps(cfg(cap_add=["sys_resource"]), None) == []


def test_cap_bounding_parser() -> None:
    assert parse_cap_bounding("Name:\tx\nCapBnd:\t0000000000000003\n") == {"CAP_CHOWN", "CAP_DAC_OVERRIDE"}
    assert parse_cap_bounding("CapBnd:\t000001fffeffffff\n") == frozenset(D.ALL_CAPS) - {"CAP_SYS_RESOURCE"}
    assert caps_from_mask(1 << 60) == frozenset()  # bits the table does not know are ignored
    assert parse_cap_bounding("Name:\tx\n") is None


def test_unknown_capability_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown capability"):
        cfg(cap_add=["CAP_FLY"])
    assert cfg(cap_add=["all", "net_admin"], cap_drop=["CAP_CHOWN"]).cap_add == ["all", "net_admin"]


def test_spec_masked_readonly_seccomp_namespaces() -> None:
    s = spec_of()
    lin = s["linux"]
    assert "/proc/kcore" in lin["maskedPaths"] and "/sys/firmware" in lin["maskedPaths"]
    assert "/proc/sys" in lin["readonlyPaths"] and "/proc/sysrq-trigger" in lin["readonlyPaths"]
    assert lin["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {n for rule in lin["seccomp"]["syscalls"] for n in rule["names"]}
    assert {"kexec_load", "init_module", "open_by_handle_at", "bpf"} <= denied
    assert {ns["type"] for ns in lin["namespaces"]} == {"pid", "ipc", "uts", "mount", "network", "cgroup"}
    assert lin["cgroupsPath"] == f"/richcontainer/{CID}"
    assert s["root"]["path"] == "/r"
    assert s["hostname"] == CID[:12]
    cg = next(m for m in s["mounts"] if m["destination"] == "/sys/fs/cgroup")
    assert "ro" in cg["options"]


def test_spec_namespaces_follow_host_and_network() -> None:
    s = spec_of(inputs={"cgroupns": False, "seccomp": False})
    assert "cgroup" not in {ns["type"] for ns in s["linux"]["namespaces"]}
    assert "seccomp" not in s["linux"]
    host = spec_of(network="host", inputs={"network_namespaces": ()})
    assert "network" not in {ns["type"] for ns in host["linux"]["namespaces"]}
    joined = spec_of(inputs={"network_namespaces": ({"type": "network", "path": "/proc/1/ns/net"},)})
    net = [ns for ns in joined["linux"]["namespaces"] if ns["type"] == "network"]
    assert net == [{"type": "network", "path": "/proc/1/ns/net"}]


def test_spec_resources_mapping() -> None:
    res = {"memory": 256 << 20, "memory_swap": 512 << 20, "cpus": 1.5, "cpuset_cpus": "0",
           "cpu_shares": 512, "pids_limit": 100}
    r = spec_of(resources=res)["linux"]["resources"]
    assert r["memory"] == {"limit": 256 << 20, "swap": 512 << 20}
    assert r["cpu"] == {"shares": 512, "cpus": "0", "period": 100000, "quota": 150000}
    assert r["pids"] == {"limit": 100}
    assert r["devices"][0] == {"allow": False, "access": "rwm"}
    # swap defaults to twice the memory; dropped where the host has no memsw accounting
    assert spec_of(resources={"memory": 64 << 20})["linux"]["resources"]["memory"]["swap"] == 128 << 20
    nosw = spec_of(resources={"memory": 64 << 20}, inputs={"memsw_ok": False})["linux"]["resources"]["memory"]
    assert "swap" not in nosw
    nopids = spec_of(resources={"pids_limit": 5}, inputs={"pids_limit_ok": False})["linux"]["resources"]
    assert "pids" not in nopids
    plain = spec_of()["linux"]["resources"]
    assert "memory" not in plain and "cpu" not in plain


def test_spec_process_env_user_cwd() -> None:
    s = spec_of(command=["sleep", "1"], env=["A=1", "PATH=/x"], workdir="/srv",
                inputs={"uid": 1000, "gid": 100, "image_env": ("B=2", "A=0")})
    p = s["process"]
    assert p["args"] == ["sleep", "1"]
    env = dict(e.split("=", 1) for e in p["env"])
    assert env["A"] == "1" and env["B"] == "2" and env["PATH"] == "/x" and env["HOSTNAME"] == CID[:12]
    assert p["user"]["uid"] == 1000 and p["user"]["gid"] == 100
    assert p["cwd"] == "/srv"
    assert p.get("terminal") is False
    assert spec_of(inputs={"image_cmd": ("/bin/bash",)})["process"]["args"] == ["/bin/bash"]


def test_spec_tini() -> None:
    s = spec_of(init="tini", command=["sleep", "5"], inputs={"tini_path": "/usr/bin/tini-static"})
    assert s["process"]["args"] == ["/dev/init", "--", "sleep", "5"]
    m = next(m for m in s["mounts"] if m["destination"] == "/dev/init")
    assert m["source"] == "/usr/bin/tini-static" and m["type"] == "bind" and "ro" in m["options"]


def test_spec_systemd_mode() -> None:
    s = spec_of(init="systemd", inputs={"container_uuid": "1234"})
    assert s["process"]["args"] == ["/sbin/init"]
    assert s["process"]["terminal"] is True
    env = dict(e.split("=", 1) for e in s["process"]["env"])
    assert env["container"] == "richcontainer" and env["container_uuid"] == "1234" and env["TERM"] == "xterm"
    tmpfs = {m["destination"]: m for m in s["mounts"] if m["type"] == "tmpfs"}
    for dest in ("/run", "/run/lock", "/tmp"):
        assert dest in tmpfs, dest
    cg = next(m for m in s["mounts"] if m["destination"] == "/sys/fs/cgroup")
    assert "rw" in cg["options"] and "ro" not in cg["options"]
    # a user volume on /tmp replaces the systemd tmpfs there
    s2 = spec_of(init="systemd", volumes=[{"source": "/srv", "destination": "/tmp"}])
    assert [m["type"] for m in s2["mounts"] if m["destination"] == "/tmp"] == ["bind"]


def test_spec_volumes_tmpfs_annotations() -> None:
    s = spec_of(volumes=[{"source": "/a", "destination": "/b", "readonly": True},
                         {"source": "/c", "destination": "/d"}],
                tmpfs=[{"destination": "/scratch", "options": ["size=1m"]}],
                annotations={"x.y": "z"},
                inputs={"extra_mounts": ({"destination": "/etc/hosts", "type": "bind", "source": "/h",
                                          "options": ["rbind", "rprivate"]},)})
    by = {m["destination"]: m for m in s["mounts"]}
    assert by["/b"]["source"] == "/a" and "ro" in by["/b"]["options"]
    assert "rw" in by["/d"]["options"]
    assert by["/scratch"]["type"] == "tmpfs" and "size=1m" in by["/scratch"]["options"]
    assert by["/etc/hosts"]["source"] == "/h"
    assert s["annotations"]["x.y"] == "z" and s["annotations"]["org.richcontainer.name"] == "t"


# ----- tar filter ----------------------------------------------------------------------------

def make_tar(entries: list[tuple], gz: bool = False) -> bytes:
    """ENTRIES: (name, kind, data_or_linkname) with kind one of file, dir, sym, lnk, chr, blk."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, extra in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "dir" else 0o644
            if kind == "file":
                data = extra.encode() if isinstance(extra, str) else extra
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE,
                       "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}[kind]
            if kind in ("sym", "lnk"):
                ti.linkname = extra
            if kind in ("chr", "blk"):
                ti.devmajor, ti.devminor = 1, 3
            tar.addfile(ti)
    data = buf.getvalue()
    return gzip.compress(data) if gz else data


def extract(data: bytes, dest: Path) -> tuple[str, int]:
    dest.mkdir(exist_ok=True)
    return extract_rootfs(io.BytesIO(data), dest)


def test_tar_filter_accepts_a_normal_rootfs(tmp_path: Path) -> None:
    data = make_tar([("./", "dir", None), ("./etc", "dir", None), ("./etc/os-release", "file", "ID=x\n"),
                     ("./bin", "dir", None), ("./bin/sh", "file", "#!"), ("./usr/bin/sh", "lnk", "bin/sh"),
                     ("./lib", "sym", "usr/lib"), ("./etc/abs", "sym", "/usr/share/x"),
                     ("./etc/rel", "sym", "../bin/sh")])
    digest, size = extract(data, tmp_path / "r")
    assert digest.startswith("sha256:") and size == len(data)
    assert (tmp_path / "r/etc/os-release").read_text() == "ID=x\n"
    assert os.readlink(tmp_path / "r/etc/abs") == "/usr/share/x"
    assert os.path.samefile(tmp_path / "r/usr/bin/sh", tmp_path / "r/bin/sh")
    # the digest is of the uncompressed stream: gzip of the same tar gives the same digest
    assert extract(make_tar([("a", "file", "1")], gz=True), tmp_path / "g")[0] == \
        extract(make_tar([("a", "file", "1")]), tmp_path / "p")[0]


@pytest.mark.parametrize("entries,what", [
    ([("../evil", "file", "x")], "'..'"),
    ([("a/../../evil", "file", "x")], "'..'"),
    ([("/tmp/evil", "file", "x")], "absolute"),
    ([("dev/null", "chr", None)], "device"),
    ([("dev/sda", "blk", None)], "device"),
    ([("esc", "sym", "../../../tmp")], "out of the rootfs"),
    ([("a", "dir", None), ("a/esc", "sym", "../../x")], "out of the rootfs"),
    ([("link", "sym", "/tmp"), ("link/evil", "file", "x")], "symlink"),
    ([("hl", "lnk", "../etc/passwd")], "'..'"),
    ([("hl", "lnk", "/etc/passwd")], "absolute"),
])
def test_tar_filter_refuses_hostile_entries(tmp_path: Path, entries: list[tuple], what: str) -> None:
    dest = tmp_path / "r"
    with pytest.raises(ImageInputError, match=what):
        extract(make_tar(entries), dest)
    assert not (tmp_path / "evil").exists()


def test_tar_filter_symlink_to_absolute_host_dir_not_followed(tmp_path: Path) -> None:
    """An absolute symlink is kept as a link; an entry below it must not land on the host."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = make_tar([("link", "sym", str(outside)), ("link/evil", "file", "x")])
    with pytest.raises(ImageInputError):
        extract(data, tmp_path / "r")
    assert not (outside / "evil").exists()


def test_tar_filter_never_writes_through_a_symlink(tmp_path: Path) -> None:
    """A later entry named like an earlier (absolute) symlink replaces the link, never its target;
    a hard link through a symlinked directory to a host file is refused."""
    victim = tmp_path / "victim"
    victim.write_text("original")
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir(mode=0o700)
    cases = [
        [("s", "sym", str(victim)), ("s", "file", "pwned")],
        [("s", "sym", str(victim)), ("h", "lnk", "s"), ("h", "file", "pwned")],
        [("d", "sym", str(hostdir)), ("d", "dir", None)],
    ]
    for i, entries in enumerate(cases):
        dest = tmp_path / f"r{i}"
        extract(make_tar(entries), dest)
        assert victim.read_text() == "original", entries
        assert victim.stat().st_nlink == 1
    assert (hostdir.stat().st_mode & 0o777) == 0o700
    assert (tmp_path / "r0/s").read_text() == "pwned" and not (tmp_path / "r0/s").is_symlink()
    assert (tmp_path / "r2/d").is_dir() and not (tmp_path / "r2/d").is_symlink()
    with pytest.raises(ImageInputError, match="hard link"):
        extract(make_tar([("l", "sym", str(tmp_path)), ("h", "lnk", "l/victim")]), tmp_path / "r9")
    assert victim.stat().st_nlink == 1


def test_tar_filter_bad_streams(tmp_path: Path) -> None:
    good = make_tar([("a", "file", "x" * 5000)], gz=True)
    with pytest.raises(ImageInputError, match="cannot read"):
        extract(good[: len(good) // 2], tmp_path / "t")
    with pytest.raises(ImageInputError):
        extract(b"", tmp_path / "e")
    with pytest.raises(ImageInputError):
        extract(b"this is not a tar file at all" * 40, tmp_path / "n")


# ----- k8s log parser ----------------------------------------------------------------------

def test_log_parser_joins_partials_and_keeps_streams() -> None:
    lines = [
        "2024-01-01T00:00:00.000000001Z stdout F hello\n",
        "2024-01-01T00:00:01.000000000Z stdout P part-one \n",
        "2024-01-01T00:00:01.500000000Z stderr F oops\n",
        "2024-01-01T00:00:02.000000000Z stdout F part-two\n",
        "2024-01-01T00:00:03.000000000Z stdout F \n",
        "2024-01-01T00:00:04.000000000Z stdout F with spaces  inside\n",
        "garbage\n",
    ]
    recs = list(parse_records(iter(lines)))
    assert recs == [
        ("2024-01-01T00:00:00.000000001Z", "stdout", "hello"),
        ("2024-01-01T00:00:01.500000000Z", "stderr", "oops"),
        ("2024-01-01T00:00:01.000000000Z", "stdout", "part-one part-two"),
        ("2024-01-01T00:00:03.000000000Z", "stdout", ""),
        ("2024-01-01T00:00:04.000000000Z", "stdout", "with spaces  inside"),
    ]


def test_log_parser_flushes_a_trailing_partial() -> None:
    recs = list(parse_records(iter(["t1 stdout P no-newline-at-end\n"])))
    assert recs == [("t1", "stdout", "no-newline-at-end")]


def test_boot_id_hook_binds_the_containers_file_read_only(tmp_path: Path) -> None:
    from richcontainer.bootid import boot_id_file, boot_id_hook, new_boot_id

    hook = boot_id_hook(tmp_path, tmp_path / "rootfs")
    assert hook is not None and os.path.basename(hook["path"]) == "mount" and hook["timeout"] > 0
    assert hook["args"][:4] == ["mount", "--bind", "-o", "ro,nosuid,nodev,noexec"]
    assert hook["args"][4:] == [str(boot_id_file(tmp_path)), str(tmp_path / "rootfs/proc/sys/kernel/random/boot_id")]
    first, second = new_boot_id(tmp_path), new_boot_id(tmp_path)
    assert first != second and boot_id_file(tmp_path).read_text() == second + "\n" and len(second) == 36


# ----- systemd guest preparation -----------------------------------------------------------

@pytest.mark.parametrize("path,unit", [  # expected values are what `systemd-escape --path` prints
    ("/tmp", "tmp"), ("/etc/resolv.conf", "etc-resolv.conf"), ("/", "-"), ("/data/my-vol", "data-my\\x2dvol"),
    ("/.hidden/x", "\\x2ehidden-x"), ("/a/.b", "a-.b"), ("/a b/ü", "a\\x20b-\\xc3\\xbc"), ("//var//lib/", "var-lib"),
])
def test_unit_path_escape_matches_systemd_escape(path: str, unit: str) -> None:
    from richcontainer.systemd import unit_path_escape

    assert unit_path_escape(path) == unit


def test_runtime_mounts_kept_out_of_shutdown_unmounting(tmp_path: Path) -> None:
    from richcontainer.systemd import KEEP_DROPIN, keep_runtime_mounts

    units = keep_runtime_mounts(tmp_path, ["/proc", "/proc/meminfo", "/dev/shm", "/sys/fs/cgroup", "/run",
                                           "/run/lock", "/tmp", "/etc/hosts", "/data/my-vol"])
    assert units == ["run-lock.mount", "tmp.mount", "etc-hosts.mount", "data-my\\x2dvol.mount"]
    text = (tmp_path / "etc/systemd/system/tmp.mount.d" / KEEP_DROPIN).read_text()
    assert "[Unit]\nDefaultDependencies=no\n" in text


# ----- the thin client's exec fast path -----------------------------------------------------

def _fast_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **state: object) -> None:
    monkeypatch.setenv("RICHCONTAINER_ROOT", str(tmp_path))
    monkeypatch.setenv("RICHCONTAINER_RUNROOT", str(tmp_path / "run"))
    (tmp_path / "containers" / CID).mkdir(parents=True)
    (tmp_path / "names").mkdir()
    os.symlink(CID, tmp_path / "names" / "web")
    from richcontainer.util.pidstat import proc_start_ticks

    rec = {"id": CID, "status": "running", "pid": os.getpid(), "pid_start": proc_start_ticks(os.getpid()),
           "runtime_path": "/usr/sbin/runc", "config": {"env": ["A=1"]}, "plan": {"x": [1.5, None, True]}}
    rec.update(state)
    (tmp_path / "containers" / CID / "state.json").write_text(json.dumps(rec, indent=1))


def test_fast_exec_argv_is_the_clis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from richcontainer.fastexec import plain_exec_argv
    from richcontainer.runtime.runc import Runtime

    _fast_store(tmp_path, monkeypatch)
    cli = Runtime("/usr/sbin/runc", tmp_path / "run" / "runtime").exec_argv(
        CID, ["sh", "-c", "echo hi"], tty=False, env=[], user=None, cwd=None)
    assert plain_exec_argv(["exec", "web", "sh", "-c", "echo hi"]) == cli
    assert plain_exec_argv(["exec", CID, "sh", "-c", "echo hi"]) == cli


@pytest.mark.parametrize("args,state", [
    (["exec", "-it", "web", "sh"], {}), (["exec", "web", "--", "sh"], {}), (["exec", "web"], {}),
    (["exec", "nosuch", "sh"], {}), (["exec", CID[:12], "sh"], {}), (["exec", "../web", "sh"], {}),
    (["exec", "web", "sh"], {"status": "paused"}), (["exec", "web", "sh"], {"pid": 0}),
    (["exec", "web", "sh"], {"pid_start": 1}), (["exec", "web", "sh"], {"runtime_path": ""}),
])
def test_fast_exec_leaves_everything_else_to_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     args: list[str], state: dict) -> None:
    from richcontainer.fastexec import plain_exec_argv

    _fast_store(tmp_path, monkeypatch, **state)
    assert plain_exec_argv(args) is None


def test_fast_exec_refuses_a_damaged_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from richcontainer.fastexec import plain_exec_argv

    _fast_store(tmp_path, monkeypatch)
    (tmp_path / "containers" / CID / "state.json").write_text('{"status": "running", "pid": ')
    assert plain_exec_argv(["exec", "web", "sh"]) is None
