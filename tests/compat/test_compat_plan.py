"""Planner matrix: host (EL6, EL7, hybrid, cgroup v2) x guest (init, systemd version, libc) x request."""

from __future__ import annotations

import json

import pytest
from compatfixtures import CENTOS5, CENTOS6, CENTOS7, DEBIAN12_SYSV, systemd_guest, tweak

from compat.errors import CompatError
from compat.model import ContainerRequest, GuestInfo
from compat.plan import LEGACY_FORCE, plan

REQ = ContainerRequest()
NONE = GuestInfo()


def refuse(req, facts, guest) -> str:
    with pytest.raises(CompatError) as info:
        plan(req, facts, guest)
    msg = info.value.message
    assert "\n" not in msg and msg == str(info.value)
    return msg


# --- backend and storage -------------------------------------------------------------------------

def test_v2_host_prefers_crun_and_keeps_everything(v2):
    p = plan(REQ, v2, NONE)
    assert (p.backend, p.runtime_path, p.storage) == ("crun", "/usr/bin/crun", "overlay")
    assert p.cgroupns and p.seccomp and p.pids_limit and p.memsw and p.cpu_quota
    assert p.warnings == () and p.extra_env == {}


def test_v2_host_without_crun_uses_runc(v2):
    facts = tweak(v2, runtimes={"runc": "/usr/bin/runc", "legacy": "/x/rclegacy.py"})
    assert plan(REQ, facts, NONE).backend == "runc"


def test_hybrid_host_uses_runc(hybrid):
    assert plan(REQ, hybrid, NONE).backend == "runc"


def test_el7_uses_runc_without_cgroupns(el7):
    p = plan(REQ, el7, NONE)
    assert p.backend == "runc" and p.storage == "overlay"
    assert p.cgroupns is False and p.seccomp is True and p.kernel_memory is False
    assert p.warnings == ("cgroup namespace missing (Linux 4.6): dropped, the guest sees host cgroup paths",)


def test_el7_runc_never_sets_kmem(el7):
    p = plan(ContainerRequest(kernel_memory=64 << 20), el7, NONE)
    assert p.kernel_memory is False
    assert any("kernel memory limit dropped" in w for w in p.warnings)


def test_el6_falls_back_to_legacy_and_copy(el6):
    p = plan(REQ, el6, CENTOS6)
    assert p.backend == "legacy" and p.runtime_path.endswith("rclegacy.py")
    assert p.storage == "copy" and not p.cgroupns and not p.seccomp and not p.pids_limit
    assert p.memsw is True  # EL6 has memsw
    assert p.warnings[0].startswith("runc cannot run here (missing unshare(CLONE_NEWPID) (Linux 3.8)")
    assert "overlayfs missing (Linux 3.18): rootfs is copied instead" in p.warnings


def test_el6_refuses_runc_explicitly(el6):
    facts = tweak(el6, runtimes={**el6.runtimes, "runc": "/usr/bin/runc"})
    msg = refuse(ContainerRequest(runtime="runc"), facts, CENTOS6)
    assert msg.startswith("runc cannot run on this host: missing unshare(CLONE_NEWPID) (Linux 3.8)")
    assert "use the legacy backend" in msg


def test_requested_runtime_not_installed(el7):
    assert refuse(ContainerRequest(runtime="crun"), el7, NONE) == "runtime crun is not installed on this host"


def test_unknown_runtime_and_storage(el7):
    assert "unknown runtime 'kata'" in refuse(ContainerRequest(runtime="kata"), el7, NONE)
    assert "unknown storage 'zfs'" in refuse(ContainerRequest(storage="zfs"), el7, NONE)


def test_no_backend_at_all(el6):
    facts = tweak(el6, features={"ns.pid.clone": False})
    msg = refuse(REQ, facts, CENTOS6)
    assert msg.startswith("no backend can run containers here: runc/crun need unshare(CLONE_NEWPID)")
    assert "the legacy backend needs clone(CLONE_NEWPID) (Linux 2.6.24)" in msg


def test_runc_not_installed_uses_legacy_with_warning(el7):
    facts = tweak(el7, runtimes={"legacy": "/x/rclegacy.py"})
    p = plan(REQ, facts, NONE)
    assert p.backend == "legacy"
    assert p.warnings[0] == "runc cannot run here (runc/crun not installed): using the legacy backend"


