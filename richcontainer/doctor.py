"""`doctor NAME`: why a systemd container is degraded, unit by unit, and what to change."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

# systemd's exec status codes (systemd.exec(5), "Process exit codes") -> what to change here.
ADVICE = {
    200: "a WorkingDirectory= is missing in the image: create it or drop the setting",
    203: "the unit's program is not in the image: install its package with --include, or mask the unit",
    214: "the unit sets a scheduling policy: add --cap-add SYS_NICE, or override CPUSchedulingPolicy= in a drop-in",
    217: "the unit's User= does not exist in the image",
    218: "the unit asks for capabilities the container does not have: add them with --cap-add, or drop "
         "CapabilityBoundingSet=/AmbientCapabilities= in a drop-in",
    226: "the unit uses namespacing (PrivateTmp=, ProtectSystem=, ProtectHome=, PrivateDevices=...): add "
         "--cap-add SYS_ADMIN, or a drop-in turning those settings off",
    228: "the unit uses a seccomp filter the container cannot stack: add a drop-in with SystemCallFilter=",
    233: "the unit sets a realtime or nice level: add --cap-add SYS_NICE, or drop Nice=/IOSchedulingClass=",
    236: "the unit binds an AF_UNIX socket it cannot create: check its RuntimeDirectory=",
    242: "the unit's LoadCredential= needs the credentials service: drop it in a drop-in",
}
HARDWARE_HINT = ("the unit needs hardware or the host kernel (udev, VTs, clocks, modules): it can never work "
                 "in a container — mask it (systemctl mask UNIT)")
HARDWARE_WORDS = ("udev", "getty@tty", "modprobe", "hwclock", "timesyncd", "remount-fs", "binfmt", "sysctl")


@dataclass
class Finding:
    unit: str
    result: str
    status: int | None
    journal: list[str]
    advice: str


def _exec(argv_prefix: list[str], *cmd: str) -> str:
    p = subprocess.run([*argv_prefix, *cmd], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    return p.stdout


def diagnose(exec_prefix: list[str]) -> tuple[str, list[Finding]]:
    """EXEC_PREFIX runs a command inside the container (runtime exec argv without the command)."""
    state = _exec(exec_prefix, "systemctl", "is-system-running").strip() or "unknown"
    units = [line.split()[0] for line in _exec(exec_prefix, "systemctl", "--failed", "--plain", "--no-legend",
                                               "--no-pager").splitlines() if line.split()]
    findings = []
    for unit in units:
        props = dict(line.split("=", 1) for line in _exec(
            exec_prefix, "systemctl", "show", "-p", "Result,ExecMainStatus,ExecMainCode", unit).splitlines() if "=" in line)
        status = int(props["ExecMainStatus"]) if props.get("ExecMainStatus", "").isdigit() else None
        journal = _exec(exec_prefix, "journalctl", "-u", unit, "-n", "5", "--no-pager", "-o", "cat").splitlines()
        if status in ADVICE:
            advice = ADVICE[status]
        elif any(w in unit for w in HARDWARE_WORDS):
            advice = HARDWARE_HINT
        elif status:
            advice = f"the program exited with status {status}: see its journal lines above"
        else:
            advice = f"result {props.get('Result', '?')}: see its journal lines above"
        findings.append(Finding(unit, props.get("Result", "?"), status, journal[-5:], advice))
    return state, findings
