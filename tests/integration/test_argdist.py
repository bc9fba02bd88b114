"""ebpftrace argdist on the running kernel: exact histograms of vfs_write()'s count and return
value for the write()s of a workload of ours, to /dev/null, each one call of vfs_write.

argdist needs fentry or kprobe. On a kernel that allows neither (our dev host) it must exit 3,
which test_without_fentry_and_kprobe_exits_3 asserts; the histogram tests need one of them and
run in the test VM (tests/vm/run-tests.sh -k argdist), once per method the kernel allows, forced
with --method. The bad-input tests run everywhere.
"""
import subprocess
import sys

from lib import Tracer, assert_nothing_loaded, assert_usage_error, json_lines, run
from test_metrics import Served, assert_histogram, promtool_check, samples, value
import lib

METHODS = ("fentry", "kprobe")

# Waits for a line on stdin, then writes: "SIZExN" N writes of SIZE bytes to /dev/null, "badN" N
# writes to /dev/null opened read-only (vfs_write fails them with -EBADF); "closeN" N closes of
# a descriptor it opened (close_fd returns 0), "badcloseN" N of one not open (-EBADF).
WRITER = """
import os, sys
os.write(1, b'ready\\n')  # its start-up (imports closing files) is over: the tracer may start
sys.stdin.readline()
wr, ro = os.open('/dev/null', os.O_WRONLY), os.open('/dev/null', os.O_RDONLY)
for spec in sys.argv[1:]:
    if spec.startswith('close') or spec.startswith('badclose'):
        for _ in range(int(spec.split('close')[1])):
            try:
                os.close(99999 if spec.startswith('bad') else os.open('/dev/null', os.O_RDONLY))
            except OSError:
                pass
        continue
    if spec.startswith('bad'):
        for _ in range(int(spec[3:])):
            try:
                os.write(ro, b'x')
            except OSError:
                pass
        continue
    size, n = map(int, spec.split('x'))
    for _ in range(n):
        os.write(wr, b'x' * size)
os._exit(0)  # no interpreter shutdown: its closes of the standard streams would be counted
"""

# The writes of most tests, and their log2 buckets (low, high, count): 1 is bucket 1..1, 5 is in
# 4..7, 100 in 64..127, 4096 in 4096..8191.
WRITES = ["1x3", "5x4", "100x5", "4096x2"]
LOG2 = [(1, 1, 3), (4, 7, 4), (64, 127, 5), (4096, 8191, 2)]
SUM = 3 * 1 + 4 * 5 + 5 * 100 + 2 * 4096


_features = {}
_check = {}


def features():
    """{feature: usable} as `ebpftrace check --json argdist` reports them: the check of argdist
    alone, which a slow VM finishes in seconds, where that of every subcommand may take long."""
    if not _features:
        p = run(["check", "--json", "argdist"], timeout=120)
        assert p.returncode in (0, 3), p.stderr
        _features.update({o["name"]: o["ok"] for o in json_lines(p.stdout, "feature")})
        _check.update(json_lines(p.stdout, "subcommand")[0])
    return _features


def usable_methods():
    """The methods `ebpftrace check` reports usable here; none: the test VM covers these."""
    feats = features()
    usable = [m for m in METHODS if feats.get(m)]
    if not usable:
        raise lib.Unsupported("neither fentry nor kprobe attaches on this kernel "
                              "(ebpftrace check); the test VM covers it")
    return usable


class Writer:
    """The workload, started and waiting: its pid is known before the tracer starts."""

    def __init__(self, specs):
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER] + specs,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        assert self.proc.stdout.readline() == b"ready\n"

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


def hists(args, specs=WRITES, method=None, pid_filter=True):
    """argdist --json ARGS while a writer runs specs (-p its pid): its histograms, by key."""
    w = Writer(specs)
    extra = (["--method", method] if method else []) + (["-p", str(w.pid)] if pid_filter else [])
    t = Tracer(["argdist", "--json"] + extra + args)
    w.go()
    rc, out, err = t.stop()
    assert rc == 0, err
    return json_lines(out, "hist"), w.pid


def buckets_of(h):
    return [(b["low"], b.get("high"), b["count"]) for b in h["buckets"]]


def the_hist(args, **kw):
    got, _ = hists(args, **kw)
    assert len(got) == 1, got
    return got[0]


def test_count_by_name_and_by_index():
    """vfs_write's count, by name and as arg2: the same exact log2 buckets, for each method."""
    for m in usable_methods():
        for arg in ("count", "arg2"):
            h = the_hist(["vfs_write", arg], method=m)
            assert buckets_of(h) == LOG2, (m, arg, h)
            assert (h["count"], h["sum"], h["unit"], h["key"]) == (14, SUM, arg, {}), (m, h)
            assert "below" not in h, h


def test_return_value_with_failures_below():
    """ret of vfs_write: the bytes written, and the -EBADF of writes to a read-only fd counted
    below the buckets (ssize_t is signed), not in the top one; the same for close_fd's int."""
    for m in usable_methods():
        h = the_hist(["vfs_write", "ret"], specs=WRITES + ["bad6"], method=m)
        assert buckets_of(h) == LOG2, (m, h)
        assert (h["count"], h["below"], h["sum"]) == (14, 6, SUM), (m, h)
        # An int in a 64-bit register: its sign is the type's, not bit 63's.
        h = the_hist(["close_fd", "ret"], specs=["close3", "badclose4"], method=m)
        assert buckets_of(h) == [(0, 0, 3)], (m, h)
        assert (h["count"], h["below"], h["sum"]) == (3, 4, 0), (m, h)


