"""The hook runner with real processes: stdin state, exact env, timeout and SIGKILL."""

from __future__ import annotations

import json
import os
import time

from richcontainer.hookrun import oci_state, run_hook, run_hooks

SH = "/bin/sh"


def sh(script: str, **kw) -> dict:
    return {"path": SH, "args": ["sh", "-c", script], **kw}


def test_state_on_stdin_args_and_exact_env(tmp_path):
    out = tmp_path / "out"
    state = oci_state("c1", str(tmp_path), annotations={"a": "b"})
    r = run_hook(sh(f'/bin/cat > {out}; echo "$0|$FOO|${{HOME-unset}}" >> {out}.env', env=["FOO=bar"]),
                 state, "poststop")
    assert r.ok and r.exit_status == 0 and r.stage == "poststop" and r.path == SH
    assert json.loads(out.read_text()) == {"ociVersion": "1.0.2", "id": "c1", "status": "stopped",
                                           "bundle": str(tmp_path), "annotations": {"a": "b"}}
    assert (tmp_path / "out.env").read_text() == "sh|bar|unset\n"


def test_failure_keeps_stderr_tail_and_stops_the_chain(tmp_path):
    hooks = [sh("echo one >&2; exit 3"), sh(f"touch {tmp_path}/second")]
    res = run_hooks(hooks, oci_state("c", "/"), "createRuntime")
    assert len(res) == 1 and res[0].exit_status == 3 and res[0].stderr == "one\n" and not res[0].ok
    assert res[0].describe() == f"createRuntime hook {SH}: exit status 3: one"
    res = run_hooks(hooks, oci_state("c", "/"), "poststop", stop_on_error=False)
    assert [r.exit_status for r in res] == [3, 0] and (tmp_path / "second").exists()


def test_timeout_kills_the_hook_and_its_children(tmp_path):
    pidfile = tmp_path / "child"
    t0 = time.monotonic()
    r = run_hook(sh(f"/bin/sleep 30 & echo $! > {pidfile}; wait", timeout=1), oci_state("c", "/"), "poststop")
    assert r.timed_out and not r.ok and time.monotonic() - t0 < 5
    assert r.describe().endswith("timed out")
    child = int(pidfile.read_text())
    for _ in range(50):
        if not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the hook's child survived the timeout")


def test_hook_that_ignores_stdin_is_fine():
    big = oci_state("c", "/", annotations={f"k{i}": "v" * 100 for i in range(2000)})  # > pipe buffer
    r = run_hook({"path": "/bin/true"}, big, "poststop")
    assert r.ok


def test_missing_program_is_an_error_not_an_exception():
    r = run_hook({"path": "/nonexistent/hook"}, oci_state("c", "/"), "poststop")
    assert r.exit_status is None and "cannot run" in r.error and not r.ok
