"""The only code that changes container state: lock -> sync -> act -> save.

Public methods take the per-container lock (never a global one across runtime calls),
fold in what the system says (`_sync`), act through the runtime/monitor/storage seams,
and write state.json atomically after each step, so a crash anywhere leaves state that the
next command repairs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from richcontainer import storage
from richcontainer.containers import ContainerRepo
from richcontainer.errors import Conflict, RichContainerError, RuntimeFailure, UsageError
from richcontainer.images.store import ImageStore
from richcontainer.model.config import ContainerConfig
from richcontainer.model.state import ContainerState, Status
from richcontainer.monitor import MonitorArgs, monitor_alive, monitor_pid, monitors_of, read_exit, start_monitor
from richcontainer.paths import StorePaths
from richcontainer.reconcile import alive, observed_status, read_pidfile
from richcontainer.runroot import STATE_FILE
from richcontainer.runtime.runc import Runtime, resolve_runtime
from richcontainer.util.pidstat import proc_start_ticks

SIGRTMIN_3 = int(signal.SIGRTMIN) + 3


class Manager:
    def __init__(self, paths: StorePaths | None = None) -> None:
        self.paths = paths or StorePaths.from_env()
        self.repo = ContainerRepo(self.paths)
        self.images = ImageStore(self.paths)

    # ----- helpers -------------------------------------------------------------------------
    def cdir(self, cid: str) -> Path:
        return self.paths.container_dir(cid)

    def runtime(self, state: ContainerState) -> Runtime:
        return Runtime(state.runtime_path or resolve_runtime(state.config.runtime), self.paths.runc_root)

    def _runtime_has(self, cid: str) -> bool:
        return (self.paths.runc_root / cid).exists()

    def get(self, ref: str, *, locked: bool = False) -> ContainerState:
        """Load and reconcile a container (without saving unless the caller holds the lock)."""
        return self._sync(self.repo.load(self.repo.find(ref)), locked=locked)

    def _sync(self, state: ContainerState, *, locked: bool) -> ContainerState:
        cdir = self.cdir(state.id)
        if state.status == Status.CREATING:
            if locked:
                return self._repair_interrupted(state)
            try:
                with self.repo.lock(state.id, wait=False):
                    return self._repair_interrupted(state)
            except Conflict:  # another command is in the middle of it: report, do not act
                return self._repair_interrupted(state, act=False)
        if state.status == Status.CREATED and state.pid > 0:
            if alive(state):
                rs = self.runtime(state).state(state.id)
                if rs and rs.get("status") == "running":
                    return state.model_copy(update={"status": Status.RUNNING})
                return state
        status, code, finished = observed_status(state, cdir, self.paths.exits)
        if status != state.status:
            state = state.model_copy(update={"status": status, "exit_code": code,
                                             "finished_at": finished or time.time()})
        elif state.status == Status.RUNNING and state.pid == 0:
            pid = read_pidfile(cdir)
            if pid:
                state = state.model_copy(update={"pid": pid, "pid_start": proc_start_ticks(pid) or 0})
        return state

    def _repair_interrupted(self, state: ContainerState, act: bool = True) -> ContainerState:
        """A command died mid-transition (ACT: we hold the lock now): adopt what the runtime runs,
        and delete what it only created, since nobody is left to start it; save the result.
        Without ACT (someone else holds the lock) only report what the runtime says."""
        if act:
            self._await_monitor_create(state.id)
        rs = None
        if self._runtime_has(state.id):
            with contextlib.suppress(RichContainerError):
                rs = self.runtime(state).state(state.id)
        keep = ("running", "paused") if act else ("running", "paused", "created")
        if rs and rs.get("status") in keep and rs.get("pid"):
            pid = int(rs["pid"])
            state = state.model_copy(update={"status": Status(rs["status"]), "pid": pid,
                                             "pid_start": proc_start_ticks(pid) or 0,
                                             "monitor_pid": monitor_pid(self.cdir(state.id))})
        elif act:
            # Delete what the runtime only created, unmount, and run the poststop owed for the
            # createRuntime hooks that ran (the network's lease and veth), as a failed start does.
            return self._finalize_unlocked(state, clean_runtime=True)
        else:
            ex = read_exit(self.paths.exits, state.id)
            state = state.model_copy(update={"status": Status.EXITED, "pid": 0,
                                             "exit_code": ex[0] if ex else None,
                                             "finished_at": ex[1] if ex else time.time()})
        if act:
            self.repo.save(state)
        return state

    def _await_monitor_create(self, cid: str, timeout: float = 15.0) -> None:
        """A monitor a dead CLI started may still be running `runtime create`: wait until it has
        created the container (its pidfile exists) or given up, so the repair sees the outcome."""
        pidfile = self.cdir(cid) / "pidfile"
        _wait_for(lambda: pidfile.exists() or not monitors_of(cid), timeout)

    def _locked(self, ref: str):  # noqa: ANN202
        cid = self.repo.find(ref)
        return cid, self.repo.lock(cid)

    # ----- create / start -------------------------------------------------------------------
    def create(self, cfg: ContainerConfig, *, for_attached_run: bool = False, start: bool = False) -> ContainerState:
        """Make the container (rootfs, bundle, state); START: and start it (`run -d`)."""
        from richcontainer.create import create_container

        return create_container(self, cfg, for_attached_run=for_attached_run, start=start)

    def start(self, ref: str) -> ContainerState:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            if state.status in (Status.RUNNING, Status.PAUSED):
                return state
            return self._start_unlocked(state)

    def _start_unlocked(self, state: ContainerState) -> ContainerState:
        if state.status == Status.EXITED and state.pid:  # its last run is not finalized yet (poststop owed)
            state = self._finalize_unlocked(state, clean_runtime=True)
        cdir = self.cdir(state.id)
        rt = self.runtime(state)
        state = state.model_copy(update={"status": Status.CREATING, "stopped_by_user": False,
                                         "exit_code": None, "pid": 0, "pid_start": 0})
        self.repo.save(state)
        try:
            if self._runtime_has(state.id):
                rt.delete(state.id)
            for stale in (self.paths.exits / state.id, cdir / "pidfile"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            storage.mount_rootfs(state.storage, self.images.rootfs(state.image_digest), cdir)
            self._prepare_start(state)
            pid = start_monitor(MonitorArgs(
                cid=state.id, name=state.config.name, runtime_path=rt.path, runtime_root=rt.root,
                bundle=cdir / "bundle", cdir=cdir, exit_dir=self.paths.exits, socket_dir=self.paths.sockets,
                store_root=self.paths.root, terminal=state.config.tty or state.config.system_init,
                stdin=state.config.interactive, run_root=self.paths.run))
            # Not saved yet: the durable CREATING record above is repaired from `runc state`
            # if we die before the RUNNING record below is written.
            state = state.model_copy(update={"pid": pid, "pid_start": proc_start_ticks(pid) or 0,
                                             "monitor_pid": monitor_pid(cdir), "monitored": True})
            rt.start(state.id)
        except BaseException:
            self._finalize_unlocked(state, clean_runtime=True)
            raise
        if state.config.init == "systemd":
            # Return once systemd listens on its private bus, so `exec NAME systemctl ...` works at once.
            _wait_for(lambda: os.path.exists(f"/proc/{state.pid}/root/run/systemd/private")
                      or proc_start_ticks(state.pid) != state.pid_start, 15.0, interval=0.002)
        from richcontainer.create import run_manager_hooks

        ran = run_manager_hooks(self, state, "poststart")
        state = state.model_copy(update={"status": Status.RUNNING, "started_at": time.time(),
                                         "hooks_ran": [*state.hooks_ran, *ran][-50:]})
        self.repo.save(state)
        return state

    def _prepare_start(self, state: ContainerState) -> None:
        """Before each start: host services it relies on (the lxcfs daemon, started on demand), and a
        system container's fresh boot ID."""
        if state.plan.get("lxcfs"):
            from richcontainer.lxcfs import ensure_lxcfs

            ensure_lxcfs()
        if state.config.system_init:
            from richcontainer.bootid import new_boot_id

            new_boot_id(self.cdir(state.id))

    def run_foreground(self, state: ContainerState) -> int:
        """Run a created container attached to this terminal (runc run); returns its exit code."""
        cdir = self.cdir(state.id)
        rt = self.runtime(state)
        with self.repo.lock(state.id):
            storage.mount_rootfs(state.storage, self.images.rootfs(state.image_digest), cdir)
            self._prepare_start(state)
            with contextlib.suppress(FileNotFoundError):
                (cdir / "pidfile").unlink()  # reconcile reads the new one while runc runs
            state = state.model_copy(update={"status": Status.RUNNING, "monitored": False,
                                             "started_at": time.time()})
            self.repo.save(state)
        import subprocess

        from richcontainer.util.proc import clean_env

        handlers = {s: signal.signal(s, lambda *_: None) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            stdin = None if (state.config.interactive or state.config.tty) else subprocess.DEVNULL
            proc = subprocess.Popen(rt.run_argv(state.id, cdir / "bundle", cdir / "pidfile"), env=clean_env(),
                                    stdin=stdin)
            code = proc.wait()
        finally:
            for s, h in handlers.items():
                signal.signal(s, h)
        with self.repo.lock(state.id):
            state = self.repo.load(state.id)
            if state.config.auto_remove:
                self._remove_unlocked(state.model_copy(update={"exit_code": code}))
            else:
                self._finalize_unlocked(state, exit_code=code, clean_runtime=True)
        return code

    # ----- stop / exit ----------------------------------------------------------------------
    def stop(self, ref: str, timeout: int | None = None) -> ContainerState:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            state = self._stop_unlocked(state, state.config.stop_timeout if timeout is None else timeout,
                                        defer_finalize=True)
            if not state.stopped_by_user:  # it had exited already: still cancel a pending policy restart
                state = state.model_copy(update={"stopped_by_user": True})
                self.repo.save(state)
            return state

    def stop_signal(self, state: ContainerState) -> int:
        """The signal that asks PID 1 to shut down, as LXC decides it for system inits."""
        if state.config.stop_signal:
            return state.config.stop_signal
        if state.config.system_init:
            return SIGRTMIN_3 if _blocks_signal(state.pid, SIGRTMIN_3) else int(signal.SIGPWR)
        return int(signal.SIGTERM)

    def _stop_unlocked(self, state: ContainerState, timeout: float, *,
                       defer_finalize: bool = False) -> ContainerState:
        """Ask PID 1 to shut down, SIGKILL everything after TIMEOUT s, then finalize.

        With DEFER_FINALIZE, a live monitor's exit command finalizes (runtime delete, unmount,
        poststop) once we release the lock: `stop` returns as soon as the container has exited.
        Until then the saved record still names the dead pid, and every command finalizes it first."""
        if state.status not in (Status.RUNNING, Status.PAUSED, Status.CREATED) or not alive(state):
            if state.status != Status.EXITED or self._runtime_has(state.id) or state.pid:
                state = self._finalize_unlocked(state, clean_runtime=True)
            return state
        state = state.model_copy(update={"stopped_by_user": True})
        self.repo.save(state)
        rt = self.runtime(state)
        if state.status == Status.PAUSED:
            rt.resume(state.id)
        sig = self.stop_signal(state) if state.status != Status.CREATED else int(signal.SIGKILL)
        if not _signal_pid(state.pid, state.pid_start, sig):
            with contextlib.suppress(RuntimeFailure):
                rt.kill(state.id, sig)
        if not _wait_pid_exit(state.pid, state.pid_start, timeout):
            with contextlib.suppress(RuntimeFailure):
                rt.kill(state.id, int(signal.SIGKILL), all_procs=True)
            _wait_pid_exit(state.pid, state.pid_start, 10)
        if state.monitored:
            # conmon writes it ~1 ms after the exit: a fine interval, since `stop` returns right after
            _wait_for(lambda: read_exit(self.paths.exits, state.id) is not None, 2.0, interval=0.0005)
            if defer_finalize and monitor_alive(state.monitor_pid, state.id):
                ex = read_exit(self.paths.exits, state.id)
                return state.model_copy(update={"status": Status.EXITED, "exit_code": ex[0] if ex else None,
                                                "finished_at": ex[1] if ex else time.time()})
        return self._finalize_unlocked(state, clean_runtime=True)

    def _finalize_unlocked(self, state: ContainerState, exit_code: int | None = None,
                           clean_runtime: bool = True, save: bool = True) -> ContainerState:
        """After the container's process is gone: delete it from the runtime, unmount, poststop."""
        cdir = self.cdir(state.id)
        ex = read_exit(self.paths.exits, state.id)
        code = ex[0] if ex else (exit_code if exit_code is not None else state.exit_code)
        errors = []
        if clean_runtime and self._runtime_has(state.id):
            try:
                self.runtime(state).delete(state.id)
            except RichContainerError as e:
                errors.append(str(e))
        try:
            storage.unmount_rootfs(state.storage, cdir)
        except RichContainerError as e:
            errors.append(str(e))
        hooks_ran = list(state.hooks_ran)
        if state.pid or state.status != Status.EXITED:
            from richcontainer.create import run_manager_hooks

            hooks_ran += run_manager_hooks(self, state, "poststop")
        state = state.model_copy(update={
            "status": Status.EXITED, "exit_code": code, "pid": 0, "pid_start": 0, "hooks_ran": hooks_ran,
            "finished_at": ex[1] if ex else (state.finished_at if state.status == Status.EXITED and state.finished_at else time.time()),
            "warnings": [*state.warnings, *errors][-20:]})
        if save:
            self.repo.save(state)
        return state

    def on_exit(self, cid: str) -> None:
        """conmon's exit command: finalize, then apply the restart policy and --rm."""
        if not self.paths.state_file(cid).exists():
            return  # already removed (rm -f): taking the lock would recreate its lock file
        with self.repo.lock(cid):
            try:
                state = self.repo.load(cid)
            except RichContainerError:
                with contextlib.suppress(FileNotFoundError):
                    self.repo.lock_path(cid).unlink()  # removed while we waited for the lock
                return
            state = self._sync(state, locked=True)
            if state.status in (Status.RUNNING, Status.PAUSED) and alive(state):
                return  # a newer start already replaced the process that ended
            state = self._finalize_unlocked(state, clean_runtime=True)
            if state.config.auto_remove:
                self._remove_unlocked(state)
                return
            if not _should_restart(state):
                return
            delay = min(0.1 * (2 ** state.restart_count), 5.0)
            state = state.model_copy(update={"restart_count": state.restart_count + 1})
            self.repo.save(state)
        time.sleep(delay)
        if not self.paths.state_file(cid).exists():
            return  # removed during the back-off (do not recreate its lock file)
        with self.repo.lock(cid):
            state = self._sync(self.repo.load(cid), locked=True)
            if state.status == Status.EXITED and not state.stopped_by_user:
                self._start_unlocked(state)

    def restart(self, ref: str, timeout: int | None = None) -> ContainerState:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            state = self._stop_unlocked(state, state.config.stop_timeout if timeout is None else timeout)
            return self._start_unlocked(state)

    def kill(self, ref: str, sig: int) -> None:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            if state.status not in (Status.RUNNING, Status.PAUSED):
                raise Conflict(f"container {state.config.name} is not running")
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT) or sig == self.stop_signal(state):
                state = state.model_copy(update={"stopped_by_user": True})
                self.repo.save(state)
            self.runtime(state).kill(state.id, sig)

    def pause(self, ref: str, pause: bool = True) -> None:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            want_from = Status.RUNNING if pause else Status.PAUSED
            if state.status != want_from:
                raise Conflict(f"container {state.config.name} is {state.status}, not {want_from}")
            rt = self.runtime(state)
            rt.pause(state.id) if pause else rt.resume(state.id)
            self.repo.save(state.model_copy(update={"status": Status.PAUSED if pause else Status.RUNNING}))

    # ----- remove / rename / update ---------------------------------------------------------
    def remove(self, ref: str, force: bool = False) -> str:
        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            if state.status in (Status.RUNNING, Status.PAUSED) and alive(state):
                if not force:
                    raise Conflict(f"container {state.config.name} is {state.status}",
                                   hint="stop it first, or use rm -f")
                state = self._stop_unlocked(state, 0)
            mon = monitor_pid(self.cdir(cid))
            mon_start = proc_start_ticks(mon) if mon else None
            self._remove_unlocked(state)
        # The monitor ends after its exit command, which waited for our lock: wait for it outside
        # the lock, so that nothing of the container is left when rm returns.
        if mon and mon_start is not None:
            _wait_pid_exit(mon, mon_start, 10)
        return state.config.name

    def _remove_unlocked(self, state: ContainerState) -> None:
        cdir = self.cdir(state.id)
        # A pid left in an exited state: it died unseen (conmon gone, host rebooted); poststop is still owed.
        if state.status != Status.EXITED or state.pid or self._runtime_has(state.id):
            state = self._finalize_unlocked(state, clean_runtime=True, save=False)
        storage.unmount_rootfs(state.storage, cdir)
        gone = cdir.with_name(f".rm-{state.id}")
        if cdir.exists():
            os.rename(cdir, gone)
        shutil.rmtree(gone, ignore_errors=True)
        self.repo.release_name(state.config.name, state.id)
        for p in (self.paths.exits / state.id, self.repo.lock_path(state.id), self.paths.sockets / state.id):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        remove_cgroups(state.id)

    def rename(self, ref: str, new: str) -> None:
        from richcontainer.units import check_name

        check_name(new)
        cid, lock = self._locked(ref)
        with lock:
            state = self.repo.load(cid)
            self.repo.reserve_name(new, cid)
            cfg = state.config.model_copy(update={"name": new})
            self.repo.save(state.model_copy(update={"name": new, "config": cfg}))
            self.repo.release_name(state.name, cid)

    def update(self, ref: str, resources: dict[str, object]) -> ContainerState:
        from richcontainer.model.config import Resources
        from richcontainer.spec.builder import BuildInputs
        from richcontainer.spec.builder import resources as spec_resources

        cid, lock = self._locked(ref)
        with lock:
            state = self._sync(self.repo.load(cid), locked=True)
            merged = state.config.resources.model_copy(update={k: v for k, v in resources.items() if v is not None})
            Resources.model_validate(merged.model_dump())
            cfg = state.config.model_copy(update={"resources": merged})
            inp = BuildInputs(cid=cid, config=cfg, rootfs="", pids_limit_ok=bool(state.plan.get("pids", True)),
                              memsw_ok=bool(state.plan.get("memsw", True)))
            res = spec_resources(inp).model_dump(by_alias=True, exclude_none=True)
            if state.status in (Status.RUNNING, Status.PAUSED):
                self.runtime(state).update(cid, {k: v for k, v in res.items() if k != "devices"})
            _set_bundle_resources(self.cdir(cid) / "bundle" / "config.json", res)  # the next start keeps them
            state = state.model_copy(update={"config": cfg})
            self.repo.save(state)
            return state

    # ----- listing ---------------------------------------------------------------------------
    def sweep_abandoned(self) -> None:
        """Remove container dirs that a killed create or rm left without a record."""
        for d in self.repo.abandoned():
            cid = d.name.removeprefix(".rm-")
            try:
                with self.repo.lock(cid, wait=False):
                    if d.name.startswith(".rm-") or not (d / STATE_FILE).exists():
                        storage.unmount_rootfs("overlay", d)
                        shutil.rmtree(d, ignore_errors=True)
                        with contextlib.suppress(FileNotFoundError):
                            self.repo.lock_path(cid).unlink()
            except Conflict:
                continue  # being created or removed right now

    def list(self, all_: bool = True) -> list[ContainerState]:
        self.sweep_abandoned()
        out = []
        for cid in self.repo.ids():
            with contextlib.suppress(RichContainerError, ValueError):
                st = self._sync(self.repo.load(cid), locked=False)
                if all_ or st.status in (Status.RUNNING, Status.PAUSED):
                    out.append(st)
        out.sort(key=lambda s: s.created, reverse=True)
        return out

    def users_of_image(self, digest: str) -> list[str]:
        return [s.name for s in self.list() if s.image_digest == digest]

    def wait(self, ref: str, timeout: float | None = None) -> int | None:
        cid = self.repo.find(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self._sync(self.repo.load(cid), locked=False)
            if state.status not in (Status.RUNNING, Status.PAUSED, Status.CREATING) or \
                    (state.status == Status.CREATED and not state.pid):
                if state.status == Status.EXITED and state.monitored and (self.paths.runc_root / cid).exists():
                    time.sleep(0.05)  # the exit command is still finalizing
                    if deadline is None or time.monotonic() < deadline:
                        continue
                return state.exit_code
            if deadline is not None and time.monotonic() > deadline:
                raise UsageError(f"container {state.config.name} still running after {timeout:g}s")
            _wait_pid_exit(state.pid, state.pid_start, 0.5) if state.pid else time.sleep(0.1)


def _set_bundle_resources(config_json: Path, resources: dict) -> None:
    """Write RESOURCES into the bundle's linux.resources (atomically)."""
    import json

    from richcontainer.util.fs import atomic_write

    spec = json.loads(config_json.read_text())
    spec.setdefault("linux", {})["resources"] = resources
    atomic_write(config_json, json.dumps(spec, indent=1))


def _should_restart(state: ContainerState) -> bool:
    policy = state.config.restart
    if state.stopped_by_user or policy.name == "no":
        return False
    if policy.name == "on-failure":
        return (state.exit_code or 0) != 0 and (policy.max_retries == 0 or state.restart_count < policy.max_retries)
    return True


def _blocks_signal(pid: int, signo: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:  # bytes: no codec to import on the stop path
            for line in f:
                if line.startswith(b"SigBlk:"):
                    return bool(int(line.split()[1], 16) & (1 << (signo - 1)))
    except (OSError, ValueError):
        pass
    return True  # systemd is the common case


def _wait_for(pred, timeout: float, interval: float = 0.01) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def _signal_pid(pid: int, start: int, sig: int) -> bool:
    """Send SIG to PID if it is still the process that started at START (through a pidfd, so a
    reused pid is never hit). False where pidfds are missing (Linux < 5.3): use the runtime."""
    if not hasattr(os, "pidfd_open") or pid <= 0:
        return False
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True  # already gone
    except OSError:
        return False
    try:
        if proc_start_ticks(pid) != start:
            return True  # gone (the pid now names another process)
        signal.pidfd_send_signal(fd, sig)
        return True
    except ProcessLookupError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _wait_pid_exit(pid: int, start: int, timeout: float) -> bool:
    """Wait until PID (with start time START) is gone or a zombie. True if it went away."""
    if pid <= 0:
        return True
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return _wait_for(lambda: proc_start_ticks(pid) != start, timeout)
    try:
        import select

        if proc_start_ticks(pid) != start:
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return proc_start_ticks(pid) != start
            if poller.poll(min(left, 0.05) * 1000) or proc_start_ticks(pid) != start:
                return True
    finally:
        os.close(fd)


def remove_cgroups(cid: str, timeout: float = 2.0) -> None:
    """Remove the container's cgroup directories the runtime left behind (after a reboot-like
    loss, or when its last tasks were still exiting as runc deleted it: retried briefly)."""
    base = Path("/sys/fs/cgroup")
    candidates = [base / "richcontainer" / cid]
    with contextlib.suppress(OSError):
        candidates += [d / "richcontainer" / cid for d in base.iterdir() if d.is_dir()]
    deadline = time.monotonic() + timeout
    while True:
        left = [d for d in candidates if d.is_dir()]
        for d in left:
            for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                d.rmdir()
        if not any(d.is_dir() for d in left) or time.monotonic() > deadline:
            return
        time.sleep(0.05)