def test_linear_buckets():
    """--linear 0,200,50: four buckets of 50 and one for 200 and above; --linear 10,210,50: the
    values under 10 counted below."""
    for m in usable_methods():
        h = the_hist(["--linear", "0,200,50", "vfs_write", "count"], method=m)
        assert buckets_of(h) == [(0, 49, 7), (100, 149, 5), (200, None, 2)], (m, h)
        h = the_hist(["--linear", "10,210,50", "vfs_write", "count"], method=m)
        assert buckets_of(h) == [(60, 109, 5), (210, None, 2)], (m, h)
        assert (h["count"], h["below"]) == (7, 7), (m, h)


def test_pid_filter_and_per_process():
    """-p counts only the writer it names, whatever else writes meanwhile; -P splits by process
    and names it: the writer's histogram is exact."""
    method = usable_methods()[0]
    other = Writer(["7x50"])
    try:
        w = Writer(WRITES)
        t = Tracer(["argdist", "--json", "--method", method, "-p", str(w.pid), "vfs_write",
                    "count"])
        other.go()
        w.go()
        rc, out, err = t.stop()
    finally:
        other.proc.kill()
        other.proc.wait()
    assert rc == 0, err
    got = json_lines(out, "hist")
    assert len(got) == 1 and buckets_of(got[0]) == LOG2, got
    got, pid = hists(["-P", "vfs_write", "count"], pid_filter=False, method=method)
    mine = [h for h in got if h["key"]["pid"] == pid]
    assert len(mine) == 1, got
    assert buckets_of(mine[0]) == LOG2 and mine[0]["key"]["comm"].startswith("python"), mine


def test_interval_and_count_and_text():
    """argdist FUNC ARG 0.2 3: three histograms, then it ends by itself; the text output has
    the bars and the type of the argument on stderr."""
    usable_methods()
    p = run(["argdist", "vfs_write", "count", "0.2", "3"], timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"Tracing vfs_write count (size_t)." in p.stderr, p.stderr
    assert p.stdout.count(b" distribution\n") + p.stdout.count(b"no events\n") == 3, p.stdout


def test_metrics_histogram_of_values():
    """--metrics: the log2 buckets as a Prometheus histogram of plain values (le 2^k - 1), with
    the exact sum and count; promtool accepts it."""
    method = usable_methods()[0]
    w = Writer(WRITES)
    with Served(["argdist", "--method", method, "-p", str(w.pid), "vfs_write", "count"]) as s:
        w.go()
        scraped = []
        lib.wait_for(lambda: scraped.append(s.scrape()) or "_count 14\n" in scraped[-1], 10,
                     "the 14 writes in /metrics")
        text = scraped[-1]
        promtool_check(text)
        smp = samples(text)
        name = "ebpftrace_argdist_values"
        assert_histogram(smp, name)
        assert value(smp, name + "_bucket", le="0") == 0
        assert value(smp, name + "_bucket", le="1") == 3
        assert value(smp, name + "_bucket", le="7") == 7
        assert value(smp, name + "_bucket", le="127") == 12
        assert value(smp, name + "_bucket", le="8191") == 14
        assert value(smp, name + "_sum") == SUM


def test_without_fentry_and_kprobe_exits_3():
    """Where the kernel takes neither method (our dev host), exit 3 with the reason in one line
    and nothing loaded; a method it refuses, forced, the same. Where one works, the run does."""
    feats = features()
    for m in METHODS:
        if not feats.get(m):
            p = run(["argdist", "--method", m, "vfs_write", "count", "-d", "0.1"])
            err = p.stderr.decode()
            assert p.returncode == 3 and err.count("\n") == 1, (m, p.returncode, err)
            assert f"--method {m} is not usable on this kernel" in err, err
    p = run(["argdist", "vfs_write", "count", "-d", "0.1"])
    err = p.stderr.decode()
    if any(feats.get(m) for m in METHODS):
        assert p.returncode == 0, err
    else:
        assert p.returncode == 3 and err.count("\n") == 1, (p.returncode, err)
        assert "no attach method works on this kernel" in err, err
    assert_nothing_loaded()


def test_check_runs_it_where_a_method_works():
    """`ebpftrace check argdist` starts it for real (vfs_write count): it runs where fentry or
    kprobe does, and says which it chose; elsewhere it says why not."""
    feats = features()
    assert _check["name"] == "argdist", _check
    assert _check["runs"] == any(feats.get(m) for m in METHODS), (feats, _check)
    if not _check["runs"]:
        assert "no attach method works" in _check["reason"], _check


def test_bad_input_is_a_usage_error():
    assert_usage_error(["argdist", "no_such_function_xyz", "arg0"], r"unknown function")
    assert_usage_error(["argdist", "ksys_write", "arg6"], r"ksys_write has 3 arguments")
    assert_usage_error(["argdist", "vfs_write", "file"],
                       r"file of vfs_write is struct file \*, not an integer")
    assert_usage_error(["argdist", "vfs_write", "nosuchparam"], r"no parameter 'nosuchparam'")
    assert_usage_error(["argdist", "kfree", "ret"], r"kfree returns void")
    assert_usage_error(["argdist", "vfs_write"], r"expected FUNCTION ARG")
    assert_usage_error(["argdist", "--linear", "0,100,30", "vfs_write", "count"],
                       r"invalid --linear")
    assert_usage_error(["argdist", "--linear", "0,1000,1", "vfs_write", "count"],
                       r"1001 buckets, at most 128")
    assert_usage_error(["argdist", "vfs_write", "count", "x"], r"invalid interval")
    assert_usage_error(["argdist", "--linear", "0,100,10", "--metrics", "19999", "vfs_write",
                        "count"], r"--linear does not apply")
