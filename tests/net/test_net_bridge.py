"""Bridge networking with the real runc, netlink and nftables (traffic stays on this host)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest
import rcbundle
from rcbundle import TEST_TABLE

from hooks import ipam, nft
from hooks.network import veth_name
from richcontainer import networks

pytestmark = pytest.mark.integration


def _lease_file(netroot, name: str) -> str:
    return ipam.lease_path(networks.lease_dir(str(netroot)), name)


def _snapshot(netroot, name: str) -> dict:
    lf = _lease_file(netroot, name)
    return {"links": rcbundle.link_names(), "ruleset": rcbundle.nft_ruleset(),
            "leases": open(lf).read() if os.path.exists(lf) else None}


def test_named_network_peers_ping_by_name_and_gateway(containers, netroot):
    cfg = networks.create_network(str(netroot), "rcpeers", "10.213.91.0/24")
    a = containers(net="rcpeers", name="alpha")
    b = containers(net="rcpeers", name="beta")
    a.run()
    b.run()
    assert "10.213.91.2/24" in a.exec("ip", "-4", "addr", "show", "eth0").stdout
    assert "default via 10.213.91.1" in a.exec("ip", "route").stdout
    assert a.exec("hostname").stdout.strip() == "alpha"
    # a's hosts file was rewritten in place when beta joined
    assert "10.213.91.3\tbeta" in a.exec("cat", "/etc/hosts").stdout
    assert "10.213.91.2\talpha" in b.exec("cat", "/etc/hosts").stdout
    assert b.exec("ping", "-c", "1", "-W", "3", "alpha", check=False).returncode == 0
    assert a.exec("ping", "-c", "1", "-W", "3", "beta", check=False).returncode == 0
    # the host's bridge address is reachable from inside
    assert a.exec("ping", "-c", "1", "-W", "3", cfg["gateway"], check=False).returncode == 0
    b.remove()
    assert "beta" not in a.exec("cat", "/etc/hosts").stdout


def test_published_port_nat_rules_and_clean_removal(containers, netroot):
    networks.create_network(str(netroot), "rcweb", "10.213.92.0/24")
    before = _snapshot(netroot, "rcweb")
    c = containers(["httpd", "-f", "-p", "80", "-h", "/www"], net="rcweb", name="web", ports=["18080:80"])
    c.run()
    ip = networks.inspect_network(str(netroot), "rcweb")["containers"][c.id]["ip"]
    table = nft.list_table(TEST_TABLE)
    assert ("tcp", 18080, ip, 80) in table["ports"]
    assert "10.213.92.0/24" in table["nets"]
    ruleset = rcbundle.nft_ruleset()
    assert "masquerade" in ruleset and "ip saddr @nets ip daddr != @nets masquerade" in ruleset and "dnat ip to meta l4proto . th dport map @ports" in ruleset
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "1"
    assert os.path.exists(f"/sys/class/net/{veth_name(c.id)}")
    body = ""
    for _ in range(50):  # httpd may need a moment
        try:
            body = urllib.request.urlopen("http://127.0.0.1:18080/", timeout=3).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    assert body == "hello from the container\n"
    gw = networks.get_network(str(netroot), "rcweb")["gateway"]
    assert urllib.request.urlopen(f"http://{gw}:18080/", timeout=3).read().decode() == body
    results = c.remove()
    assert [r.exit_status for r in results] == [0]
    after = _snapshot(netroot, "rcweb")
    assert after["links"] == before["links"]
    assert after["leases"] == before["leases"]
    assert after["ruleset"] == before["ruleset"]


def test_twenty_concurrent_starts_get_distinct_addresses(containers, netroot):
    networks.create_network(str(netroot), "rcmany", "10.213.93.0/24")
    cs = [containers(net="rcmany", name=f"n{i}") for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        list(ex.map(lambda c: c.create(), cs))
    leases = networks.inspect_network(str(netroot), "rcmany")["containers"]
    ips = [leases[c.id]["ip"] for c in cs]
    assert len(set(ips)) == 20
    inside = {c.exec("ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3].split("/")[0] for c in cs}
    assert inside == set(ips)
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        list(ex.map(lambda c: c.remove(), cs))
    assert networks.inspect_network(str(netroot), "rcmany")["containers"] == {}
    assert not os.path.exists("/sys/class/net/rc-rcmany")


def test_ip_dns_add_host_and_default_network(containers, netroot, monkeypatch):
    monkeypatch.setattr(networks, "DEFAULT_SUBNET", "10.213.94.0/24")
    c = containers(net="bridge", name="fixed", ip="10.213.94.50", dns=["10.213.94.1"],
                   add_hosts=["db.example:10.213.94.9"])
    c.run()
    assert "10.213.94.50/24" in c.exec("ip", "-4", "addr", "show", "eth0").stdout
    assert c.exec("cat", "/etc/resolv.conf").stdout == "nameserver 10.213.94.1\n"
    hosts = c.exec("cat", "/etc/hosts").stdout
    assert "10.213.94.9\tdb.example" in hosts and "10.213.94.50\tfixed" in hosts
    d = containers(net="bridge", name="dup", ip="10.213.94.50")
    with pytest.raises(RuntimeError, match="already in use"):
        d.run()
    d.remove()
    assert list(networks.inspect_network(str(netroot), "bridge")["containers"]) == [c.id]


def test_none_host_and_container_modes(containers):
    n = containers(net="none", name="lonely")
    n.run()
    links = n.exec("ip", "-o", "link").stdout
    assert "lo:" in links and "eth0" not in links
    h = containers(net="host", name="hosty")
    h.run()
    assert h.exec("cat", "/proc/net/dev").stdout.count(":") == open("/proc/net/dev").read().count(":")
    a = containers(net="bridge", name="owner")
    a.run()
    j = containers(net=f"container:{a.id}", name="joiner", join_pid=a.pid(), join_etc_dir=str(a.bundle / "etc"))
    j.run()
    assert j.exec("ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3] == \
        a.exec("ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3]


def test_port_conflict_aborts_start_and_leaves_nothing(containers, netroot):
    networks.create_network(str(netroot), "rcconf", "10.213.95.0/24")
    a = containers(net="rcconf", name="first", ports=["18081:80"])
    a.run()
    before = _snapshot(netroot, "rcconf")
    b = containers(net="rcconf", name="second", ports=["18081:80/tcp"])
    with pytest.raises(RuntimeError, match="already published"):
        b.run()
    b.remove()
    assert _snapshot(netroot, "rcconf") == before


def test_prune_after_crash_removes_leftovers(containers, netroot):
    networks.create_network(str(netroot), "rccrash", "10.213.96.0/24")
    before = _snapshot(netroot, "rccrash")
    c = containers(net="rccrash", name="victim", ports=["18082:80"])
    c.run()
    os.kill(c.pid(), signal.SIGKILL)  # the container dies; nobody runs poststop
    for _ in range(100):
        if json.loads(c.runc("state", c.id).stdout)["status"] == "stopped":
            break
        time.sleep(0.05)
    c.runc("delete", c.id)
    c.created = False
    assert os.path.exists(_lease_file(netroot, "rccrash"))
    assert nft.list_table(TEST_TABLE)["ports"]
    removed = networks.prune(str(netroot))
    assert removed == {"rccrash": [c.id]}
    assert _snapshot(netroot, "rccrash") == before


def test_next_start_cleans_leftovers_of_a_crash(containers, netroot):
    networks.create_network(str(netroot), "rcnext", "10.213.97.0/24")
    c = containers(net="rcnext", name="gone", ports=["18083:80"])
    c.run()
    pid = c.pid()
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if json.loads(c.runc("state", c.id).stdout)["status"] == "stopped":
            break
        time.sleep(0.05)
    c.runc("delete", c.id)
    c.created = False
    d = containers(net="rcnext", name="fresh", ports=["18083:80"])  # same host port: freed by the prune
    d.run()
    assert list(networks.inspect_network(str(netroot), "rcnext")["containers"]) == [d.id]


def test_hook_cli_reports_one_line_errors():
    p = subprocess.run([os.sys.executable, "-m", "hooks", "network", "up"], input='{"id": "x"}',
                       capture_output=True, text=True, timeout=30, cwd=os.path.dirname(networks.__file__) + "/..")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == ["richcontainer-hook: missing annotation org.richcontainer.network.name"]
