"""Networking and hooks through richcontainer itself (the hook programs are tested in tests/net)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration


STORE = {}


def host_state() -> tuple[set[str], set[str]]:
    """This store's bridges with the links enslaved to them, and nft lines naming its subnets
    (other stores on the host, e.g. other test runs, may change theirs meanwhile)."""
    rc = STORE["rc"]
    nets = json.loads(rc("network", "inspect", *[n["name"] for n in _networks(rc)]).stdout)
    links: set[str] = set()
    for n in nets:
        out = subprocess.run(["ip", "-o", "link", "show", "master", n["bridge"]], capture_output=True, text=True).stdout
        if subprocess.run(["ip", "link", "show", n["bridge"]], capture_output=True).returncode == 0:
            links.add(n["bridge"])
        links |= {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
    ruleset = subprocess.run(["nft", "list", "table", "inet", "richcontainer"], capture_output=True, text=True).stdout
    subnets = {n["subnet"].rsplit(".", 1)[0] + "." for n in nets}
    return links, {line.strip() for line in ruleset.splitlines() if any(s in line for s in subnets)}


def _networks(rc) -> list[dict]:
    out = rc("network", "ls").stdout.splitlines()[1:]
    return [{"name": line.split()[0]} for line in out if line.split()]


@pytest.fixture(autouse=True)
def _store(rc):
    STORE["rc"] = rc


def test_named_network_peers_by_name_host_bridge_and_cleanup(rc, rich_image):
    image = rich_image("bookworm")
    before = host_state()
    rc("network", "create", "--subnet", "10.213.77.0/24", "ntest")
    try:
        rc("run", "-d", "--name", "pa", "--network", "ntest", image, "sleep", "300")
        rc("run", "-d", "--name", "pb", "--network", "ntest", image, "sleep", "300")
        out = rc("exec", "pb", "ping", "-c", "1", "-W", "3", "pa").stdout
        assert "1 received" in out
        assert "1 received" in rc("exec", "pa", "ping", "-c", "1", "-W", "3", "pb").stdout
        gw = json.loads(rc("network", "inspect", "ntest").stdout)[0]["gateway"]
        assert "1 received" in rc("exec", "pa", "ping", "-c", "1", "-W", "3", gw).stdout
        leases = json.loads(rc("network", "inspect", "ntest").stdout)[0]["containers"]
        assert len({v["ip"] for v in leases.values()}) == 2
    finally:
        rc("rm", "-f", "pa", "pb", check=False)
        rc("network", "rm", "ntest", check=False)
    assert host_state() == before
    assert not any("ntest" in p for p in os.listdir(rc.root / "networks")) or \
        not (rc.root / "networks" / "ntest.leases.json").exists()


def test_published_port_reaches_http_server_unit_in_systemd_container(rc, rich_image, tmp_path):
    image = rich_image("bookworm")
    before = host_state()
    (tmp_path / "index.html").write_text("hello from a systemd unit\n")
    rc("run", "-d", "--name", "web", "--init", "systemd", "-p", "18080:80", "-v", f"{tmp_path}:/srv:ro",
       image, "/usr/bin/python3", "-m", "http.server", "80", "--directory", "/srv")
    rc("exec", "web", "systemctl", "is-system-running", "--wait", check=False)
    deadline = time.monotonic() + 20
    body = ""
    while time.monotonic() < deadline:
        try:
            body = urllib.request.urlopen("http://127.0.0.1:18080/index.html", timeout=2).read().decode()
            break
        except OSError:
            time.sleep(0.3)
    assert body == "hello from a systemd unit\n"
    rc("rm", "-f", "web")
    assert host_state() == before


def test_twenty_concurrent_starts_get_distinct_addresses(rc, base_image):
    procs = [subprocess.Popen([*rc_cmd(rc), "run", "-d", "--name", f"n{i}", base_image, "sleep", "300"],
                              env=rc.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(20)]
    results = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    ips = set()
    for i in range(20):
        out = rc("exec", f"n{i}", "ip", "-4", "-o", "addr", "show", "eth0").stdout
        ips.add(out.split("inet ")[1].split("/")[0])
    assert len(ips) == 20


def rc_cmd(rc) -> list[str]:
    from rctest import rc_binary

    return rc_binary()


def test_failing_create_runtime_hook_leaves_nothing(rc, base_image, tmp_path):
    before = host_state()
    hook = tmp_path / "fail.sh"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 3\n")
    hook.chmod(0o755)
    ids = set(rc.ids())
    p = rc("run", "-d", "--name", "hookfail", "--hook", f"createRuntime={hook}", base_image, "sleep", "10",
           check=False)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert set(rc.ids()) == ids
    assert host_state() == before
    assert not any(line.split()[4].startswith(str(rc.root / "containers")) for line in open("/proc/self/mountinfo"))


def test_podman_format_hook_matches_annotations_and_all_stages_run_in_order(rc, base_image, tmp_path):
    log = tmp_path / "stages.log"
    hook = tmp_path / "record.sh"
    hook.write_text(f"#!/bin/sh\necho \"$1\" >> {log}\n")
    hook.chmod(0o755)
    hooks_dir = tmp_path / "hooks.d"
    hooks_dir.mkdir()
    stages = ["createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    for st in stages:
        (hooks_dir / f"{st}.json").write_text(json.dumps({
            "version": "1.0.0", "hook": {"path": str(hook), "args": [str(hook), st]},
            "when": {"annotations": {"^com\\.example\\.record$": "^yes$"}}, "stages": [st]}))
    if any(st == "startContainer" for st in stages):
        pass  # startContainer runs inside the container: the hook path must exist there too
    rc("run", "-d", "--name", "nomatch", "--hooks-dir", str(hooks_dir), "-v", f"{tmp_path}:{tmp_path}",
       base_image, "sleep", "300")
    rc("rm", "-f", "nomatch")
    assert not log.exists()
    rc("run", "-d", "--name", "match", "--annotation", "com.example.record=yes", "--hooks-dir", str(hooks_dir),
       "-v", f"{tmp_path}:{tmp_path}", base_image, "sleep", "300")
    rc("rm", "-f", "match")
    assert log.read_text().split() == stages


def test_network_errors_map_to_exit_codes(rc):
    for args, code in ((("network", "rm", "nosuch-net"), 3), (("network", "create", "bad name"), 2)):
        p = rc(*args, check=False)
        assert p.returncode == code and len(p.stderr.strip().splitlines()) == 1, (args, p.returncode, p.stderr)
    rc("network", "create", "dup-net")
    try:
        p = rc("network", "create", "dup-net", check=False)
        assert p.returncode == 4 and "already exists" in p.stderr
    finally:
        rc("network", "rm", "dup-net")
