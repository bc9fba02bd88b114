"""ebpftrace softirqs and hardirqs on the running kernel: their counts against the kernel's own
counters (/proc/softirqs, /proc/interrupts) read around the traced window.

The kernel counts a softirq vector where it calls softirq_entry, and an irq where it calls its
handlers. ebpftrace counts from attach to its report, a window that starts after the first
reading of the kernel's counters (A0) and ends before the last (A1), and contains the time
between the tracer being ready (B0) and being told to stop (B1). So for every key,
B1 - B0 <= ours <= A1 - A0, however busy the machine is, but for one thing measured on 6.18:
the kernel's counter and its tracepoint disagree now and then by a few passes. A tracer
attached long before, reading its programs' run counts (the kernel's, from BPF_ENABLE_STATS)
at B0 and B1, saw its runs differ from /proc/softirqs by -2 to +4 in a window of ~0.4 s,
whatever came before the window (nothing, a sleep, a process starting, a BPF load): 27 of 81
windows differed. ebpftrace's counts were its programs' runs exactly. So the inner bound has a
margin (kernel_low), and the exact check is against the kernel's count of our own programs'
runs: every run until B1 is in the report.
"""
import os
import re
import signal
import tempfile
import time

from lib import Tracer, assert_usage_error, json_lines, run
import lib


def proc_softirqs():
    with open("/proc/softirqs") as f:
        lines = f.read().splitlines()[1:]
    return {ln.split(":")[0].strip(): sum(int(x) for x in ln.split(":")[1].split())
            for ln in lines}


def proc_interrupts():
    """{irq: (count over CPUs, names)} for the numbered irqs with a single handler."""
    with open("/proc/interrupts") as f:
        lines = f.read().splitlines()
    ncpu = len(lines[0].split())
    irqs = {}
    for ln in lines[1:]:
        head, _, rest = ln.partition(":")
        if not head.strip().isdigit():
            continue
        cols = rest.split()
        irqs[int(head)] = (sum(int(x) for x in cols[:ncpu]), cols[-1])
    return irqs


def disk_work():
    """Some interrupts of our own: writes forced to the disk (or the VM's shared file system)."""
    with tempfile.NamedTemporaryFile(dir=lib.ROOT + "/build") as f:
        for _ in range(20):
            f.write(os.urandom(65536))
            f.flush()
            os.fsync(f.fileno())


def kernel_low(low):
    """The least we may count of what the kernel's counter says happened in the inner window:
    the findings in the docstring above, and once in the suite's ASan run 27 RCU softirqs
    against 34 (a fifth fewer)."""
    return low - low // 5 - 2


def bracketed(sub, args, read_counters):
    """Run sub with args, reading the counters around it as described above; returns the
    counters (A0, B0, B1, A1), ebpftrace's objects, and how many times the kernel had run its
    exit programs at B1."""
    with lib.bpf_stats():
        a0 = read_counters()
        t = Tracer([sub, "--json"] + args)
        b0 = read_counters()
        disk_work()
        time.sleep(0.5)
        b1 = read_counters()
        runs = lib.program_runs(t.proc.pid)
        t.proc.send_signal(signal.SIGINT)
        rc, out, err = t.wait()
        a1 = read_counters()
    assert rc == 0, err
    exits = [n for name, n in runs.items() if "_exit_" in name]
    assert len(exits) == 1, runs
    return (a0, b0, b1, a1), json_lines(out), exits[0]


def assert_every_run_counted(counted, exit_runs, timed):
    """Every run of the exit program until B1 is in the report; timed, all but a span per CPU
    that began before the entry program was attached."""
    slack = os.cpu_count() if timed else 0
    assert counted >= exit_runs - slack, (counted, exit_runs)


def methods():
    return lib.usable_methods(("tp_btf", "raw_tracepoint"), "raw_tracepoint")


