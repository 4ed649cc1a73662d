"""oci-hooks(5) files: load, validate and match hooks written for Podman and CRI-O.

Pure stdlib and cheap to import. Format 1.0.0 (and the legacy 0.1.0 one) as documented in
containers/common's oci-hooks.5.md, with the behaviour the reference code has in practice:

* only ``*.json`` files are read; a later directory replaces an earlier file of the same name;
* hooks are ordered by lower-cased file name;
* regexes are unanchored searches (``re.search``), as Go's ``MatchString``: anchor with ``^...$``;
* ``when.always: false`` and ``when.hasBindMounts: false`` never match; an empty ``when`` never matches;
* the ``prestart`` stage is injected as ``createRuntime`` (the deprecated array stays empty);
* a hook whose ``path`` does not exist is skipped silently (as ``hooks.New`` does).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

#: Stages of the OCI runtime spec, in the order they run.
STAGES: tuple[str, ...] = ("createRuntime", "createContainer", "startContainer", "poststart", "poststop")
#: Every stage name a hook file may list (``prestart`` is mapped to ``createRuntime``).
KNOWN_STAGES: frozenset[str] = frozenset(STAGES) | {"prestart"}
#: Stages that run before the container's process starts: a failure there aborts the start.
FATAL_STAGES: frozenset[str] = frozenset({"prestart", "createRuntime", "createContainer", "startContainer"})

DEFAULT_HOOK_DIRS: tuple[str, ...] = ("/usr/share/richcontainer/hooks.d", "/etc/richcontainer/hooks.d")


class HookError(ValueError):
    """A hook file or ``--hook`` flag is invalid; the message is one line naming the source."""


@dataclass(frozen=True)
class HookFile:
    """One parsed hook file."""

    name: str  # file name (the key that later directories override)
    source: str  # full path, for messages
    hook: dict  # OCI hook: path, args?, env?, timeout?
    stages: tuple[str, ...]
    always: bool | None = None
    annotations: tuple[tuple[re.Pattern, re.Pattern], ...] = ()
    commands: tuple[re.Pattern, ...] = ()
    has_bind_mounts: bool | None = None
    legacy_or: bool = False  # 0.1.0 files match when any condition holds
    has_when: bool = True
    extra: dict = field(default_factory=dict)

    def matches(self, annotations: dict[str, str], command: str, has_bind_mounts: bool) -> bool:
        """True if this hook applies to a container with these properties."""
        if self.legacy_or:
            return _match_legacy(self, annotations, command, has_bind_mounts)
        if not self.has_when:
            return False
        if self.always is not None and not self.always:
            return False
        if self.has_bind_mounts is not None:
            if not self.has_bind_mounts or not has_bind_mounts:
                return False
        for key_re, val_re in self.annotations:
            if not any(key_re.search(k) and val_re.search(v) for k, v in annotations.items()):
                return False
        if self.commands:
            if not command:
                raise HookError(f"{self.source}: cannot match 'commands' against an empty process.args")
            return any(c.search(command) for c in self.commands)
        return True


def _match_legacy(h: HookFile, annotations: dict[str, str], command: str, hbm: bool) -> bool:
    if h.has_bind_mounts and hbm:
        return True
    for key_re, val_re in h.annotations:
        if any(key_re.search(k) and val_re.search(v) for k, v in annotations.items()):
            return True
    return bool(command) and any(c.search(command) for c in h.commands)


def _compile(pattern: object, source: str, what: str) -> re.Pattern:
    if not isinstance(pattern, str):
        raise HookError(f"{source}: {what} must be a string regex, got {type(pattern).__name__}")
    try:
        return re.compile(pattern)
    except re.error as e:
        raise HookError(f"{source}: invalid regex {pattern!r} in {what}: {e}") from None


def _check_hook(hook: object, source: str) -> dict:
    if not isinstance(hook, dict):
        raise HookError(f"{source}: 'hook' must be an object")
    path = hook.get("path")
    if not isinstance(path, str) or not path:
        raise HookError(f"{source}: missing required 'hook.path'")
    if not os.path.isabs(path):
        raise HookError(f"{source}: 'hook.path' must be absolute: {path!r}")
    out: dict = {"path": path}
    if "args" in hook:
        if not isinstance(hook["args"], list) or not all(isinstance(a, str) for a in hook["args"]):
            raise HookError(f"{source}: 'hook.args' must be a list of strings")
        out["args"] = list(hook["args"])
    if "env" in hook:
        env = hook["env"]
        if not isinstance(env, list) or not all(isinstance(e, str) and "=" in e for e in env):
            raise HookError(f"{source}: 'hook.env' must be a list of KEY=VALUE strings")
        out["env"] = list(env)
    if "timeout" in hook:
        t = hook["timeout"]
        if isinstance(t, bool) or not isinstance(t, int) or t <= 0:
            raise HookError(f"{source}: 'hook.timeout' must be a positive integer (seconds)")
        out["timeout"] = t
    return out


def _check_stages(stages: object, source: str) -> tuple[str, ...]:
    if not isinstance(stages, list) or not stages:
        raise HookError(f"{source}: 'stages' must be a non-empty list")
    for s in stages:
        if s not in KNOWN_STAGES:
            raise HookError(f"{source}: unknown stage {s!r} (known: {', '.join(sorted(KNOWN_STAGES))})")
    return tuple(stages)


def parse_hook_file(data: object, source: str) -> HookFile:
    """Validate decoded JSON of one hook file; raise HookError naming SOURCE."""
    if not isinstance(data, dict):
        raise HookError(f"{source}: top level must be a JSON object")
    name = os.path.basename(source)
    version = data.get("version")
    if version is None or version == "0.1.0":
        return _parse_legacy(data, source, name)
    if version != "1.0.0":
        raise HookError(f"{source}: unsupported version {version!r} (expected '1.0.0')")
    hook = _check_hook(data.get("hook"), source)
    stages = _check_stages(data.get("stages"), source)
    when = data.get("when")
    if when is None:
        raise HookError(f"{source}: missing required 'when'")
    if not isinstance(when, dict):
        raise HookError(f"{source}: 'when' must be an object")
    always = when.get("always")
    if always is not None and not isinstance(always, bool):
        raise HookError(f"{source}: 'when.always' must be true or false")
    hbm = when.get("hasBindMounts")
    if hbm is not None and not isinstance(hbm, bool):
        raise HookError(f"{source}: 'when.hasBindMounts' must be true or false")
    ann = when.get("annotations") or {}
    if not isinstance(ann, dict):
        raise HookError(f"{source}: 'when.annotations' must be an object of regex: regex")
    anns = tuple((_compile(k, source, "when.annotations key"), _compile(v, source, "when.annotations value"))
                 for k, v in ann.items())
    cmds = when.get("commands") or []
    if not isinstance(cmds, list):
        raise HookError(f"{source}: 'when.commands' must be a list of regexes")
    commands = tuple(_compile(c, source, "when.commands") for c in cmds)
    has_when = any(k in when for k in ("always", "annotations", "commands", "hasBindMounts"))
    return HookFile(name=name, source=source, hook=hook, stages=stages, always=always,
                    annotations=anns, commands=commands, has_bind_mounts=hbm, has_when=has_when)


def _parse_legacy(data: dict, source: str, name: str) -> HookFile:
    """0.1.0: {hook, arguments, stages|stage, cmds|cmd, annotations: [..], hasbindmounts}; OR semantics."""
    path = data.get("hook")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise HookError(f"{source}: legacy hook needs an absolute 'hook' path")
    args = data.get("arguments") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise HookError(f"{source}: 'arguments' must be a list of strings")
    stages = _check_stages(data.get("stages", data.get("stage")), source)
    cmds = data.get("cmds", data.get("cmd")) or []
    anns = data.get("annotations") or []
    if not isinstance(cmds, list) or not isinstance(anns, list):
        raise HookError(f"{source}: 'cmds' and 'annotations' must be lists of regexes")
    commands = tuple(_compile(c, source, "cmds") for c in cmds)
    annotations = ()
    if anns:
        annotations = ((re.compile(".*"), _compile("|".join(anns), source, "annotations")),)
    hbm = data.get("hasbindmounts")
    return HookFile(name=name, source=source, hook={"path": path, "args": [path, *args]}, stages=stages,
                    annotations=annotations, commands=commands, has_bind_mounts=bool(hbm),
                    legacy_or=True)


def load_hook_dirs(dirs: list[str] | tuple[str, ...] = DEFAULT_HOOK_DIRS) -> list[HookFile]:
    """Read every ``*.json`` in DIRS (missing dirs are fine); later dirs win by file name.

    Returns hook files sorted by lower-cased file name. Raises HookError on the first bad file.
    """
    by_name: dict[str, HookFile] = {}
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            continue
        except OSError as e:
            raise HookError(f"{d}: cannot read hook directory: {e.strerror}") from None
        for n in names:
            if not n.endswith(".json"):
                continue
            src = os.path.join(d, n)
            if os.path.isdir(src):
                continue
            try:
                with open(src, encoding="utf-8") as f:
                    data = json.load(f)
            except json.JSONDecodeError as e:
                raise HookError(f"{src}: invalid JSON: {e}") from None
            except OSError as e:
                raise HookError(f"{src}: cannot read: {e.strerror}") from None
            hf = parse_hook_file(data, src)
            if not os.path.exists(hf.hook["path"]):
                by_name.pop(n, None)  # a missing hook program is skipped, but still masks
                continue
            by_name[n] = hf
    return sorted(by_name.values(), key=lambda h: h.name.lower())


def select_hooks(hookfiles: list[HookFile], annotations: dict[str, str], command: str,
                 has_bind_mounts: bool) -> dict[str, list[dict]]:
    """Hooks that apply, per OCI stage, in order (``prestart`` lands in ``createRuntime``).

    COMMAND is ``process.args[0]`` of the container; HAS_BIND_MOUNTS is true when the user asked
    for bind mounts (volumes), not for the default mounts.
    """
    out: dict[str, list[dict]] = {s: [] for s in STAGES}
    for hf in hookfiles:
        if not hf.matches(annotations, command, has_bind_mounts):
            continue
        seen: set[str] = set()
        for s in hf.stages:
            stage = "createRuntime" if s == "prestart" else s
            if stage in seen:
                continue
            seen.add(stage)
            out[stage].append(dict(hf.hook))
    return out


def parse_hook_flag(s: str) -> tuple[str, dict]:
    """Parse ``--hook STAGE=PATH[,ARG...]`` into (stage, OCI hook dict); prestart -> createRuntime.

    ``args[0]`` is PATH, so ``--hook poststart=/bin/echo,hi`` runs ``/bin/echo hi``. An optional
    ``@SECONDS`` after the stage sets the timeout: ``--hook createRuntime@5=/usr/bin/x``.
    """
    stage, sep, rest = s.partition("=")
    if not sep or not rest:
        raise HookError(f"--hook {s!r}: expected STAGE=PATH[,ARG...]")
    timeout = None
    if "@" in stage:
        stage, _, t = stage.partition("@")
        if not t.isdigit() or int(t) <= 0:
            raise HookError(f"--hook {s!r}: timeout after '@' must be a positive integer")
        timeout = int(t)
    if stage not in KNOWN_STAGES:
        raise HookError(f"--hook {s!r}: unknown stage {stage!r} (use one of {', '.join(STAGES)})")
    parts = rest.split(",")
    path = parts[0]
    if not os.path.isabs(path):
        raise HookError(f"--hook {s!r}: PATH must be absolute")
    hook: dict = {"path": path, "args": [path, *parts[1:]]}
    if timeout:
        hook["timeout"] = timeout
    return ("createRuntime" if stage == "prestart" else stage), hook


def merge_hooks(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Concatenate per-stage hook lists, keeping order (e.g. files, then network, then --hook)."""
    out: dict[str, list[dict]] = {s: [] for s in STAGES}
    for p in parts:
        for stage, hooks in p.items():
            out.setdefault(stage, []).extend(hooks)
    return out


def spec_hooks(hooks: dict[str, list[dict]], *, runtime_prestart: bool = False,
               runtime_poststart: bool = True) -> dict[str, list[dict]]:
    """The ``hooks`` object for config.json: every stage but poststop (the manager runs that).

    RUNTIME_PRESTART puts createRuntime hooks into the deprecated ``prestart`` array instead,
    for runtimes that do not know createRuntime. RUNTIME_POSTSTART=False leaves poststart out:
    runc before 1.2 runs poststart hooks during ``runc create`` (before startContainer), so the
    manager should then run them itself after ``runc start`` succeeds.
    """
    out: dict[str, list[dict]] = {}
    stages = ["createRuntime", "createContainer", "startContainer"] + (["poststart"] if runtime_poststart else [])
    for stage in stages:
        if hooks.get(stage):
            key = "prestart" if (runtime_prestart and stage == "createRuntime") else stage
            out.setdefault(key, []).extend(hooks[stage])
    return out
