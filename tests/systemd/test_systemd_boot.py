"""systemd and sysvinit guests as PID 1, without --privileged (issue: rich containers)."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.integration
FULL_CAPS = 0x1FFFFFFFFFF


def boot(rc, image: str, name: str, *extra: str) -> None:
    rc("run", "-d", "--name", name, "--init", "systemd", *extra, image)
    state = rc("exec", name, "systemctl", "is-system-running", "--wait", check=False, timeout=120).stdout.strip()
    failed = rc("exec", name, "systemctl", "--failed", "--plain", "--no-legend", "--no-pager").stdout.strip()
    assert state == "running", f"{image}: is-system-running says {state!r}; failed units:\n{failed}"
    assert failed == ""


@pytest.mark.parametrize("suite", ["bullseye", "bookworm", "trixie"])
def test_systemd_guest_reaches_running_without_privileged(rc, rich_image, suite):
    image = rich_image(suite)
    boot(rc, image, f"sd-{suite}")
    cap_eff = rc("exec", f"sd-{suite}", "grep", "CapEff", "/proc/1/status").stdout.split()[1]
    assert int(cap_eff, 16) != FULL_CAPS and int(cap_eff, 16) & (1 << 21) == 0  # no CAP_SYS_ADMIN
    for unit in ("ssh", "cron", "systemd-journald", "dbus", "systemd-logind"):
        assert rc("exec", f"sd-{suite}", "systemctl", "is-active", unit, check=False).stdout.strip() == "active", unit
    info = rc.inspect(f"sd-{suite}")
    assert info["config"]["privileged"] is False
    assert "systemd-udevd.service" in info["masked_units"]
    assert "systemd-gpt-auto-generator" in info["masked_units"]  # block-device generators too
    assert rc("exec", f"sd-{suite}", "readlink", "/etc/systemd/system-generators/systemd-cryptsetup-generator"
              ).stdout.strip() == "/dev/null"
    env1 = rc("exec", f"sd-{suite}", "cat", "/proc/1/environ").stdout.split("\0")
    assert "container=richcontainer" in env1 and any(e.startswith("container_uuid=") for e in env1)


def test_stop_is_clean_fast_and_machine_id_survives_restart(rc, rich_image):
    image = rich_image("bookworm")
    boot(rc, image, "sd-stop")
    mid = rc("exec", "sd-stop", "cat", "/etc/machine-id").stdout.strip()
    assert len(mid) == 32
    t0 = time.monotonic()
    rc("stop", "sd-stop")
    took = time.monotonic() - t0
    assert took < 5, f"stop took {took:.2f}s"
    st = rc.inspect("sd-stop")
    assert st["status"] == "exited" and st["exit_code"] == 0  # systemd exits 0 after a clean shutdown
    rc("start", "sd-stop")
    assert rc("exec", "sd-stop", "systemctl", "is-system-running", "--wait", check=False).stdout.strip() == "running"
    assert rc("exec", "sd-stop", "cat", "/etc/machine-id").stdout.strip() == mid
    # each start is its own boot (a fresh boot ID, as LXC gives), so `journalctl -b -1` is the last run
    previous = rc("exec", "sd-stop", "journalctl", "--no-pager", "-o", "cat", "-b", "-1").stdout
    assert "Reached target shutdown.target" in previous, "the previous boot's clean shutdown is not in the journal"
    assert "Failed unmounting" not in previous  # the runtime's mounts are kept out of shutdown's unmounting
    assert "Reached target multi-user.target" in rc("exec", "sd-stop", "journalctl", "--no-pager", "-o", "cat",
                                                    "-b", "0").stdout, "no later boot after the shutdown"
    boot_id = rc("exec", "sd-stop", "cat", "/proc/sys/kernel/random/boot_id").stdout.strip()
    with open("/proc/sys/kernel/random/boot_id") as f:
        assert len(boot_id) == 36 and boot_id != f.read().strip()
    rc("restart", "sd-stop")
    assert rc("exec", "sd-stop", "systemctl", "is-system-running", "--wait", check=False).stdout.strip() == "running"
    assert rc("exec", "sd-stop", "cat", "/etc/machine-id").stdout.strip() == mid
    assert rc("exec", "sd-stop", "cat", "/proc/sys/kernel/random/boot_id").stdout.strip() != boot_id
    boots = rc("exec", "sd-stop", "journalctl", "--list-boots", "--no-pager").stdout.strip().splitlines()[1:]
    assert len(boots) == 3, boots
    p = rc("exec", "sd-stop", "sh", "-c", "echo x > /proc/sys/kernel/random/boot_id", check=False)
    assert p.returncode != 0  # read-only, like the rest of /proc/sys


def test_command_after_image_runs_as_a_service_with_logs(rc, rich_image):
    image = rich_image("bookworm")
    rc("run", "-d", "--name", "sd-app", "--init", "systemd", "-e", "GREETING=hello-from-app", image,
       "/bin/sh", "-c", 'echo "$GREETING"; exec sleep infinity')
    assert rc("exec", "sd-app", "systemctl", "is-system-running", "--wait", check=False).stdout.strip() == "running"
    assert rc("exec", "sd-app", "systemctl", "is-active", "richcontainer-app.service").stdout.strip() == "active"
    deadline = time.monotonic() + 10
    while "hello-from-app" not in rc("logs", "sd-app").stdout:
        assert time.monotonic() < deadline, "the service's output never reached `logs`"
        time.sleep(0.2)


def test_initscript_runs_before_init_with_the_oci_state(rc, rich_image, tmp_path):
    image = rich_image("bookworm")
    script = tmp_path / "pre.sh"
    script.write_text("#!/bin/sh\ncat > /run/initscript.state\necho ran > /run/initscript.ran\n")
    script.chmod(0o755)
    rc("run", "-d", "--name", "sd-init", "--init", "systemd", "-v", f"{tmp_path}:/opt/rc:ro",
       "--initscript", "/opt/rc/pre.sh", image)
    state = json.loads(rc("exec", "sd-init", "cat", "/run/initscript.state").stdout)
    assert state["id"] == rc.inspect("sd-init")["id"] and state["status"] == "created"


def test_sbin_init_boots_sysvinit_and_stops(rc, sysv_image):
    rc("run", "-d", "--name", "sysv", "--init", "sbin-init", sysv_image)
    deadline = time.monotonic() + 30
    while rc("exec", "sysv", "pidof", "cron", check=False).returncode != 0:
        assert time.monotonic() < deadline, "cron never started under sysvinit"
        time.sleep(0.3)
    assert rc("exec", "sysv", "cat", "/proc/1/comm").stdout.strip() == "init"
    t0 = time.monotonic()
    rc("stop", "-t", "20", "sysv")
    assert time.monotonic() - t0 < 20, "sysvinit did not halt on SIGPWR"
    assert rc.inspect("sysv")["status"] == "exited"


def test_doctor_names_the_failed_unit_and_the_fix(rc, rich_image):
    image = rich_image("bookworm")
    boot(rc, image, "sd-doc")
    rc("exec", "sd-doc", "sh", "-c", "printf '[Service]\\nExecStart=/nonexistent/bin\\n' > /etc/systemd/system/broken.service"
       " && systemctl daemon-reload && (systemctl start broken.service || true)")
    out = rc("doctor", "sd-doc").stdout
    assert "broken.service" in out and "203" in out and "not in the image" in out
    assert "degraded" in out
