"""ebpftrace memleak on the running kernel: exact outstanding allocations of our fixture
(tests/helpers/memleak_leaks.c), per leaking function, with the file and line of the call."""
import os
import re
import signal
import subprocess
import tempfile
import time

from lib import ROOT, Skip, Tracer, assert_usage_error, json_lines, run, wait_for
import lib

SOURCE = os.path.join(ROOT, "tests", "helpers", "memleak_leaks.c")

# What the fixture leaks with N mallocs: function -> (bytes, allocations).
def expected(n):
    return {
        "leak_malloc": (1024 * n, n),
        "leak_calloc": (50 * 4 * 16, 50),
        "leak_realloc": (5000, 1),
        "leak_posix_memalign": (512, 1),
        "leak_aligned_alloc": (3 * 256, 3),
        "leak_reallocarray": (10 * 30, 1),
        "leak_mmap": (8192, 1),
    }


def leak_lines():
    """The fixture's lines marked leak:NAME, as {"leak_NAME": line number}."""
    lines = {}
    with open(SOURCE) as f:
        for no, text in enumerate(f, 1):
            m = re.search(r"/\* leak:(\w+) \*/", text)
            if m:
                lines["leak_" + m.group(1)] = no
    return lines


def by_function(report):
    """{function of the first frame: stack} for the stacks of a report; each function once."""
    stacks = {}
    for s in report["stacks"]:
        if s["frames"] and "function" in s["frames"][0]:
            name = s["frames"][0]["function"]
            assert name not in stacks, f"two stacks start in {name}: {report}"
            stacks[name] = s
    return stacks


def all_functions(report):
    return {f.get("function") for s in report["stacks"] for f in s["frames"]}


def last_report(out):
    reports = json_lines(out, "report")
    assert reports, f"no report in {out!r}"
    return reports[-1]


def libc_debug_file(module):
    """The separate debug file of a library, by build id, if one is installed (libc6-dbg)."""
    out = subprocess.run(["readelf", "-n", module], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]{2})([0-9a-f]+)", out)
    return m and os.path.exists(f"/usr/lib/debug/.build-id/{m.group(1)}/{m.group(2)}.debug")


def env_with_helpers():
    return dict(os.environ, PATH=lib.HELPERS + ":" + os.environ.get("PATH", "/usr/bin:/bin"))


def trace_command(args, command, timeout=60):
    """memleak -c COMMAND --json: it ends when the command does; returns the last report."""
    t = Tracer(["memleak", "--json", "--top", "100", "-c", command] + args,
               env=env_with_helpers())
    rc, out, err = t.wait(timeout)
    assert rc == 0, f"exit {rc}: {err!r}"
    return last_report(out)