def test_softirq_counts_match_the_kernels_counters():
    names = {"HI": 0, "TIMER": 1, "NET_TX": 2, "NET_RX": 3, "BLOCK": 4, "IRQ_POLL": 5,
             "TASKLET": 6, "SCHED": 7, "HRTIMER": 8, "RCU": 9}
    for method in methods():
        for mode in (["-C"], []):
            (a0, b0, b1, a1), objs, runs = bracketed("softirqs", mode + ["--method", method],
                                                     proc_softirqs)
            got = {o["softirq"]: o for o in objs}
            assert got, objs
            assert_every_run_counted(sum(o["count"] for o in objs), runs, not mode)
            for name in names:
                n = got[name]["count"] if name in got else 0
                assert kernel_low(b1[name] - b0[name]) <= n <= a1[name] - a0[name], (
                    method, name, n, a0, b0, b1, a1)
            for o in objs:
                assert o["type"] == "softirqs" and o["vec"] == names[o["softirq"]], o
                if mode:
                    assert "total_us" not in o, o
                else:
                    assert 0 < o["total_us"] < o["count"] * 100000, o


def test_hardirq_counts_and_names_match_the_kernels():
    for method in methods():
        (a0, b0, b1, a1), objs, runs = bracketed("hardirqs", ["-C", "--method", method],
                                                 proc_interrupts)
        assert objs, "no interrupt at all while writing to the disk"
        assert_every_run_counted(sum(o["count"] for o in objs), runs, False)
        for o in objs:
            irq = o["irq"]
            assert o["name"] == a1[irq][1], (o, a1[irq])
            assert kernel_low(b1[irq][0] - b0[irq][0]) <= o["count"] <= a1[irq][0] - a0[irq][0], (
                o, a0[irq], b0[irq], b1[irq], a1[irq])
        seen = {o["irq"] for o in objs}
        assert all(kernel_low(b1[i][0] - b0[i][0]) <= 0 for i in b0 if i not in seen and i in b1)


def test_histograms_count_what_the_totals_count():
    (a0, b0, b1, a1), objs, runs = bracketed("hardirqs", ["--hist", "-N"], proc_interrupts)
    hists = [o for o in objs if o["type"] == "hist"]
    assert hists and len(hists) == len(objs)
    assert_every_run_counted(sum(h["count"] for h in hists), runs, True)
    for h in hists:
        key = h["key"]
        irq = key["irq"]
        assert key["name"] == a1[irq][1], h
        assert h["unit"] == "nsecs" and h["count"] == sum(b["count"] for b in h["buckets"])
        assert kernel_low(b1[irq][0] - b0[irq][0]) <= h["count"] <= a1[irq][0] - a0[irq][0], (
            h, a0[irq], b0[irq], b1[irq], a1[irq])
        assert h["buckets"][0]["low"] <= h["p50"] <= h["p99"] <= h["buckets"][-1]["high"], h


def test_intervals_and_table():
    p = run(["softirqs", "0.3", "2"])
    assert p.returncode == 0, p.stderr
    blocks = p.stdout.decode().strip("\n").split("\n\n")
    assert len(blocks) == 2, p.stdout
    for b in blocks:
        lines = b.splitlines()
        assert lines[0].split() == ["SOFTIRQ", "COUNT", "TOTAL_usecs"], lines
        for ln in lines[1:]:
            name, count, total = ln.split()
            assert int(count) > 0 and re.fullmatch(r"\d+\.\d{3}", total), ln
    p = run(["hardirqs", "-C", "0.3", "1"])
    assert p.returncode == 0 and p.stdout.decode().split("\n")[0].split() == ["IRQ", "NAME", "COUNT"]


def test_bad_input_is_a_one_line_usage_error():
    for sub in ("softirqs", "hardirqs"):
        assert_usage_error([sub, "--hist", "-C"], r"--hist and --counts exclude each other")
        assert_usage_error([sub, "--count", "3"], r"--count does not apply")
        assert_usage_error([sub, "0"], r"invalid interval '0'")
        assert_usage_error([sub, "1", "x"], r"invalid count 'x'")
        assert_usage_error([sub, "1", "2", "3"], r"unexpected argument '3'")
        assert_usage_error([sub, "--method", "kprobe"], r"invalid --method 'kprobe'")