def test_overlay_requested_without_overlayfs(el6):
    assert refuse(ContainerRequest(storage="overlay"), el6, CENTOS6) == \
        "overlay storage requested but overlayfs missing (Linux 3.18)"


def test_overlay_without_d_type_copies(el7):
    facts = tweak(el7, features={"fs.d_type": False})
    p = plan(REQ, facts, NONE)
    assert p.storage == "copy"
    assert "storage filesystem lacks d_type (xfs needs ftype=1): rootfs is copied instead" in p.warnings
    assert "d_type" in refuse(ContainerRequest(storage="overlay"), facts, NONE)


def test_copy_storage_on_request(v2):
    assert plan(ContainerRequest(storage="copy"), v2, NONE).storage == "copy"


# --- soft drops ------------------------------------------------------------------------------------

def test_pids_limit_dropped_on_el6(el6):
    p = plan(ContainerRequest(pids_limit=100), el6, CENTOS6)
    assert p.pids_limit is False
    assert "pids cgroup controller missing (Linux 4.3): pids limit dropped" in p.warnings


def test_pids_limit_kept_on_el7(el7):
    p = plan(ContainerRequest(pids_limit=100), el7, NONE)
    assert p.pids_limit is True and not any("pids" in w for w in p.warnings)


def test_memsw_dropped_without_swapaccount(el7):
    facts = tweak(el7, features={"cgroup.memsw": False})
    p = plan(ContainerRequest(memory_limit=1 << 30, memory_swap=2 << 30), facts, NONE)
    assert p.memsw is False and p.memory_limit is True
    assert any("memsw" in w and "swapaccount=1" in w for w in p.warnings)


def test_cpu_quota_dropped_without_cfs_bandwidth(el6):
    facts = tweak(el6, features={"cgroup.cfs_quota": False})
    p = plan(ContainerRequest(cpu_quota=50000), facts, CENTOS6)
    assert p.cpu_quota is False
    assert "CFS bandwidth control missing (Linux 3.2): cpu quota dropped" in p.warnings


def test_seccomp_and_nnp_dropped_on_old_kernel(el7):
    facts = tweak(el7, features={"sec.seccomp_filter": False, "sec.no_new_privs": False})
    p = plan(ContainerRequest(no_new_privileges=True), facts, NONE)
    assert not p.seccomp and not p.no_new_privileges
    assert "seccomp-bpf missing (Linux 3.5): seccomp profile dropped" in p.warnings
    assert "PR_SET_NO_NEW_PRIVS missing (Linux 3.5): noNewPrivileges dropped" in p.warnings


def test_no_warning_for_features_not_requested(el7):
    p = plan(ContainerRequest(cgroupns=False, seccomp=False), el7, NONE)
    assert p.warnings == ()


def test_user_namespace_refused_on_el7(el7):
    msg = refuse(ContainerRequest(user_namespace=True), el7, NONE)
    assert msg.startswith("user namespace requested but user namespaces are missing")
    facts = tweak(el7, features={"ns.user.unshare": True})
    assert refuse(ContainerRequest(user_namespace=True), facts, NONE) == \
        "user namespace requested but user.max_user_namespaces is 0"


def test_user_namespace_refused_on_legacy(el6):
    assert "legacy backend does not support it" in refuse(ContainerRequest(user_namespace=True), el6, CENTOS6)


def test_user_namespace_on_v2(v2):
    assert plan(ContainerRequest(user_namespace=True), v2, NONE).user_namespace is True


# --- guest init vs host ----------------------------------------------------------------------------

def test_systemd_cannot_boot_on_el6(el6):
    msg = refuse(REQ, el6, systemd_guest(219, "centos", "7", "2.17"))
    assert msg.startswith("systemd 219 cannot boot on this host: kernel 2.6.32-754.35.1.el6.x86_64 lacks")
    assert msg.endswith("use a sysvinit or upstart guest")


@pytest.mark.parametrize("guest", [CENTOS6, CENTOS5], ids=["centos6-upstart", "centos5-sysvinit"])
def test_old_el_guests_run_on_el6(el6, guest):
    p = plan(REQ, el6, guest)
    assert p.backend == "legacy" and not any("vsyscall" in w for w in p.warnings)


def test_modern_glibc_refused_on_2_6_32(el6):
    msg = refuse(REQ, el6, DEBIAN12_SYSV)
    assert msg == ('debian 12 guest (glibc 2.36) needs Linux >= 3.2 ("FATAL: kernel too old");'
                   " this host runs 2.6.32-754.35.1.el6.x86_64")