class Fixture:
    """The fixture started by the test, waiting on stdin; memleak -p attached to it."""

    def __init__(self, n, mode, args):
        self.proc = subprocess.Popen([lib.helper("memleak_leaks"), str(n), mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.tracer = Tracer(["memleak", "--json", "--top", "100", "-p", str(self.proc.pid),
                              "600"] + args)

    def step(self, expect):
        """Let the fixture go on and wait for its next line."""
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        if line != expect.encode():
            self.close()
            if self.proc.returncode == 3:
                raise Skip("the fixture cannot load libz.so.1 here")
            raise AssertionError(f"fixture said {line!r}, not {expect!r}")

    def report(self):
        """Stop memleak while the fixture waits (the barrier); its last report."""
        rc, out, err = self.tracer.stop()
        self.close()
        assert rc == 0, f"exit {rc}: {err!r}"
        return last_report(out)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.tracer.kill()


def assert_exact_leaks(report, n, only=None):
    stacks = by_function(report)
    lines = leak_lines()
    for func, (size, count) in expected(n).items():
        if only is not None and func not in only:
            assert func not in stacks, f"{func} should be filtered out: {stacks[func]}"
            continue
        assert func in stacks, f"no stack from {func}: {sorted(stacks)}"
        s = stacks[func]
        assert (s["bytes"], s["allocs"]) == (size, count), (func, s["bytes"], s["allocs"])
        top = s["frames"][0]
        assert top["file"].endswith("tests/helpers/memleak_leaks.c"), top
        assert top["line"] == lines[func], (func, top["line"], lines[func])
        assert top["module"].endswith("/memleak_leaks"), top
        assert "main" in [f.get("function") for f in s["frames"]], s["frames"]
    # churn() frees everything it allocates.
    assert "churn" not in all_functions(report)


def test_exact_outstanding_bytes_counts_and_lines():
    fx = Fixture(100, "wait", [])
    fx.step("leaked")
    report = fx.report()
    assert report["pid"] == fx.proc.pid
    assert_exact_leaks(report, 100)
    # The frame in libc that calls main: named, with file and line, from libc's separate debug
    # file (libc6-dbg); without one, __libc_start_call_main is in no symbol table, and the
    # frame has its address and module.
    leaks = [s for name, s in by_function(report).items() if name in expected(100)]
    libc = [f for s in leaks for f in s["frames"]
            if os.path.basename(f.get("module", "")).startswith("libc.so")]
    assert libc, leaks
    if libc_debug_file(libc[0]["module"]):
        assert {f.get("function") for f in libc} == {"__libc_start_call_main"}, libc
        assert all(f["file"] and f["line"] > 0 for f in libc), libc
    assert report["bytes"] >= sum(b for b, _ in expected(100).values())


def test_command_with_arguments_found_through_path():
    report = trace_command([], "memleak_leaks 7 run")
    assert_exact_leaks(report, 7)


def test_output_file_keeps_records_apart_from_the_commands_stdout():
    """-c COMMAND keeps our stdout for its own; -o FILE takes our records elsewhere."""
    with open("/etc/services", "rb") as f:
        first_line = f.readline()
    with tempfile.TemporaryDirectory(prefix="ebt-memleak-") as d:
        path = os.path.join(d, "records.json")
        p = run(["memleak", "--json", "-o", path, "-c", "sed -n 1p /etc/services"], timeout=60)
        assert p.returncode == 0, p.stderr
        with open(path, "rb") as f:
            records = f.read()
    assert p.stdout == first_line
    reports = lib.json_lines(records, "report")
    assert reports and all(r["pid"] > 0 for r in reports), records[:300]
    assert first_line not in records


def test_missing_command_fails_with_one_line():
    p = run(["memleak", "-c", "no-such-command-ebt arg"], env=env_with_helpers())
    err = p.stderr.decode()
    assert p.returncode == 1, (p.returncode, err)
    assert err.count("\n") == 1 and "no-such-command-ebt" in err and "not found" in err, err
    assert p.stdout == b""


def libc_path():
    """The C library this test's Python maps: the one a command memleak starts will use."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if os.path.basename(path).startswith("libc.so"):
                return path
    raise AssertionError("no libc in /proc/self/maps")


def assert_runtime_error(args, pattern):
    p = run(args, env=env_with_helpers())
    err = p.stderr.decode()
    assert p.returncode == 1, (args, p.returncode, err)
    assert err.count("\n") == 1 and re.search(pattern, err), (args, err)
    assert p.stdout == b""
    lib.assert_nothing_loaded()


def test_obj_is_a_path_or_a_library_the_process_maps():
    """-O/--obj: a path is used as it is; a name is a library the process maps, or with -c
    (nothing mapped yet) the one the dynamic linker's cache names."""
    assert_exact_leaks(trace_command(["-O", libc_path()], "memleak_leaks 7 run"), 7)
    assert_exact_leaks(trace_command(["-O", "libc"], "memleak_leaks 7 run"), 7)
    assert_runtime_error(["memleak", "-O", "libnosuch", "-c", "memleak_leaks 1 run"],
                         r"^ebpftrace memleak: no library named libnosuch in the linker's cache "
                         r"\(/etc/ld.so.cache\): give its path$")
    env = dict(env_with_helpers(), LD_LIBRARY_PATH="/nonexistent")
    p = run(["memleak", "-O", "libc", "-c", "memleak_leaks 1 run"], env=env)
    assert p.returncode == 1 and re.fullmatch(
        rb"ebpftrace memleak: LD_LIBRARY_PATH is set: the command may load libc from there, "
        rb"not from the linker's cache; give its path\n", p.stderr), p
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert_runtime_error(["memleak", "-O", "libnosuch", "-p", str(sleeper.pid)],
                             rf"^ebpftrace memleak: process {sleeper.pid} maps no library named "
                             r"libnosuch$")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_combined_only_counts_in_the_kernel():
    report = trace_command(["--combined-only"], "memleak_leaks 11 run")
    assert_exact_leaks(report, 11)


def test_sample_two_halves_the_allocations():
    n = 4000
    report = trace_command(["-s", "2"], f"memleak_leaks {n} run")
    s = by_function(report)["leak_malloc"]
    # Binomial(4000, 1/2): a standard deviation of 32; 300 is over nine of them.
    assert abs(s["allocs"] - n / 2) < 300, s["allocs"]
    assert s["bytes"] == 1024 * s["allocs"]


def test_min_and_max_size_filter():
    report = trace_command(["-z", "1000"], "memleak_leaks 5 run")
    assert_exact_leaks(report, 5, only={"leak_malloc", "leak_realloc", "leak_mmap"})
    report = trace_command(["--max-size", "600"], "memleak_leaks 5 run")
    assert_exact_leaks(report, 5, only={"leak_calloc", "leak_posix_memalign",
                                        "leak_aligned_alloc", "leak_reallocarray"})


def test_older_hides_young_allocations():
    fx = Fixture(20, "staged", ["--older", "1000"])
    fx.step("first")
    time.sleep(1.5)
    fx.step("leaked")
    stacks = by_function(fx.report())
    assert (stacks["leak_malloc"]["bytes"], stacks["leak_malloc"]["allocs"]) == (20480, 20)
    for young in ("leak_calloc", "leak_realloc", "leak_mmap"):
        assert young not in stacks, stacks[young]


def test_show_allocs_lists_each_block():
    fx = Fixture(4, "wait", ["-a"])
    fx.step("leaked")
    s = by_function(fx.report())["leak_malloc"]
    assert [a["size"] for a in s["allocations"]] == [1024] * 4
    assert len({a["addr"] for a in s["allocations"]}) == 4


def test_trace_prints_each_call():
    t = Tracer(["memleak", "--json", "-t", "-c", "memleak_leaks 3 run"], env=env_with_helpers())
    rc, out, err = t.wait(60)
    assert rc == 0, err
    allocs = json_lines(out, "alloc")
    frees = json_lines(out, "free")
    assert len([a for a in allocs if a["call"] == "malloc" and a["size"] == 1024]) == 3
    assert len([a for a in allocs if a["call"] == "calloc" and a["size"] == 64]) == 50
    # churn: 200 mallocs of 777 bytes, each freed.
    churn = {a["addr"] for a in allocs if a["call"] == "malloc" and a["size"] == 777}
    assert len([a for a in allocs if a["call"] == "malloc" and a["size"] == 777]) == 200
    freed = [f for f in frees if f["call"] == "free" and f["size"] == 777]
    assert len(freed) == 200 and {f["addr"] for f in freed} <= churn


def test_library_loaded_after_start_is_symbolized():
    """The library's code is mapped after the start: the kernel tells (sys_exit_mmap), and the
    mappings are read again then, not only at the next report."""
    fx = Fixture(0, "dlopen", ["-v"])
    fx.step("leaked")
    wait_for(lambda: b"the process mapped code: reading its mappings again" in fx.tracer.stderr,
             what="the notice that the fixture mapped code")
    report = fx.report()
    # A stack the kernel could not record has no frames (the text says "[stack not recorded]").
    mods = [s["frames"][0] for s in report["stacks"] if s["frames"]
            and os.path.basename(s["frames"][0].get("module", "")).startswith("libz.so")]
    assert mods and any(f.get("function", "").startswith("deflate") for f in mods), mods


def test_ends_when_the_process_exits():
    fx = Fixture(1, "wait", [])
    fx.step("leaked")
    fx.proc.stdin.close()
    fx.proc.wait(timeout=10)
    rc, out, err = fx.tracer.wait(timeout=10)
    assert rc == 0, err
    assert by_function(last_report(out))["leak_malloc"]["allocs"] == 1


KERNEL_METHODS = ("raw_tracepoint", "tracepoint")


def test_kernel_mode_reports_symbolized_kernel_stacks():
    """With each method: the test's own kernel allocations, pipes held open while memleak
    reports. Each allocates a pipe_inode_info (alloc_pipe_info, from do_pipe2); other processes'
    pipes may add a few to that stack, never take any away. A stack starts where the
    allocation was made: not in the BPF program or the tracepoint's machinery that took it."""
    methods = lib.usable_methods(KERNEL_METHODS, "tracepoint")
    lib.assert_methods_forced_and_reported("memleak", methods)
    for method in methods:
        report = kernel_report_with_pipes(method)
        firsts = {s["frames"][0].get("function") or "?" for s in report["stacks"] if s["frames"]}
        assert not [f for f in firsts if f == "?" or f.startswith(("bpf_", "__traceiter_",
                                                                   "__bpf_trace_"))], firsts


def kernel_report_with_pipes(method):
    pipes = 400  # 800 descriptors: within the usual limit of 1024 (the test VM has it)
    t = Tracer(["memleak", "--method", method, "--json", "--top", "50", "1", "1"])
    fds = []
    try:
        for _ in range(pipes):
            fds.extend(os.pipe())
        rc, out, err = t.wait(30)
    finally:
        for fd in fds:
            os.close(fd)
    assert rc == 0, err
    report = last_report(out)
    assert "pid" not in report
    ours = [s for s in report["stacks"]
            if {"alloc_pipe_info", "do_pipe2"} <= {f.get("function") for f in s["frames"]}]
    assert ours, [[f.get("function") for f in s["frames"]][:6] for s in report["stacks"]]
    assert all(f.get("module") == "kernel" for s in ours for f in s["frames"]), ours
    assert any(pipes <= s["allocs"] < pipes + 200 for s in ours), [s["allocs"] for s in ours]
    # Its own map's elements are not among them (a map allocating as it goes fed itself, on 6.1
    # a million refills of the BPF allocator in a second), and the map never filled up.
    assert not [s for s in report["stacks"]
                if "alloc_bulk" in {f.get("function") for f in s["frames"]}], report["stacks"][:1]
    assert report["allocs_lost"] == 0 and report["allocs"] < 100000, report["allocs"]
    return report


def test_full_maps_are_counted_as_lost():
    """--max-allocs and --max-stacks smaller than what the fixture leaks: what did not fit is
    counted (allocs_lost, stacks_lost) and said in the table, never silently left out."""
    n = 100
    report = trace_command(["--max-allocs", "10"], f"memleak_leaks {n} run")
    assert report["allocs"] <= 10 and report["allocs_lost"] >= n - 10, report
    report = trace_command(["--max-stacks", "2"], f"memleak_leaks {n} run")
    # Allocations whose stack found no room are summed under an empty stack.
    stored = [s for s in report["stacks"] if s["frames"]]
    assert len(stored) <= 2 and report["stacks_lost"] > 0, report
    t = Tracer(["memleak", "--max-stacks", "2", "--max-allocs", "10", "-c",
                f"memleak_leaks {n} run"], env=env_with_helpers())
    rc, out, err = t.wait(60)
    assert rc == 0, err
    assert re.search(rb"\(\d+ stacks could not be stored: --max-stacks\)", out), out
    assert re.search(rb"\(\d+ allocations could not be tracked: --max-allocs\)", out), out


def test_usage_errors():
    assert_usage_error(["memleak", "-p", "1", "-c", "true"], r"cannot be used together")
    assert_usage_error(["memleak", "--combined-only", "-a", "-p", "1"], r"--combined-only")
    assert_usage_error(["memleak", "-z", "100", "-Z", "10", "-p", "1"], r"--min-size")
    assert_usage_error(["memleak", "-s", "0", "-p", "1"], r"invalid --sample")
    assert_usage_error(["memleak", "abc"], r"invalid interval")
    assert_usage_error(["memleak", "1", "2", "3"], r"unexpected argument")
    assert_usage_error(["memleak", "-p", "1", "--method", "tracepoint"], r"--method is for kernel")


def test_ring_buffer_is_small_unless_it_carries_rows():
    """Without -t the ring only carries "the process mapped code" notices: 16K, not the common
    1M (a MiB of RSS), unless --ringbuf-size says otherwise; with -t it carries every call."""
    idle = subprocess.Popen(["sleep", "60"])
    sizes = {}
    try:
        for name, args in (("notices", []), ("given", ["--ringbuf-size", "64K"]),
                           ("trace", ["-t"])):
            t = Tracer(["memleak", "-p", str(idle.pid)] + args)
            sizes[name] = lib.ringbuf_sizes(t.proc.pid)
            rc, _, err = t.stop()
            assert rc == 0, err
    finally:
        idle.kill()
        idle.wait()
    assert sizes == {"notices": [16 << 10], "given": [64 << 10], "trace": [1 << 20]}, sizes


def test_uprobes_share_a_uprobe_multi_link_per_program_where_the_kernel_has_them():
    """6.6+ (this host): one uprobe_multi link for each of the 8 programs glibc's functions take,
    in place of 19 uprobes, which are slow to detach. Before (the test VM's 6.1): a uprobe per
    function, and no uprobe_multi link."""
    idle = subprocess.Popen(["sleep", "60"])
    try:
        t = Tracer(["memleak", "-v", "-p", str(idle.pid)])
        types = [kind for kind, _ in lib.bpf_links(t.proc.pid)]
        rc, _, err = t.stop()
    finally:
        idle.kill()
        idle.wait()
    assert rc == 0, err
    if lib.kernel_version() >= (6, 6):
        assert b"one uprobe_multi link per program" in err, err
        assert (types.count("uprobe_multi"), types.count("uretprobe_multi")) == (7, 1), types
    else:
        assert b"one link per function (no uprobe_multi links here)" in err, err
        assert not [x for x in types if x.endswith("probe_multi")], types
