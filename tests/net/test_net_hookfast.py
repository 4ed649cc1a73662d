"""The hook's import-light helpers agree with the stdlib modules they replace (pure logic)."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import sys
import time
import zlib

import pytest

from hooks import ip4, jsonlite, spawn
from hooks.network import crc32

ADDRS = ["10.1.2.3", "0.0.0.0", "255.255.255.255", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "",
         " 1.2.3.4", "1.2.3.4\n", "a.b.c.d", "1..2.3", "１.2.3.4", "::1", "fe80::1%eth0", "::ffff:1.2.3.4",
         "1.2.3.-4", "+1.2.3.4", "1.2.3.4/32", "1_0.2.3.4"]
NETS = ["10.1.2.0/24", "10.1.2.77/24", "10.1.2.3", "10.0.0.0/8", "0.0.0.0/0", "10.1.2.3/32", "10.1.2.2/31",
        "10.1.2.0/33", "10.1.2.0/", "10.1.2.0/08", "10.1.2.0/255.255.255.0", "10.1.2.0/0.0.0.255",
        "10.1.2.0/ 24", "10.1.2.0/24/1", "x/24", "10.1.2.0/+8", "10.1.2.0/-1"]


def _outcome(f, *a):
    try:
        return ("ok", f(*a))
    except ValueError as e:
        return ("err", str(e))


@pytest.mark.parametrize("text", ADDRS)
def test_addresses_match_ipaddress(text):
    assert _outcome(ip4.addr, text) == _outcome(lambda t: int(ipaddress.IPv4Address(t)), text)
    assert _outcome(ip4.ip_str, text) == _outcome(lambda t: str(ipaddress.ip_address(t)), text)


@pytest.mark.parametrize("text", NETS)
def test_networks_match_ipaddress(text):
    def ref(t):
        n = ipaddress.IPv4Network(t, strict=False)
        return int(n.network_address), n.prefixlen
    assert _outcome(ip4.network, text) == _outcome(ref, text)
    got = _outcome(ip4.network, text)
    if got[0] == "ok":
        n = ipaddress.IPv4Network(text, strict=False)
        assert ip4.net_str(*got[1]) == str(n)
        assert ip4.broadcast(*got[1]) == int(n.broadcast_address)
        assert list(map(ip4.to_str, ip4.hosts(*got[1])[:5])) == [str(a) for a in itertools.islice(n.hosts(), 5)]
        assert len(ip4.hosts(*got[1])) == n.num_addresses - (2 if n.prefixlen < 31 else 0)


@pytest.mark.parametrize("text", ['{"id": "a", "pid": 3, "annotations": {"k": "v\\u00e9"}}', " [1, 2.5, null, true] \n",
                                  '{"a": NaN}', "", "{", '{"a": 1} x', "\ufeff{}", "[1,]", '"s"', "1e400"])
def test_json_loads_matches_json(text):
    def run(f):
        try:
            return ("ok", repr(f(text)))
        except ValueError as e:
            return ("err", type(e).__name__, str(e))
    assert run(jsonlite.loads) == run(json.loads)


@pytest.mark.parametrize("obj", [{}, [], {"leases": {"c1": {"ip": "10.0.0.2", "pid": 5, "starttime": None,
                                 "ports": [], "add_hosts": [["a", "1.2.3.4"]], "ok": True, "x": "é\n\""}}},
                                 {"f": 1.5, "n": float("nan")}, {1: "int key"}, (1, (2, 3)), "plain"])
def test_json_dumps_matches_json(obj):
    assert jsonlite.dumps(obj, indent=1) == json.dumps(obj, indent=1, sort_keys=True)


def test_crc32_matches_zlib():
    for n in range(0, 100, 7):
        b = os.urandom(n)
        assert crc32(b) == zlib.crc32(b)


def test_spawn_captures_output_feeds_input_and_exit_status():
    r = spawn.run([sys.executable, "-c", "import sys; d=sys.stdin.read(); print(len(d)); "
                   "sys.stderr.write('e'*100000); sys.exit(3)"], input="x" * 300000, timeout=30)
    assert (r.returncode, r.stdout, len(r.stderr)) == (3, "300000\n", 100000)
    assert spawn.run(["cat"], timeout=10).stdout == ""  # stdin is /dev/null without input


def test_spawn_missing_program_and_timeout():
    with pytest.raises(FileNotFoundError) as e:
        spawn.run(["/nonexistent/prog-xyz"], timeout=5)
    assert e.value.filename == "/nonexistent/prog-xyz"
    t0 = time.monotonic()
    with pytest.raises(spawn.Timeout):
        spawn.run(["sleep", "30"], timeout=0.3)
    assert time.monotonic() - t0 < 5