def test_centos7_systemd219_on_el7(el7):
    p = plan(REQ, el7, CENTOS7)
    assert p.backend == "runc" and p.extra_env == {} and p.init_args == ()


def test_centos7_systemd219_on_hybrid(hybrid):
    p = plan(REQ, hybrid, CENTOS7)
    assert p.backend == "runc" and p.extra_env == {}


def test_centos7_systemd219_refused_on_v2(v2):
    msg = refuse(REQ, v2, CENTOS7)
    assert msg.startswith("systemd 219 cannot boot on a cgroup v2-only host (unified hierarchy needs systemd >= 230)")
    assert "systemd.unified_cgroup_hierarchy=0" in msg


@pytest.mark.parametrize("version", [256, 257])
@pytest.mark.parametrize("host", ["el7", "hybrid"])
def test_systemd_256_on_v1_gets_legacy_force(request, host, version):
    facts = request.getfixturevalue(host)
    p = plan(REQ, facts, systemd_guest(version))
    assert p.extra_env == {LEGACY_FORCE: "1"}
    assert p.init_args == (f"{LEGACY_FORCE}=1",)
    assert any(w.startswith(f"systemd {version} refuses cgroup v1 by default: forcing it") for w in p.warnings)


def test_systemd_256_on_el7_warns_about_kernel_floor(el7):
    p = plan(REQ, el7, systemd_guest(256))
    assert any("wants Linux >= 3.15" in w for w in p.warnings)


@pytest.mark.parametrize("host", ["el7", "hybrid"])
def test_systemd_258_refused_on_v1(request, host):
    msg = refuse(REQ, request.getfixturevalue(host), systemd_guest(258))
    assert msg.startswith("systemd 258 cannot run on cgroup v1 (support removed in systemd 258")


@pytest.mark.parametrize("version", [252, 256, 258, 260])
def test_modern_systemd_on_v2_needs_nothing(v2, version):
    p = plan(REQ, v2, systemd_guest(version))
    assert p.extra_env == {} and p.init_args == () and p.warnings == ()


def test_systemd_252_on_hybrid_needs_no_force(hybrid):
    assert plan(REQ, hybrid, systemd_guest(252)).extra_env == {}


def test_unknown_systemd_version_warns(v2):
    p = plan(REQ, v2, systemd_guest(None))
    assert p.warnings == ("guest systemd version unknown: cgroup compatibility not checked",)


def test_systemd_without_name_systemd_hierarchy_warns(el7):
    facts = tweak(el7, features={"cgroup.name_systemd": False})
    assert any("name=systemd" in w for w in plan(REQ, facts, CENTOS7).warnings)


# --- vsyscall --------------------------------------------------------------------------------------

@pytest.mark.parametrize("guest", [CENTOS5, CENTOS6], ids=["el5", "el6"])
def test_old_el_guest_refused_with_vsyscall_none(v2, guest):
    msg = refuse(REQ, tweak(v2, vsyscall="none"), guest)
    assert msg.endswith("vsyscall=none: add vsyscall=emulate to the host kernel command line")


def test_old_el_guest_warned_with_vsyscall_xonly(v2):
    p = plan(REQ, v2, CENTOS6)  # the v2 fixture records the modern default, xonly
    assert any("vsyscall=xonly" in w and "vsyscall=emulate" in w for w in p.warnings)


def test_old_el_guest_fine_with_vsyscall_emulate(v2):
    assert plan(REQ, tweak(v2, vsyscall="emulate"), CENTOS6).warnings == ()


def test_modern_guest_ignores_vsyscall(v2):
    assert plan(REQ, tweak(v2, vsyscall="none"), DEBIAN12_SYSV).warnings == ()


# --- the result ----------------------------------------------------------------------------------

def test_plan_is_json_serializable(el7):
    p = plan(ContainerRequest(kernel_memory=1), el7, systemd_guest(256))
    doc = json.loads(json.dumps(p.to_dict()))
    assert doc["backend"] == "runc" and doc["extra_env"] == {LEGACY_FORCE: "1"}
    assert isinstance(doc["warnings"], list) and len(doc["warnings"]) >= 2


def test_plan_is_frozen(v2):
    p = plan(REQ, v2, NONE)
    with pytest.raises(AttributeError):
        p.backend = "runc"  # type: ignore[misc]
