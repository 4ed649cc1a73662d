"""Network config store and spec fragments (files only; no links are touched)."""

from __future__ import annotations

import os
import sys

import pytest

from hooks.network import NetParams, NetworkError, parse_pairs, veth_name
from hooks.nft import Port, parse_ports
from richcontainer import networks


def test_create_list_inspect_remove(tmp_path):
    root = str(tmp_path)
    cfg = networks.create_network(root, "web", "10.213.50.0/24")
    assert cfg | {"created": "x"} == {"name": "web", "subnet": "10.213.50.0/24", "gateway": "10.213.50.1",
                                     "bridge": networks.bridge_name("web", root), "peers": True, "created": "x"}
    auto = networks.create_network(root, "auto")
    assert auto["subnet"].startswith("10.213.") and auto["subnet"] not in ("10.213.0.0/24", "10.213.50.0/24")
    assert networks.bridge_name("web", root) != networks.bridge_name("web", root + "2")  # stores never share
    names = [n["name"] for n in networks.list_networks(root)]
    assert names == ["auto", "bridge", "web"]
    assert networks.inspect_network(root, "web")["containers"] == {}
    networks.remove_network(root, "web")
    with pytest.raises(networks.NetworkConfigError, match="no such network"):
        networks.inspect_network(root, "web")


@pytest.mark.parametrize("name, subnet, msg", [
    ("bad name", None, "invalid network name"), ("host", None, "invalid network name"),
    ("x", "DEFAULT/25", "overlaps network bridge"), ("x", "300.1.2.0/24", "invalid subnet"),
    ("x", "10.213.9.0/31", "too small")])
def test_create_rejects(tmp_path, name, subnet, msg):
    default = networks.get_network(str(tmp_path), "bridge")["subnet"]  # 10.213.0.0/24 unless the host uses it
    if subnet and subnet.startswith("DEFAULT"):
        subnet = default.split("/")[0] + "/25"
    with pytest.raises(networks.NetworkConfigError, match=msg):
        networks.create_network(str(tmp_path), name, subnet)


def test_remove_refuses_default_and_in_use(tmp_path):
    root = str(tmp_path)
    with pytest.raises(networks.NetworkConfigError, match="default network"):
        networks.remove_network(root, "bridge")


def test_bridge_names_fit_ifnamsiz():
    assert networks.bridge_name("web") == "rc-web"
    long = networks.bridge_name("a-very-long-network-name")
    assert long.startswith("rc-") and len(long) == 15
    assert len(veth_name("x" * 64)) == 15


def test_bridge_fragment(tmp_path):
    root = str(tmp_path)
    etc = tmp_path / "etc"
    net = networks.get_network(root, "bridge")["subnet"].rsplit(".", 1)[0]  # 10.213.0 unless the host uses it
    frag = networks.spec_fragment(root, "cid1", "bridge", ["8080:80", "53:53/udp"], f"{net}.9", ["1.1.1.1"],
                                  ["db:10.213.0.5"], "h1", etc_dir=str(etc))
    assert frag["namespaces"] == [{"type": "network"}]
    up = frag["hooks"]["createRuntime"][0]
    assert up["path"] == sys.executable and up["args"][-2:] == ["network", "up"]
    assert up["args"][-3].endswith("/hooks/oci_hook.py") and os.path.isfile(up["args"][-3])
    assert frag["poststop"][0]["args"][-1] == "down"
    p = NetParams.from_annotations(frag["annotations"])
    assert p.ports == [Port(8080, 80), Port(53, 53, "udp")] and p.ip == f"{net}.9" and p.hostname == "h1"
    assert p.bridge == networks.bridge_name("bridge", root) and p.add_hosts == [("db", "10.213.0.5")] and p.dns == ["1.1.1.1"]
    assert sorted(m["destination"] for m in frag["mounts"]) == ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    assert (etc / "resolv.conf").read_text() == "nameserver 1.1.1.1\n"
    assert (etc / "hostname").read_text() == "h1\n"


@pytest.mark.parametrize("kw, msg", [
    ({"ports": ["80:x"]}, "invalid port"), ({"ports": ["70000:80"]}, "out of range"),
    ({"ports": ["80:80/sctp"]}, "unknown protocol"), ({"ip": "10.9.9.9"}, "not in network"),
    ({"dns": ["x"]}, "does not appear"), ({"add_hosts": ["nocolon"]}, "--add-host")])
def test_fragment_rejects_bad_input(tmp_path, kw, msg):
    with pytest.raises(networks.NetworkConfigError, match=msg):
        networks.spec_fragment(str(tmp_path), "c", "bridge", etc_dir=str(tmp_path / "etc"), **kw)


def test_other_modes(tmp_path):
    root = str(tmp_path)
    none = networks.spec_fragment(root, "c", "none", hostname="h", etc_dir=str(tmp_path / "e1"))
    assert none["namespaces"] == [{"type": "network"}] and not none["hooks"] and not none["poststop"]
    host = networks.spec_fragment(root, "c", "host", hostname="h", etc_dir=str(tmp_path / "e2"))
    assert host["namespaces"] == []
    joined = networks.spec_fragment(root, "c", "container:x", join_pid=123, etc_dir=str(tmp_path / "e3"))
    assert joined["namespaces"] == [{"type": "network", "path": "/proc/123/ns/net"}]
    with pytest.raises(networks.NetworkConfigError, match="not running"):
        networks.spec_fragment(root, "c", "container:x", etc_dir=str(tmp_path / "e4"))
    with pytest.raises(networks.NetworkConfigError, match="need a bridge"):
        networks.spec_fragment(root, "c", "none", ports=["1:1"], etc_dir=str(tmp_path / "e5"))
    with pytest.raises(networks.NetworkConfigError, match="no such network"):
        networks.spec_fragment(root, "c", "nonet", etc_dir=str(tmp_path / "e6"))


def test_hook_params_validation():
    with pytest.raises(NetworkError, match="missing annotation org.richcontainer.network.name"):
        NetParams.from_annotations({})
    base = {f"org.richcontainer.network.{k}": v for k, v in
            {"name": "n", "bridge": "rc-n", "subnet": "10.213.1.0/24", "state-dir": "/tmp"}.items()}
    assert NetParams.from_annotations(base).gateway == "10.213.1.1"
    with pytest.raises(NetworkError, match="bridge name"):
        NetParams.from_annotations(base | {"org.richcontainer.network.bridge": "x" * 16})
    with pytest.raises(NetworkError, match="invalid network annotation"):
        NetParams.from_annotations(base | {"org.richcontainer.network.ports": "a:b"})
    assert parse_pairs("a:1.2.3.4, b:::1") == [("a", "1.2.3.4"), ("b", "::1")]
    assert parse_ports("80,8080:80/udp") == [Port(80, 80), Port(8080, 80, "udp")]
