"""Pure renderers: host file text + cgroup numbers -> the container's view (lxcfs 5.0.3 formats).

No I/O here, so every formula can be unit tested. Deliberate differences from lxcfs 5.0.3 are
marked "BETTER:" beside the code and listed in lxcfs_py/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIXED_1 = 1 << 11
EXP_1, EXP_5, EXP_15 = 1884, 2014, 2037

# meminfo lines lxcfs rewrites: label -> printf prefix (label padded to 16 columns, %8lu)
_MEM_LABELS = (
    "MemTotal:", "MemFree:", "MemAvailable:", "SwapTotal:", "SwapFree:", "Slab:", "Buffers:",
    "Cached:", "SwapCached:", "Active:", "Inactive:", "Active(anon):", "Inactive(anon):",
    "Active(file):", "Inactive(file):", "Unevictable:", "Dirty:", "Writeback:", "AnonPages:",
    "Mapped:", "SReclaimable:", "SUnreclaim:", "Shmem:", "ShmemHugePages:", "ShmemPmdMapped:",
    "AnonHugePages:",
)


def sub0(a: int, b: int) -> int:
    """a - b clamped at 0. BETTER: lxcfs subtracts unsigned and wraps to ~2^64 (lxcfs#115, #311)."""
    return a - b if a > b else 0


def mem_line(label: str, kb: int) -> str:
    return f"{label:<16}{kb:>8} kB\n"


# ----------------------------------------------------------------------------- cpusets

def parse_cpuset(text: str) -> list[int]:
    """'0-3,8,10-11' -> sorted CPU numbers. Ranges are clipped at 1<<16 CPUs (huge cpusets)."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            continue
        if a < 0 or b < a:
            continue
        cpus.update(range(a, min(b, (1 << 16) - 1) + 1))
    return sorted(cpus)


def cfs_cpu_count(quota: int | None, period: int | None, ncpuset: int, nprocs: int) -> int:
    """lxcfs max_cpu_count(): ceil(quota/period), capped by online CPUs and the cpuset size;
    the cpuset size when there is no quota."""
    if not quota or not period or quota <= 0 or period <= 0:
        return ncpuset
    n = -(-quota // period)
    n = min(n, nprocs)
    if 0 < ncpuset < n:
        n = ncpuset
    return n


def render_online(cpuset_text: str, max_cpus: int | None) -> str:
    """sys/devices/system/cpu/online: the cpuset, or 0-(N-1) in the CFS view."""
    if max_cpus is None:
        return cpuset_text.strip() + "\n"
    return f"0-{max_cpus - 1}\n" if max_cpus > 1 else "0\n"


# ----------------------------------------------------------------------------- meminfo

@dataclass
class MemInputs:
    """Numbers read from the memory cgroup (bytes unless noted)."""
    usage: int
    limit: int                     # min over ancestors, 0 = unlimited
    stat: dict[str, int]
    v2: bool = False
    swap: bool = True              # swap accounting available and not disabled
    memsw_limit: int = 0           # v1 memsw / v2 swap.max, min over ancestors, 0 = none
    memsw_usage: int | None = None
    swappiness: int = 1


def parse_memory_stat(text: str, v2: bool) -> dict[str, int]:
    """memory.stat -> lxcfs's memory_stat fields (v1 names: total_*). BETTER: exact key match,
    so total_rss_huge (v1) and file_mapped (v2) are not shadowed by a prefix match as in lxcfs."""
    raw: dict[str, int] = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        try:
            raw[k] = int(v)
        except ValueError:
            continue
    if v2:
        names = {"total_cache": "file", "total_shmem": "shmem", "total_mapped_file": "file_mapped",
                 "total_dirty": "file_dirty", "total_writeback": "file_writeback",
                 "total_rss_huge": "anon_thp", "total_inactive_anon": "inactive_anon",
                 "total_active_anon": "active_anon", "total_inactive_file": "inactive_file",
                 "total_active_file": "active_file", "total_unevictable": "unevictable"}
        return {k: raw.get(v, 0) for k, v in names.items()}
    return {k: v for k, v in raw.items() if k.startswith("total_")}


def swap_numbers(m: MemInputs) -> tuple[int, int]:
    """lxcfs get_swap_info(): (swtotal kB, swusage kB) before the host/limit clamps."""
    if not m.swap or m.memsw_limit <= 0 or m.memsw_usage is None:
        return 0, 0
    if m.v2:
        return m.memsw_limit // 1024, m.memsw_usage // 1024
    return sub0(m.memsw_limit, m.limit) // 1024, sub0(m.memsw_usage, m.usage) // 1024


def render_meminfo(host: str, m: MemInputs) -> str:
    """The container's /proc/meminfo; lines lxcfs does not rewrite are copied from HOST."""
    s = m.stat.get
    usage_kb = m.usage // 1024
    limit_kb = m.limit // 1024
    swtotal, swusage = swap_numbers(m)
    out = []
    for line in host.splitlines(keepends=True):
        label = line.split(" ", 1)[0]
        if label not in _MEM_LABELS:
            out.append(line)
            continue
        if label == "MemTotal:":
            host_total = _kb(line)
            if limit_kb == 0 or limit_kb > host_total:
                limit_kb = host_total
            v = limit_kb
        elif label == "MemFree:":
            v = sub0(limit_kb, usage_kb)
        elif label == "MemAvailable:":
            v = sub0(limit_kb, usage_kb) + s("total_cache", 0) // 1024
        elif label == "SwapTotal:":
            if m.swap:
                if not m.v2:
                    swtotal += limit_kb
                swtotal = min(swtotal, _kb(line))
                if m.swappiness == 0:
                    swtotal = swusage
            else:
                swtotal = 0
            v = swtotal
        elif label == "SwapFree:":
            v = sub0(swtotal, swusage) if m.swap else 0
        elif label == "Cached:":
            v = s("total_cache", 0) // 1024
        elif label == "Active:":
            v = (s("total_active_anon", 0) + s("total_active_file", 0)) // 1024
        elif label == "Inactive:":
            v = (s("total_inactive_anon", 0) + s("total_inactive_file", 0)) // 1024
        elif label == "Active(anon):":
            v = s("total_active_anon", 0) // 1024
        elif label == "Inactive(anon):":
            v = s("total_inactive_anon", 0) // 1024
        elif label == "Active(file):":
            v = s("total_active_file", 0) // 1024
        elif label == "Inactive(file):":
            v = s("total_inactive_file", 0) // 1024
        elif label == "Unevictable:":
            v = s("total_unevictable", 0) // 1024
        elif label == "Dirty:":
            v = s("total_dirty", 0) // 1024
        elif label == "Writeback:":
            v = s("total_writeback", 0) // 1024
        elif label == "AnonPages:":
            v = sub0(s("total_active_anon", 0) + s("total_inactive_anon", 0),
                     s("total_shmem", 0)) // 1024
        elif label == "Mapped:":
            v = s("total_mapped_file", 0) // 1024
        elif label == "Shmem:":
            v = s("total_shmem", 0) // 1024
        elif label == "AnonHugePages:":
            v = s("total_rss_huge", 0) // 1024
        else:  # Slab, Buffers, SwapCached, SReclaimable, SUnreclaim, ShmemHugePages, ShmemPmdMapped
            v = 0
        out.append(mem_line(label, v))
    return "".join(out)


def _kb(line: str) -> int:
    try:
        return int(line.split()[1])
    except (IndexError, ValueError):
        return 0


def render_swaps(host_meminfo: str, m: MemInputs) -> str:
    """/proc/swaps: header, plus one 'none ... virtual' line when the container has swap."""
    out = "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n"
    swtotal, swusage = swap_numbers(m)
    if m.swap:
        host_total = 0
        for line in host_meminfo.splitlines():
            if line.startswith("SwapTotal:"):
                host_total = _kb(line)
        if not m.v2:   # BETTER: lxcfs adds the memory limit on cgroup v2 too (swap.max is swap only)
            swtotal += m.limit // 1024
        swtotal = min(swtotal, host_total)
        if m.swappiness == 0:
            swtotal = swusage
    else:
        swtotal = 0
    if swtotal > 0:
        out += f"none{' ' * 36}virtual\t\t{swtotal}\t{swusage}\t0\n"
    return out


# ----------------------------------------------------------------------------- cpuinfo

def render_cpuinfo(host: str, cpus: list[int], max_cpus: int | None) -> str:
    """Keep the processor blocks of CPUS, renumbered from 0; at most MAX_CPUS (CFS view)."""
    allowed = set(cpus)
    out: list[str] = []
    printing = False
    cur = -1
    for line in host.splitlines(keepends=True):
        if line.startswith("processor"):
            head, _, num = line.partition(":")
            if head.strip() == "processor":
                if max_cpus and cur + 1 == max_cpus:
                    break
                try:
                    printing = int(num) in allowed
                except ValueError:
                    printing = False
                if printing:
                    cur += 1
                    out.append(f"processor\t: {cur}\n")
                continue
        if printing:
            out.append(line)
    return "".join(out)


# ----------------------------------------------------------------------------- stat

@dataclass
class CpuUsage:
    """Per-CPU container CPU time in USER_HZ ticks, indexed by physical CPU."""
    user: dict[int, int] = field(default_factory=dict)
    system: dict[int, int] = field(default_factory=dict)


def parse_usage_all(text: str, ticks: int) -> CpuUsage | None:
    """cpuacct.usage_all ('cpu user system' header, ns per CPU) -> ticks (lxcfs rounding)."""
    lines = text.splitlines()
    if not lines or lines[0].split() != ["cpu", "user", "system"]:
        return None
    u = CpuUsage()
    for line in lines[1:]:
        f = line.split()
        if len(f) != 3:
            return None
        c = int(f[0])
        u.user[c] = int(int(f[1]) / 1000.0 / 1000 / 1000 * ticks)
        u.system[c] = int(int(f[2]) / 1000.0 / 1000 / 1000 * ticks)
    return u


def parse_usage_percpu(text: str, ticks: int) -> CpuUsage:
    """cpuacct.usage_percpu fallback: lxcfs sets user = system = total (double counts)."""
    u = CpuUsage()
    for i, tok in enumerate(text.split()):
        v = int(int(tok) / 1000.0 / 1000 / 1000 * ticks)
        u.user[i] = v
        u.system[i] = v
    return u


def usage_from_cpu_stat(text: str, cpus: list[int], ticks: int) -> CpuUsage:
    """BETTER (lxcfs#593): cgroup v2 has no per-CPU accounting; spread cpu.stat user/system
    evenly over the cpuset's CPUs instead of showing the host's counters."""
    vals = {}
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        vals[k] = v
    n = max(len(cpus), 1)
    user = int(vals.get("user_usec", 0)) * ticks // 1_000_000
    system = int(vals.get("system_usec", 0)) * ticks // 1_000_000
    u = CpuUsage()
    for i, c in enumerate(cpus):
        u.user[c] = user // n + (1 if i < user % n else 0)
        u.system[c] = system // n + (1 if i < system % n else 0)
    return u


def _fmt_cpu(label: str, vals: list[int]) -> str:
    return label + " " + " ".join(str(v) for v in vals) + "\n"


def render_stat(host: str, cpus: list[int], usage: CpuUsage | None,
                max_cpus: int | None = None) -> str:
    """/proc/stat for the cpuset. With USAGE, each cpuN line is 'user 0 system idle 0 0 0 0 0 0'
    with idle = host idle + time other cgroups used that CPU (lxcfs default mode). With
    MAX_CPUS (CFS view) the CPUs are renumbered 0..N-1 and the cpuset's other CPUs are folded
    into them round-robin (BETTER than lxcfs's stateful cpuview: nothing reads as zero first)."""
    allowed = set(cpus)
    lines = host.splitlines(keepends=True)
    rows: list[tuple[int, list[int]]] = []   # (physical cpu, 10 fields)
    rest: list[str] = []
    for line in lines[1:]:
        if line.startswith("cpu") and line[3:4].isdigit():
            name, _, fields = line.partition(" ")
            try:
                phys = int(name[3:])
            except ValueError:
                continue
            if phys not in allowed:
                continue
            vals = [int(x) for x in fields.split()][:10]
            vals += [0] * (10 - len(vals))
            if usage is not None:
                all_used = sum(vals) - vals[3]
                cu, cs = usage.user.get(phys, 0), usage.system.get(phys, 0)
                idle = vals[3] + sub0(all_used, cu + cs)
                vals = [cu, 0, cs, idle, 0, 0, 0, 0, 0, 0]
            rows.append((phys, vals))
        else:
            rest.append(line)
    if max_cpus and 0 < max_cpus < len(rows):
        folded: list[list[int]] = [list(r[1]) for r in rows[:max_cpus]]
        for i, (_, vals) in enumerate(rows[max_cpus:]):
            tgt = folded[i % max_cpus]
            for j in (0, 1, 2, 4, 5, 6, 7, 8, 9):   # busy time moves; idle stays with the shown CPU
                tgt[j] += vals[j]
        rows = [(i, v) for i, v in enumerate(folded)]
    elif max_cpus:
        rows = [(i, v) for i, (_, v) in enumerate(rows)]
    total = [sum(v[j] for _, v in rows) for j in range(10)]
    body = "".join(_fmt_cpu(f"cpu{n}", v) for n, v in rows)
    return _fmt_cpu("cpu ", total) + body + "".join(rest)


# ----------------------------------------------------------------------------- uptime/loadavg

def render_uptime(age: float, busy: float) -> str:
    """'age idle' with idle = age - cgroup busy time (age when busy exceeds it)."""
    idle = age - busy if age >= busy else age
    return f"{age:.2f} {idle:.2f}\n"


def calc_load(load: int, exp: int, active: int) -> int:
    """Kernel/lxcfs fixed-point exponential decay step."""
    active = active * FIXED_1 if active > 0 else 0
    newload = load * exp + active * (FIXED_1 - exp)
    if active >= load:
        newload += FIXED_1 - 1
    return newload // FIXED_1


def render_loadavg(avenrun: tuple[int, int, int], running: int, total: int, last: int) -> str:
    parts = []
    for a in avenrun:
        a += FIXED_1 // 200
        parts.append(f"{a >> 11}.{((a & (FIXED_1 - 1)) * 100) >> 11:02d}")
    return f"{' '.join(parts)} {running}/{total} {last}\n"


# ----------------------------------------------------------------------------- diskstats

def _blkio_index(text: str) -> dict[tuple[int, int, str], int]:
    idx: dict[tuple[int, int, str], int] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 3 and ":" in f[0]:
            ma, _, mi = f[0].partition(":")
            try:
                idx[(int(ma), int(mi), f[1])] = int(f[2])
            except ValueError:
                continue
    return idx


def render_diskstats_v1(host: str, serviced: str, merged: str, service_bytes: str,
                        wait_time: str, service_time: str) -> str:
    """Rows from blkio.io_*_recursive (CFQ/BFQ-era files); all-zero rows are dropped."""
    sv, mg, sb, wt, st = (_blkio_index(t) for t in (serviced, merged, service_bytes,
                                                      wait_time, service_time))
    out = []
    for line in host.splitlines():
        f = line.split()
        if len(f) < 3:
            continue
        try:
            ma, mi = int(f[0]), int(f[1])
        except ValueError:
            continue
        name = f[2]

        def g(idx, op):
            return idx.get((ma, mi, op), 0)
        r = [g(sv, "Read"), g(mg, "Read"), g(sb, "Read") // 512,
             g(st, "Read") // 1000000 + g(wt, "Read") // 1000000,
             g(sv, "Write"), g(mg, "Write"), g(sb, "Write") // 512,
             g(st, "Write") // 1000000 + g(wt, "Write") // 1000000,
             0, g(st, "Total") // 1000000, 0,
             g(mg, "Discard"), g(sb, "Discard") // 512,
             g(st, "Discard") // 1000000 + g(wt, "Discard") // 1000000]
        if not any(r):
            continue
        out.append(f"{ma}       {mi} {name} " + " ".join(str(x) for x in r) + "\n")
    return "".join(out)


def render_diskstats_v2(host: str, io_stat: str) -> str:
    """BETTER (lxcfs#653, which serves the host file on cgroup v2): rows from io.stat
    (rios/wios/rbytes/wbytes/dios/dbytes); times are not accounted there and read as 0."""
    idx: dict[tuple[int, int], dict[str, int]] = {}
    for line in io_stat.splitlines():
        f = line.split()
        if not f or ":" not in f[0]:
            continue
        ma, _, mi = f[0].partition(":")
        kv = {}
        for item in f[1:]:
            k, _, v = item.partition("=")
            try:
                kv[k] = int(v)
            except ValueError:
                pass
        idx[(int(ma), int(mi))] = kv
    out = []
    for line in host.splitlines():
        f = line.split()
        if len(f) < 3 or not f[0].isdigit() or not f[1].isdigit():
            continue
        kv = idx.get((int(f[0]), int(f[1])))
        if not kv:
            continue
        r = [kv.get("rios", 0), 0, kv.get("rbytes", 0) // 512, 0,
             kv.get("wios", 0), 0, kv.get("wbytes", 0) // 512, 0, 0, 0, 0,
             kv.get("dios", 0), kv.get("dbytes", 0) // 512, 0]
        if any(r):
            out.append(f"{f[0]}       {f[1]} {f[2]} " + " ".join(str(x) for x in r) + "\n")
    return "".join(out)
