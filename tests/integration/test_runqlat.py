"""ebpftrace runqlat on the running kernel: histograms of run-queue waits of workloads we start.

Every workload test runs once per attach method the kernel allows (`ebpftrace check --json`),
forced with --method: tp_btf (with task-local storage where the kernel is 6.4+, else a hash) and
raw_tracepoint (always a hash).
"""
import os
import re
import signal
import subprocess
import time
import uuid

from lib import Tracer, assert_usage_error, json_lines, run, wait_for
import lib

METHODS = ("tp_btf", "raw_tracepoint")


def usable_methods():
    """The methods runqlat has that `ebpftrace check` reports usable on this kernel."""
    return lib.usable_methods(METHODS, "raw_tracepoint")


class Hog:
    """The runq_hog helper: twice as many spinning threads as CPUs, so that they wait their turns.
    A context manager: it spins until the with block ends (a minute at most)."""

    def __init__(self, wrap=(), args=(), preexec=None, seconds=60):
        self.threads = 2 * os.cpu_count()
        self.proc = subprocess.Popen(list(wrap) + [lib.helper("runq_hog")] + list(args) +
                                     [str(self.threads), str(seconds)],
                                     stdout=subprocess.PIPE, preexec_fn=preexec)
        assert self.proc.stdout.readline() == b"ready\n"
        self.pid = self.proc.pid if not wrap else only_child(self.proc.pid)

    def tids(self):
        return {int(t) for t in os.listdir(f"/proc/{self.pid}/task")}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def only_child(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        (child,) = f.read().split()
    return int(child)


def runqlat(args, timeout=30):
    """Run runqlat to its end (it is given an interval count); returns its hist objects."""
    p = run(["runqlat", "--json"] + args, timeout=timeout)
    assert p.returncode == 0, f"{args}: exit {p.returncode}: {p.stderr!r}"
    return json_lines(p.stdout, "hist")


def check_hist(h, unit="usecs"):
    """A well-formed histogram: log2 buckets in order, counts adding up, percentiles in range."""
    assert h["unit"] == unit, h
    assert h["count"] == sum(b["count"] for b in h["buckets"]), h
    lows = [b["low"] for b in h["buckets"]]
    assert lows == sorted(set(lows)), h
    for b in h["buckets"]:
        assert b["count"] > 0, h
        assert b["high"] == (b["low"] if b["low"] < 2 else 2 * b["low"] - 1), h
    if h["count"]:
        assert lows[0] <= h["p50"] <= h["p90"] <= h["p99"] <= h["buckets"][-1]["high"], h
        assert h["sum"] <= h["count"] * (h["buckets"][-1]["high"] + 1), h
    assert abs(h["ts_ns"] / 1e9 - time.time()) < 60, h


def test_oversubscribed_workload_two_intervals_per_method():
    for method in usable_methods():
        with Hog() as hog:
            hists = runqlat(["--method", method, "-p", str(hog.pid), "1", "2"])
        assert len(hists) == 2, (method, hists)
        for h in hists:
            check_hist(h)
            assert h["key"] == {} and h["count"] > 0 and h["sum"] > 0, (method, h)
        gap = (hists[1]["ts_ns"] - hists[0]["ts_ns"]) / 1e9
        assert 0.9 < gap < 1.5, (method, gap)


def test_per_process_key_is_the_process_name():
    for method in usable_methods():
        with Hog() as hog:
            hists = runqlat(["--method", method, "-P", "-p", str(hog.pid), "1", "1"])
        assert len(hists) == 1, (method, hists)
        check_hist(hists[0])
        # The waits are the worker threads' (comm hog-worker); the label is the process's.
        assert hists[0]["key"] == {"pid": hog.pid, "comm": "runq_hog"}, (method, hists)
        assert hists[0]["count"] > 0, (method, hists)


def test_per_process_without_filter_includes_the_workload():
    with Hog() as hog:
        hists = runqlat(["-P", "1", "1"])
    keys = [h["key"] for h in hists]
    assert {"pid": hog.pid, "comm": "runq_hog"} in keys, keys
    assert len({k["pid"] for k in keys}) == len(keys), keys  # one histogram per process
    for h in hists:
        check_hist(h)
        assert h["count"] > 0, h


def test_per_thread_keys_are_the_threads_with_their_names():
    for method in usable_methods():
        with Hog() as hog:
            names = {tid: open(f"/proc/{hog.pid}/task/{tid}/comm").read().rstrip("\n")
                     for tid in hog.tids()}
            hists = runqlat(["--method", method, "-L", "-p", str(hog.pid), "1", "1"])
        # The workers are named hog-worker; the main thread (runq_hog) may wait too on its way
        # to sleep.
        assert set(names.values()) == {"runq_hog", "hog-worker"}, names
        assert any(h["key"]["comm"] == "hog-worker" for h in hists), (method, hists)
        for h in hists:
            check_hist(h)
            assert h["key"] == {"tid": h["key"]["tid"], "comm": names.get(h["key"]["tid"])}, (
                method, h, names)
        assert [h["key"]["tid"] for h in hists] == sorted(h["key"]["tid"] for h in hists)


def test_tid_filter_keeps_one_thread():
    with Hog() as hog:
        tid = max(hog.tids())
        hists = runqlat(["-L", "-t", str(tid), "1", "1"])
    assert [h["key"] for h in hists] == [{"tid": tid, "comm": "hog-worker"}], hists
    assert hists[0]["count"] > 0, hists


def as_nobody():
    os.setgid(65534)
    os.setuid(65534)


def test_uid_filter_includes_and_excludes():
    with Hog(preexec=as_nobody) as inside, Hog() as outside:
        hists = runqlat(["-P", "-u", "65534", "1", "1"])
    pids = [h["key"]["pid"] for h in hists]
    assert inside.pid in pids and outside.pid not in pids, (inside.pid, outside.pid, hists)


def test_name_filter_includes_and_excludes():
    """-n matches the waiting task's comm: the hog's workers (hog-worker), not pingpong."""
    with Hog() as hog:
        other = subprocess.Popen([lib.helper("pingpong"), "-c", "0", "1000000"],
                                 stdout=subprocess.DEVNULL)
        try:
            hists = runqlat(["-P", "-n", "hog-work", "1", "1"])
        finally:
            other.kill()
            other.wait()
    keys = [h["key"] for h in hists]
    assert {"pid": hog.pid, "comm": "runq_hog"} in keys, keys
    assert other.pid not in [k["pid"] for k in keys], keys
    assert all(k["comm"] == "runq_hog" for k in keys), keys


def test_milliseconds_change_the_unit():
    with Hog() as hog:
        hists = runqlat(["-m", "-p", str(hog.pid), "1", "1"])
        text = run(["runqlat", "-m", "-p", str(hog.pid), "1", "1"], timeout=30)
    assert len(hists) == 1 and hists[0]["count"] > 0, hists
    check_hist(hists[0], unit="msecs")
    out = text.stdout.decode()
    assert text.returncode == 0 and out.startswith(
        "     msecs               : count    distribution\n"), out
    assert re.search(r"^count \d+, mean [\d.]+, p50 \d+, p90 \d+, p99 \d+ \(msecs\)$", out, re.M)


def test_every_wait_is_counted_exactly():
    """Two processes pinned to one CPU pass a byte back and forth: every round trip wakes each
    once and each wakeup waits for the CPU, so the waits are twice the round trips (give or take
    the first and last one), plus a few preemptions by whatever else runs on that CPU."""
    n = 20000
    for method in usable_methods():
        t = Tracer(["runqlat", "--json", "--method", method, "-n", "pingpong"])
        p = subprocess.run([lib.helper("pingpong"), "-c", "0", str(n)], capture_output=True,
                           check=True)
        rc, out, err = t.stop()
        assert rc == 0, err
        assert re.match(rb"\d+ round trips in [\d.]+ s: \d+ round trips/s", p.stdout), p.stdout
        (h,) = json_lines(out, "hist")
        check_hist(h)
        assert 2 * n - 2 <= h["count"] <= 2 * n + n // 50, (method, h["count"])


def test_idle_pid_says_no_events():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        p = run(["runqlat", "-p", str(sleeper.pid), "1", "1"])
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"no events\n\n", p.stdout
        hists = runqlat(["-P", "-p", str(sleeper.pid), "1", "1"])
    finally:
        sleeper.kill()
        sleeper.wait()
    (h,) = hists
    assert h["ts_ns"] > 0
    del h["ts_ns"]
    assert h == {"type": "hist", "unit": "usecs", "key": {}, "buckets": [], "count": 0, "sum": 0,
                 "p50": None, "p90": None, "p99": None}, h


def test_ctrl_c_without_interval_prints_once():
    with Hog() as hog:
        t = Tracer(["runqlat", "--json", "-p", str(hog.pid)])
        time.sleep(1)
        rc, out, err = t.stop(signal.SIGINT)
    assert rc == 0, err
    (h,) = json_lines(out, "hist")
    check_hist(h)
    assert h["count"] > 0


def test_duration_ends_the_run_with_the_interval_so_far():
    with Hog() as hog:
        start = time.monotonic()
        hists = runqlat(["-d", "1.5", "-p", str(hog.pid), "1"])
        took = time.monotonic() - start
    assert len(hists) == 2 and all(h["count"] > 0 for h in hists), hists
    assert took < 10, took


def test_text_with_timestamps():
    with Hog() as hog:
        p = run(["runqlat", "-T", "-p", str(hog.pid), "1", "2"])
    assert p.returncode == 0, p.stderr
    blocks = p.stdout.decode().split("\n\n")
    assert blocks[-1] == "", blocks
    blocks = blocks[:-1]
    assert len(blocks) == 2, blocks
    for block in blocks:
        lines = block.split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", lines[0]), lines
        assert lines[1] == "     usecs               : count    distribution", lines
        counts = []
        for row in lines[2:-1]:
            m = re.fullmatch(r" *(\d+) -> (\d+) *: (\d+) +\|([* ]{40})\|", row)
            assert m, row
            counts.append(int(m.group(3)))
        m = re.fullmatch(r"count (\d+), mean [\d.]+, p50 \d+, p90 \d+, p99 \d+ \(usecs\)",
                         lines[-1])
        assert m and int(m.group(1)) == sum(counts) > 0, lines


def test_per_pid_namespace_is_the_tasks_own():
    """A workload in a new pid namespace is counted under it; one whose threads only moved their
    future children to a new namespace (pid_for_children) stays under its own."""
    with Hog(wrap=["unshare", "--pid", "--fork"]) as hog:
        ns = os.stat(f"/proc/{hog.pid}/ns/pid").st_ino
        assert ns != os.stat("/proc/self/ns/pid").st_ino
        hists = runqlat(["--pidnss", "-p", str(hog.pid), "1", "1"])
    assert [h["key"] for h in hists] == [{"pidns": ns}], hists
    check_hist(hists[0])
    with Hog(args=["-n"]) as hog:
        worker = max(hog.tids())
        ns = os.stat(f"/proc/{hog.pid}/task/{worker}/ns/pid").st_ino
        try:
            assert os.stat(f"/proc/{hog.pid}/task/{worker}/ns/pid_for_children").st_ino != ns
        except FileNotFoundError:
            pass  # a new namespace with no process in it yet
        hists = runqlat(["--pidnss", "-t", str(worker), "1", "1"])
    assert [h["key"] for h in hists] == [{"pidns": ns}], hists


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2" and fields[3] == "/":
                return fields[4]
    raise lib.Skip("no cgroup2 mount")


def test_per_cgroup_key_is_the_path_and_cgroup_filter():
    root = cgroup2_root()
    name = "ebt-" + uuid.uuid4().hex[:12]
    parent = os.path.join(root, name)
    child = os.path.join(parent, "child")
    os.makedirs(child)
    try:
        def enter():
            with open(os.path.join(child, "cgroup.procs"), "w") as f:
                f.write("0")
        for method in usable_methods():
            with Hog(preexec=enter):
                # The filter names the parent: the workload's own cgroup is below it.
                hists = runqlat(["--method", method, "--cgroups", "-c", parent, "1", "1"])
            assert [h["key"] for h in hists] == [
                {"cgroup": f"/{name}/child", "cgroup_id": os.stat(child).st_ino}], hists
            check_hist(hists[0])
            assert hists[0]["count"] > 0
    finally:
        wait_for(lambda: not open(os.path.join(child, "cgroup.procs")).read(),
                 what="empty cgroup")
        os.rmdir(child)
        os.rmdir(parent)


def test_verbose_says_method_and_storage():
    for method in usable_methods():
        p = run(["runqlat", "-v", "--method", method, "-d", "0.2"])
        err = p.stderr.decode()
        assert p.returncode == 0, err
        assert f"method: attaching with {method}" in err, err
        # Task storage only for tp_btf, and only from 6.4 (cmd/runqlat.c): this kernel decides.
        in_task = method == "tp_btf" and lib.kernel_version() >= (6, 4)
        storage = "task-local storage" if in_task else "a hash by thread id"
        assert f"wakeup times in {storage}" in err, (method, err)
        assert err.count("wakeup times in ") == 1, err


def test_bad_input_is_a_one_line_usage_error():
    interval = r"invalid interval '.*': expected a number of seconds > 0"
    count = r"invalid count '.*': expected a whole number > 0"
    for args, pattern in [
        (["0"], interval), (["0.0"], interval), (["--", "-1"], interval), (["-1"], "option"),
        (["x"], interval), (["1e3"], interval), (["1", "x"], count), (["1", "0"], count),
        (["1", "-2"], "option"), (["1", "1.5"], count), (["1", "2", "3"], "unexpected argument"),
        (["-P", "-L"], "exclude each other"), (["--pidnss", "--cgroups"], "exclude each other"),
        (["--count", "2"], "positional|interval"), (["--method", "kprobe"], "tp_btf"),
    ]:
        assert_usage_error(["runqlat"] + args, pattern)
