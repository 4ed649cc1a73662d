"""Concurrent `run -d`: distinct names all succeed; one contested name has exactly one winner and
leaves no half-made container behind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from corelib import StoreSnapshot, assert_one_error, proc_alive, ps_json, runc_list

pytestmark = pytest.mark.integration


def test_twenty_concurrent_runs_with_distinct_names(rc, base_image: str) -> None:  # noqa: ANN001
    names = [f"cc-par-{i}" for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: rc("run", "-d", "--name", n, base_image, "sleep", "300",
                                             check=False, timeout=300), names))
    failed = [(n, p.returncode, p.stderr) for n, p in zip(names, results) if p.returncode != 0]
    assert not failed, failed
    ids = {p.stdout.strip() for p in results}
    assert len(ids) == 20
    running = ps_json(rc, all_=False)
    for n in names:
        assert running[n]["State"] == "running", running.get(n)
        assert proc_alive(running[n]["Pid"])
    runc_ids = {c["id"] for c in runc_list(StoreSnapshot(rc.root).paths) if c["status"] == "running"}
    assert ids <= runc_ids


def test_contested_name_has_exactly_one_winner(rc, base_image: str) -> None:  # noqa: ANN001
    before = StoreSnapshot(rc.root)
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: rc("run", "-d", "--name", "cc-same", base_image, "sleep", "300",
                                             check=False, timeout=300), range(5)))
    winners = [p for p in results if p.returncode == 0]
    losers = [p for p in results if p.returncode != 0]
    assert len(winners) == 1, [(p.returncode, p.stderr) for p in results]
    for p in losers:
        line = assert_one_error(p, code=4)
        assert "cc-same" in line and "in use" in line, line
        assert p.stdout == ""
    cid = winners[0].stdout.strip()
    after = StoreSnapshot(rc.root)
    assert after.containers - before.containers == {cid}, "a loser left a container dir"
    assert after.names - before.names == {"cc-same"}
    new_mounts = set(after.mounts) - set(before.mounts)
    assert all(cid in m for m in new_mounts), new_mounts
    assert set(after.runc) - set(before.runc) == {cid}
    everything = ps_json(rc)
    assert everything["cc-same"]["Id"] == cid and everything["cc-same"]["State"] == "running"
    assert sum(1 for c in everything.values() if c["Names"] == "cc-same") == 1


def test_concurrent_commands_on_one_container(rc, base_image: str) -> None:  # noqa: ANN001
    """stop/start/exec/ps racing on one container serialize on its lock: no error but 'not running'."""
    rc("run", "-d", "--name", "cc-race", base_image, "sleep", "300")
    cmds = [("stop", "-t", "1", "cc-race"), ("start", "cc-race"), ("ps", "-a"), ("inspect", "cc-race"),
            ("restart", "-t", "1", "cc-race"), ("start", "cc-race")] * 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda a: rc(*a, check=False, timeout=120), cmds))
    for args, p in zip(cmds, results):
        assert "Traceback" not in p.stderr and "internal error" not in p.stderr, (args, p.stderr)
        assert p.returncode in (0, 4), (args, p.returncode, p.stderr)
    rc("start", "cc-race")
    info = rc.inspect("cc-race")
    assert info["status"] == "running" and proc_alive(info["pid"])
