"""OCI hooks through the real runc: Podman-format files, every stage in order, failing hooks."""

from __future__ import annotations

import json
import os

import pytest
import rcbundle

from hooks import ipam
from richcontainer import networks
from richcontainer.hookrun import run_hooks
from richcontainer.ocihooks import load_hook_dirs, select_hooks, spec_hooks

pytestmark = pytest.mark.integration


def recorder(logdir, stage: str) -> dict:
    """A hook that appends STAGE to LOGDIR/log and keeps the state it got on stdin.

    LOGDIR is bind-mounted at the same path in the container, so hooks running inside
    (startContainer) and outside write the same file.
    """
    return {"path": "/bin/sh", "args": ["sh", "-c", f'echo "$0" >> {logdir}/log; /bin/cat > {logdir}/$0.json',
                                        stage], "timeout": 10}


def apply_hooks(c: rcbundle.Container, hooks: dict[str, list[dict]], logdir) -> None:
    """What the manager does: spec hooks into config.json, poststart and poststop kept for later.

    poststart is run by the manager after ``runc start``: runc < 1.2 runs it at ``create``.
    """
    c.apply({"hooks": spec_hooks(hooks, runtime_poststart=False), "poststop": hooks.get("poststop", []),
             "poststart": hooks.get("poststart", []),
             "mounts": [{"destination": str(logdir), "type": "bind", "source": str(logdir),
                         "options": ["rbind", "rw"]}]})


def test_podman_format_hook_runs_only_for_matching_containers(containers, tmp_path):
    hooksd, logdir = tmp_path / "hooks.d", tmp_path / "rec"
    hooksd.mkdir()
    logdir.mkdir()
    # exactly as one would drop it in /usr/share/containers/oci/hooks.d for podman
    doc = {"version": "1.0.0",
           "hook": {"path": "/bin/sh", "args": ["sh", "-c", f'/bin/cat > {logdir}/"$0".json', "gpu"]},
           "when": {"annotations": {"^com\\.example\\.gpu$": "^yes$"}},
           "stages": ["prestart"]}
    (hooksd / "50-gpu.json").write_text(json.dumps(doc))
    files = load_hook_dirs([str(hooksd)])
    ran = {}
    for name, ann in (("match", {"com.example.gpu": "yes"}), ("other", {"com.example.gpu": "yesno"})):
        c = containers(net=None)
        c.spec["annotations"] = dict(ann)
        hooks = select_hooks(files, ann, c.spec["process"]["args"][0], False)
        hooks["createRuntime"] = [dict(h, args=[*h["args"][:-1], name]) for h in hooks["createRuntime"]]
        apply_hooks(c, hooks, logdir)
        c.run()
        ran[name] = (logdir / f"{name}.json").exists()
        if ran[name]:
            state = json.loads((logdir / f"{name}.json").read_text())
            assert state["id"] == c.id and state["status"] == "creating" and state["pid"] > 0
            assert state["annotations"]["com.example.gpu"] == "yes"
    assert ran == {"match": True, "other": False}


def test_all_five_stages_run_in_order(containers, tmp_path):
    logdir = tmp_path / "rec"
    logdir.mkdir()
    stages = ("createRuntime", "createContainer", "startContainer", "poststart", "poststop")
    c = containers(net=None)
    apply_hooks(c, {s: [recorder(logdir, s)] for s in stages}, logdir)
    c.create()
    assert (logdir / "log").read_text().split() == ["createRuntime", "createContainer"]
    c.start()
    c.runc("kill", c.id, "KILL")
    results = c.remove()
    assert [r.exit_status for r in results] == [0]
    assert (logdir / "log").read_text().split() == list(stages)
    assert json.loads((logdir / "poststop.json").read_text())["status"] == "stopped"
    assert json.loads((logdir / "startContainer.json").read_text())["id"] == c.id


def test_failing_create_runtime_hook_leaves_nothing_behind(containers, netroot, tmp_path):
    networks.create_network(str(netroot), "rcfail", "10.213.98.0/24")
    lease_file = ipam.lease_path(networks.lease_dir(str(netroot)), "rcfail")
    before = (rcbundle.link_names(), rcbundle.nft_ruleset(), rcbundle.mountinfo(str(tmp_path)), os.path.exists(lease_file))
    c = containers(net="rcfail", name="doomed", ports=["18084:80"])
    # the network hook runs first and succeeds; then this one fails
    c.apply({"hooks": {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no GPU here >&2; exit 7"]}]}})
    with pytest.raises(RuntimeError, match="no GPU here"):
        c.create()
    c.remove()  # the manager's cleanup after a failed start: runc delete -f, then poststop hooks
    assert c.runc("list", "-q").stdout.split() == []
    assert not os.path.exists(lease_file)
    assert (rcbundle.link_names(), rcbundle.nft_ruleset(), rcbundle.mountinfo(str(tmp_path)), os.path.exists(lease_file)) == before


def test_timed_out_hook_aborts_the_start(containers, tmp_path):
    c = containers(net=None)
    c.apply({"hooks": {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}})
    with pytest.raises(RuntimeError, match="timed out|timeout|deadline|signal: killed"):
        c.create()
    c.remove()
    assert c.runc("list", "-q").stdout.split() == []


def test_poststop_failure_is_reported_not_raised(containers, tmp_path):
    c = containers(net=None)
    c.apply({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "echo cleanup failed >&2; exit 2"]},
                          {"path": "/bin/true"}]})
    c.run()
    results = c.remove()
    assert [(r.exit_status, r.stderr) for r in results] == [(2, "cleanup failed\n"), (0, "")]
    again = run_hooks([{"path": "/bin/true"}], {"id": c.id, "status": "stopped"}, "poststop")
    assert again[0].ok
