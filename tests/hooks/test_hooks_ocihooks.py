"""oci-hooks(5) parsing and matching, including the format's traps (pure logic, no runtime)."""

from __future__ import annotations

import json
import os

import pytest

from richcontainer.ocihooks import (HookError, load_hook_dirs, parse_hook_flag, select_hooks, spec_hooks,
                                    merge_hooks)

TRUE = "/bin/true"


def write(d, name: str, doc: dict | str) -> str:
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def hook(when: dict | None, stages=("createRuntime",), path: str = TRUE, **extra) -> dict:
    doc = {"version": "1.0.0", "hook": {"path": path, **extra}, "stages": list(stages)}
    if when is not None:
        doc["when"] = when
    return doc


def selected(tmp_path, doc, annotations=None, command="/sbin/init", binds=False, stage="createRuntime"):
    write(tmp_path, "h.json", doc)
    return select_hooks(load_hook_dirs([str(tmp_path)]), annotations or {}, command, binds)[stage]


def test_podman_file_matches_annotated_containers_only(tmp_path):
    doc = {"version": "1.0.0", "hook": {"path": TRUE, "args": ["true", "--x"], "env": ["A=1"], "timeout": 5},
           "when": {"annotations": {"^com\\.example\\.gpu$": "^(yes|true)$"}}, "stages": ["prestart", "poststop"]}
    write(tmp_path, "gpu.json", doc)
    files = load_hook_dirs([str(tmp_path)])
    hit = select_hooks(files, {"com.example.gpu": "yes", "other": "1"}, "/bin/sh", False)
    assert hit["createRuntime"] == [{"path": TRUE, "args": ["true", "--x"], "env": ["A=1"], "timeout": 5}]
    assert hit["poststop"] == hit["createRuntime"]
    miss = select_hooks(files, {"com.example.gpu": "no"}, "/bin/sh", False)
    assert all(not v for v in miss.values())


def test_unanchored_regexes_are_searches(tmp_path):
    # the trap: "example" also matches "com.example.gpu.extra" and "yes" matches "noyes"
    loose = hook({"annotations": {"example": "yes"}})
    assert selected(tmp_path, loose, {"com.example.gpu.extra": "noyes"})
    strict = hook({"annotations": {"^com\\.example$": "^yes$"}})
    assert not selected(tmp_path, strict, {"com.example.gpu.extra": "noyes"})
    assert selected(tmp_path, strict, {"com.example": "yes"})


@pytest.mark.parametrize("when, binds, expect", [
    ({"always": True}, False, True), ({"always": False}, False, False),
    ({"always": False, "commands": [".*"]}, False, False),
    ({"hasBindMounts": True}, True, True), ({"hasBindMounts": True}, False, False),
    ({"hasBindMounts": False}, False, False), ({"hasBindMounts": False}, True, False),
    ({}, False, False),
    ({"always": True, "annotations": {"^a$": "^1$"}}, False, False),  # AND of all keys
])
def test_false_values_and_empty_when(tmp_path, when, binds, expect):
    assert bool(selected(tmp_path, hook(when), binds=binds)) is expect


def test_commands_match_argv0_unanchored(tmp_path):
    doc = hook({"commands": [".*/init$"]})
    assert selected(tmp_path, doc, command="/sbin/init")
    assert not selected(tmp_path, doc, command="/sbin/initfoo")
    assert selected(tmp_path, hook({"commands": ["init"]}), command="/usr/lib/systemd/initfoo")
    with pytest.raises(HookError, match="empty process.args"):
        selected(tmp_path, doc, command="")


def test_prestart_is_injected_as_create_runtime(tmp_path):
    hooks = select_hooks([], {}, "x", False)
    assert "prestart" not in hooks
    write(tmp_path, "p.json", hook({"always": True}, stages=["prestart", "createRuntime", "poststart"]))
    got = select_hooks(load_hook_dirs([str(tmp_path)]), {}, "x", False)
    assert len(got["createRuntime"]) == 1 and len(got["poststart"]) == 1
    assert spec_hooks(got) == {"createRuntime": [{"path": TRUE}], "poststart": [{"path": TRUE}]}
    assert spec_hooks(got, runtime_prestart=True) == {"prestart": [{"path": TRUE}], "poststart": [{"path": TRUE}]}


