"""Test helper: busybox bundles run by the real runc, with a spec fragment merged in.

Plays the manager's part the tests need: merge a network/hook fragment into config.json,
``runc create`` + ``start``, and after ``runc delete`` run the poststop hooks through
``richcontainer.hookrun`` (the manager keeps them out of config.json, like podman).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for imagecache

from imagecache import busybox_rootfs  # noqa: E402

from richcontainer import hookrun  # noqa: E402

RUNC = "runc"
TEST_TABLE = "rctest"  # nft table of the tests: never the real "richcontainer" one
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"]


def make_rootfs(dest: Path) -> Path:
    """A busybox rootfs with the /etc files that network fragments bind-mount over."""
    busybox_rootfs(dest)
    for n in ("hosts", "resolv.conf", "hostname"):
        (dest / "etc" / n).touch()
    (dest / "www").mkdir(exist_ok=True)
    (dest / "www/index.html").write_text("hello from the container\n")
    return dest


def merge_fragment(spec: dict, frag: dict) -> dict:
    """Merge a networks.spec_fragment()/hooks fragment into SPEC (what the manager does)."""
    linux = spec.setdefault("linux", {})
    if "namespaces" in frag:
        ns = [n for n in linux.get("namespaces", []) if n["type"] != "network"]
        linux["namespaces"] = ns + frag["namespaces"]
    for stage, hooks in frag.get("hooks", {}).items():
        if hooks:
            spec.setdefault("hooks", {}).setdefault(stage, []).extend(hooks)
    spec.setdefault("annotations", {}).update(frag.get("annotations", {}))
    spec["mounts"] = spec.get("mounts", []) + frag.get("mounts", [])
    if frag.get("hostname"):
        spec["hostname"] = frag["hostname"]
    return spec


class Container:
    """One runc container in its own bundle dir, under the test's runc --root."""

    def __init__(self, runc_root: Path, bundle: Path, cid: str, rootfs: Path, args: list[str]) -> None:
        self.runc_root, self.bundle, self.id = runc_root, bundle, cid
        self.poststop: list[dict] = []
        self.poststart: list[dict] = []
        self.poststart_results: list[hookrun.HookResult] = []
        self.poststop_results: list[hookrun.HookResult] = []
        self.created = False
        bundle.mkdir(parents=True, exist_ok=True)
        subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True, timeout=30)
        spec = json.loads((bundle / "config.json").read_text())
        spec["root"] = {"path": str(rootfs), "readonly": False}
        spec["process"].update(terminal=False, args=args)
        for k in ("bounding", "effective", "permitted", "ambient"):
            spec["process"]["capabilities"][k] = list(CAPS)
        spec["process"].pop("rlimits", None)  # no CAP_SYS_RESOURCE on this host
        self.spec = spec

    def runc(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([RUNC, "--root", str(self.runc_root), *args], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"runc {' '.join(args)}: {p.stderr.strip()}")
        return p

    def apply(self, frag: dict) -> None:
        merge_fragment(self.spec, frag)
        self.poststop += frag.get("poststop", [])
        self.poststart += frag.get("poststart", [])

    def create(self) -> subprocess.CompletedProcess:
        """Write config.json and ``runc create`` (raises with runc's stderr on failure)."""
        (self.bundle / "config.json").write_text(json.dumps(self.spec, indent=1))
        self.created = True
        logpath = self.bundle / "console.log"
        with open(logpath, "ab") as log:  # never a pipe: the container keeps its stdio open
            p = subprocess.run([RUNC, "--root", str(self.runc_root), "create", "--bundle", str(self.bundle),
                                self.id], stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=120)
        if p.returncode != 0:
            tail = logpath.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"runc create {self.id}: " + " | ".join(tail))
        return p

    def start(self) -> None:
        """``runc start``, then the poststart hooks the manager keeps (their failure only warns)."""
        self.runc("start", self.id)
        if self.poststart:
            state = hookrun.oci_state(self.id, str(self.bundle), "running", self.pid(),
                                      self.spec.get("annotations", {}))
            self.poststart_results = hookrun.run_hooks(self.poststart, state, "poststart",
                                                       stop_on_error=False, cwd=str(self.bundle))

    def run(self) -> None:
        self.create()
        self.start()

    def exec(self, *argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        return self.runc("exec", self.id, *argv, timeout=timeout, check=check)

    def pid(self) -> int:
        return json.loads(self.runc("state", self.id).stdout)["pid"]

    def remove(self) -> list[hookrun.HookResult]:
        """``runc delete -f`` then the poststop hooks (also after a failed create). Idempotent."""
        if not self.created:
            return []
        self.runc("delete", "-f", self.id, check=False)
        state = hookrun.oci_state(self.id, str(self.bundle), annotations=self.spec.get("annotations", {}))
        self.poststop_results = hookrun.run_hooks(self.poststop, state, "poststop", stop_on_error=False,
                                                  cwd=str(self.bundle))
        self.created = False
        return self.poststop_results


def link_names() -> set[str]:
    """Links that richcontainer names (bridges rc-*, veths rcv*): others may come and go on a
    shared host while the tests run."""
    return {n for n in os.listdir("/sys/class/net") if n.startswith(("rc-", "rcv"))}


def nft_ruleset(table: str = TEST_TABLE) -> str:
    """The tests' nft table as text ('' when absent); other tables are not ours to compare."""
    return subprocess.run(["nft", "list", "table", "inet", table], capture_output=True, text=True,
                          timeout=30).stdout


def mountinfo(under: str) -> list[str]:
    """Mount points below UNDER in this mount namespace (the host's others are not ours)."""
    with open("/proc/self/mountinfo") as f:
        return sorted(p for p in (line.split()[4] for line in f) if p.startswith(under))