def test_later_dir_wins_by_name_and_order_is_lowercase_name(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "x.json", hook({"always": True}, path="/bin/false"))
    write(b, "x.json", hook({"always": True}, path=TRUE))
    write(a, "B.json", hook({"always": True}, path="/bin/echo"))
    write(a, "a.json", hook({"always": True}, path="/bin/cat"))
    write(a, "notes.txt", "ignored")
    paths = [h["path"] for h in select_hooks(load_hook_dirs([str(a), str(b), str(tmp_path / "nope")]),
                                              {}, "x", False)["createRuntime"]]
    assert paths == ["/bin/cat", "/bin/echo", TRUE]


def test_missing_hook_program_is_skipped_and_masks(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "x.json", hook({"always": True}))
    write(b, "x.json", hook({"always": True}, path="/nonexistent/hook"))
    assert load_hook_dirs([str(a), str(b)]) == []


@pytest.mark.parametrize("doc, msg", [
    ("{not json", "invalid JSON"),
    ({"version": "2.0.0", "hook": {"path": TRUE}, "when": {"always": True}, "stages": ["poststop"]},
     "unsupported version"),
    (hook({"always": True}, stages=["prestop"]), "unknown stage 'prestop'"),
    (hook({"always": True}, stages=[]), "non-empty list"),
    (hook({"annotations": {"(": "x"}}), "invalid regex"),
    (hook({"commands": ["["]}), "invalid regex"),
    (hook({"always": "true"}), "must be true or false"),
    (hook(None), "missing required 'when'"),
    ({"version": "1.0.0", "hook": {"args": []}, "when": {"always": True}, "stages": ["poststop"]},
     "hook.path"),
    (hook({"always": True}, timeout=0), "positive integer"),
    (hook({"always": True}, env=["NOEQUALS"]), "KEY=VALUE"),
])
def test_invalid_files_name_the_file(tmp_path, doc, msg):
    write(tmp_path, "bad.json", doc)
    with pytest.raises(HookError, match=msg) as e:
        load_hook_dirs([str(tmp_path)])
    assert str(e.value).startswith(str(tmp_path / "bad.json"))
    assert "\n" not in str(e.value)


def test_legacy_0_1_0_or_semantics(tmp_path):
    doc = {"hook": TRUE, "arguments": ["--a"], "stages": ["prestart"], "cmds": ["^/bin/sh$"],
           "annotations": ["^gpu$"], "hasbindmounts": True}
    assert selected(tmp_path, doc, command="/bin/sh") == [{"path": TRUE, "args": [TRUE, "--a"]}]
    assert selected(tmp_path, doc, {"k": "gpu"}, command="/x")
    assert selected(tmp_path, doc, command="/x", binds=True)
    assert not selected(tmp_path, doc, {"k": "cpu"}, command="/x")


def test_parse_hook_flag():
    assert parse_hook_flag("poststart=/bin/echo,hi,there") == \
        ("poststart", {"path": "/bin/echo", "args": ["/bin/echo", "hi", "there"]})
    assert parse_hook_flag("prestart=/x") == ("createRuntime", {"path": "/x", "args": ["/x"]})
    assert parse_hook_flag("createContainer@5=/x")[1]["timeout"] == 5
    for bad, msg in [("poststart", "STAGE=PATH"), ("nope=/x", "unknown stage"), ("poststop=rel", "absolute"),
                     ("poststop@x=/x", "positive integer")]:
        with pytest.raises(HookError, match=msg):
            parse_hook_flag(bad)


def test_merge_hooks_keeps_order():
    m = merge_hooks({"createRuntime": [{"path": "/a"}]}, {"createRuntime": [{"path": "/b"}], "poststop": []})
    assert [h["path"] for h in m["createRuntime"]] == ["/a", "/b"]
