"""--metrics: every subcommand's /metrics as promtool and a real Prometheus server read it.

Everything listens on 127.0.0.1 only: our /metrics, the TCP servers the connects go to, and the
Prometheus server, which runs from a temporary config and data directory and is stopped after.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from lib import (Tracer, assert_nothing_loaded, assert_usage_error, helper, json_lines, run,
                 wait_for)
from test_bashreadline import typed_bash
from test_biopattern import BLOCK, BLOCKS, loop_device, read_blocks
from test_exit import SIGQUIT, SIGTERM, exiter
from test_runqlat import Hog
from test_softirqs import disk_work, kernel_low, proc_interrupts, proc_softirqs
from test_tcprtt import ROUNDS, ping_pong
from test_tcpstates import SERVER_PORT, connection, netns_pair
import lib

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        return r.read().decode()


def samples(text):
    """{(name, frozenset of (label, value)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(smp, name, /, **labels):
    """The sample of name with exactly these labels (0 when there is none)."""
    return smp.get((name, frozenset(labels.items())), 0.0)


def of(smp, name):
    """The samples of name: [(labels dict, value)]."""
    return [(dict(k[1]), v) for k, v in smp.items() if k[0] == name]


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, f"promtool: {p.stdout!r} {p.stderr!r}\n{text[:2000]}"


class Served:
    """ebpftrace SUB ARGS --metrics PORT in the background; stopped (exit 0) by the with block."""

    def __init__(self, args, port=None):
        self.port = port or free_port()
        self.tracer = Tracer(args + ["--metrics", str(self.port)])

    def scrape(self):
        return scrape(self.port)

    def __enter__(self):
        return self

    def __exit__(self, exc, *rest):
        if exc:
            self.tracer.kill()
            return
        rc, self.out, err = self.tracer.stop()
        assert rc == 0, err


def check_served(args, make_events, expect):
    """Serve args, make events, then: promtool accepts /metrics and expect(samples) holds."""
    with Served(args + ["--quiet"]) as s:
        make_events()
        text = None

        def holds():
            nonlocal text
            text = s.scrape()
            try:
                expect(samples(text))
                return True
            except AssertionError:
                return False
        wait_for(holds, timeout=15, what=f"{args}: the expected samples")
        promtool_check(text)
        assert "ebpftrace_build_info{" in text and "ebpftrace_lost_events_total 0" in text, text


def test_exec_counts_by_result():
    mark = "ebt-" + uuid.uuid4().hex[:12]

    def execs():
        for _ in range(3):
            subprocess.run(["/bin/true", mark])
        try:
            subprocess.run([f"/nonexistent-{mark}", mark])
        except FileNotFoundError:
            pass

    def expect(smp):
        assert value(smp, "ebpftrace_exec_events_total", result="ok") == 3
        assert value(smp, "ebpftrace_exec_events_total", result="ENOENT") == 1
    check_served(["exec", "-x", "-l", mark], execs, expect)


def test_open_counts_by_syscall_and_result():
    d = tempfile.mkdtemp()
    try:
        opener = helper("opener")

        def opens():
            for _ in range(2):
                subprocess.run([opener, "-n", "ebt-metrics-op", "missing", f"{d}/none"],
                               stdout=subprocess.DEVNULL)
            subprocess.run([opener, "-n", "ebt-metrics-op", "create", f"{d}/made"],
                           stdout=subprocess.DEVNULL)

        def expect(smp):
            assert value(smp, "ebpftrace_open_events_total", syscall="openat",
                         result="ENOENT") == 2
            assert value(smp, "ebpftrace_open_events_total", syscall="openat", result="ok") == 1
        check_served(["open", "-n", "ebt-metrics-op"], opens, expect)
    finally:
        shutil.rmtree(d)


def test_kill_counts_by_signal_source_and_result():
    child = subprocess.Popen(["sleep", "30"])
    try:
        def signals():
            os.kill(child.pid, signal.SIGUSR2)
            try:
                os.kill(2 ** 22 + 7, signal.SIGTERM)  # above pid_max's default: no such process
            except ProcessLookupError:
                pass

        def expect(smp):
            assert value(smp, "ebpftrace_kill_events_total", signal="SIGUSR2", source="kill",
                         result="ok") == 1
            assert value(smp, "ebpftrace_kill_events_total", signal="SIGTERM", source="kill",
                         result="ESRCH") == 1
        check_served(["kill", "-k", "-p", str(os.getpid())], signals, expect)
    finally:
        child.kill()
        child.wait()


def connect_once(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_tcpconnlat_connects_and_latency():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        refused = free_port()

        def connects():
            for _ in range(2):
                connect_once(port)
            try:
                connect_once(refused)
            except ConnectionRefusedError:
                pass

        def expect(smp):
            name = "ebpftrace_tcpconnlat_connect_latency_seconds"
            assert value(smp, "ebpftrace_tcpconnlat_connects_total", result="established",
                         ip_version="4") == 2
            assert value(smp, "ebpftrace_tcpconnlat_connects_total", result="refused",
                         ip_version="4") == 1
            assert value(smp, name + "_count", ip_version="4") == 2
            assert value(smp, name + "_bucket", ip_version="4", le="+Inf") == 2
            assert 0 < value(smp, name + "_sum", ip_version="4") < 10
        check_served(["tcpconnlat", "-x", "--dport", f"{port},{refused}"], connects, expect)


def test_tcpconnlat_hist_by_dest():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]

        def expect(smp):
            name = "ebpftrace_tcpconnlat_connect_latency_seconds_count"
            assert value(smp, name, daddr="127.0.0.1", dport=str(port)) == 3
        check_served(["tcpconnlat", "--hist", "--by-dest", "--dport", str(port), "0.2"],
                     lambda: [connect_once(port) for _ in range(3)], expect)


def buckets(smp, name, /, **labels):
    """The (le, count) pairs of one histogram series, in order of le."""
    out = [(float(lab["le"]), v) for lab, v in of(smp, name + "_bucket")
           if {k: v for k, v in lab.items() if k != "le"} == labels]
    return sorted(out)


def assert_histogram(smp, name, /, **labels):
    """Cumulative buckets ending in +Inf, which equals _count; something counted."""
    b = buckets(smp, name, **labels)
    assert b and b[-1][0] == float("inf"), b
    assert all(x[1] <= y[1] for x, y in zip(b, b[1:])), b
    assert b[-1][1] == value(smp, name + "_count", **labels) > 0


def test_runqlat_histogram_per_process():
    with Hog() as hog:
        def expect(smp):
            assert_histogram(smp, "ebpftrace_runqlat_latency_seconds", pid=str(hog.pid),
                             comm="runq_hog")
        check_served(["runqlat", "-P"], lambda: time.sleep(0.5), expect)


def test_runqlat_intervals_stay_cumulative():
    """With an interval the kernel's histograms are emptied; the exported counts never drop."""
    with Hog(), Served(["runqlat", "--quiet", "0.3"]) as s:
        counts = []
        for _ in range(8):
            counts.append(value(samples(s.scrape()), "ebpftrace_runqlat_latency_seconds_count"))
            time.sleep(0.25)
    assert all(a <= b for a, b in zip(counts, counts[1:])) and counts[-1] > counts[0], counts


def test_memleak_gauges_and_top_stacks():
    def expect(smp):
        assert value(smp, "ebpftrace_memleak_outstanding_bytes") > 0
        assert value(smp, "ebpftrace_memleak_outstanding_allocations") > 0
        info = of(smp, "ebpftrace_memleak_top_stack_info")
        assert 1 <= len(info) <= 3 and {i[0]["rank"] for i in info} <= {"1", "2", "3"}, info
        assert all(i[0]["stack"] for i in info), info
        top = value(smp, "ebpftrace_memleak_top_stack_outstanding_bytes", rank="1")
        assert 0 < top <= value(smp, "ebpftrace_memleak_outstanding_bytes")
    check_served(["memleak", "--top", "3", "0.3"], lambda: None, expect)


def test_series_cap_drops_and_counts():
    with Hog():
        with Served(["runqlat", "-L", "--quiet", "--metrics-max-series", "3"]) as s:
            def dropped():
                smp = samples(s.scrape())
                return value(smp, "ebpftrace_metrics_dropped_total") > 0 and smp
            wait_for(dropped, timeout=10, what="a drop counted")
            smp = samples(s.scrape())
    series = [k for k in smp if k[0] == "ebpftrace_runqlat_latency_seconds_count"]
    assert len(series) == 3, series


# --- The tools on common/tool.c, each with its own integration test's workload ---------------------

def served_run(args, action, counted=None):
    """Serve `args --json` while action() runs, then scrape (until counted(samples) holds: events
    reach user space within a poll of the ring buffer) and stop; returns what action() returned,
    the samples of the last scrape (promtool accepts them) and the JSON objects the run printed."""
    with Served(args + ["--json"]) as s:
        res = action()
        text = s.scrape()
        if counted:
            def done():
                nonlocal text
                text = s.scrape()
                return counted(samples(text))
            wait_for(done, timeout=10, what=f"{args}: the events counted")
    promtool_check(text)
    return res, samples(text), json_lines(s.out)


def total(smp, name):
    return sum(v for _, v in of(smp, name))


def test_exit_counts_by_result_core_dumps_and_ages():
    def exits():
        statuses = [exiter("code", 3)[2] for _ in range(2)]
        statuses.append(exiter("signal", SIGTERM)[2])
        with tempfile.TemporaryDirectory(prefix="ebt-exit-") as d:
            statuses.append(exiter("signal", SIGQUIT, core=True, cwd=d)[2])
        return statuses

    statuses, smp, objs = served_run(["exit", "-n", "exiter"], exits,
                                     lambda smp: total(smp, "ebpftrace_exit_events_total") >= 4)
    assert value(smp, "ebpftrace_exit_events_total", result="3") == 2
    assert value(smp, "ebpftrace_exit_events_total", result="SIGTERM") == 1
    assert value(smp, "ebpftrace_exit_events_total", result="SIGQUIT") == 1
    # Whether a core was written depends on core_pattern: counted as wait() saw it.
    cores = value(smp, "ebpftrace_exit_core_dumps_total", signal="SIGQUIT")
    assert cores == (1 if os.WCOREDUMP(statuses[-1]) else 0), (cores, statuses)
    assert value(smp, "ebpftrace_exit_core_dumps_total", signal="SIGTERM") == 0
    name = "ebpftrace_exit_age_seconds"
    assert_histogram(smp, name)
    assert value(smp, name + "_count") == len(objs) == 4, objs
    ages = sum(o["age_ms"] for o in objs) / 1000
    assert abs(value(smp, name + "_sum") - ages) < 1e-5 * len(objs), (smp, ages)


def test_tcpstates_transitions_and_time_in_state():
    with netns_pair() as (cli, srv):
        # The listener's close is the connection's last change.
        _, smp, objs = served_run(
            ["tcpstates", "--saddr", "198.51.100.0/24"], lambda: connection(cli, srv, 4),
            lambda smp: value(smp, "ebpftrace_tcpstates_transitions_total", oldstate="LISTEN",
                              newstate="CLOSE") >= 1)
    changes = {}
    for o in objs:
        changes[o["oldstate"], o["newstate"]] = changes.get((o["oldstate"], o["newstate"]), 0) + 1
    # Every change shown is counted, and the connection's own are among them.
    got = {(lab["oldstate"], lab["newstate"]): v
           for lab, v in of(smp, "ebpftrace_tcpstates_transitions_total")}
    assert got == changes, (got, changes)
    for change in [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                   ("ESTABLISHED", "FIN_WAIT1"), ("LISTEN", "SYN_RECV"),
                   ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE"), ("LISTEN", "CLOSE")]:
        assert got.get(change, 0) >= 1, (change, got)
    name = "ebpftrace_tcpstates_state_duration_seconds"
    for state in {o["oldstate"] for o in objs if "old_state_ms" in o}:
        timed = [o["old_state_ms"] for o in objs if o["oldstate"] == state and "old_state_ms" in o]
        assert_histogram(smp, name, state=state)
        assert value(smp, name + "_count", state=state) == len(timed), (state, timed)
        assert abs(value(smp, name + "_sum", state=state) - sum(timed) / 1000) < 1e-5, state
    # The client held the connection established for 0.3 s.
    assert value(smp, name + "_bucket", state="ESTABLISHED", le="0.268435456") == 0


def test_bashreadline_lines_by_uid():
    uid = 61000 + os.getpid() % 4000  # a uid of this test's own
    lines = ["true one", "", "exit 0"]
    _, smp, objs = served_run(
        ["bashreadline", "-u", str(uid)], lambda: typed_bash(lines, uid=uid),
        lambda smp: total(smp, "ebpftrace_bashreadline_lines_total") >= len(lines))
    assert [o["line"] for o in objs if o["type"] == "bashreadline"] == lines, objs
    assert of(smp, "ebpftrace_bashreadline_lines_total") == [({"uid": str(uid)}, len(lines))]


def rtt_run(extra):
    with netns_pair() as (cli, srv):
        _, smp, objs = served_run(["tcprtt", "--by", "lport"] + extra,
                                  lambda: ping_pong(cli, srv))
    return smp, [o for o in objs if o["type"] == "hist" and o["key"].get("lport") == SERVER_PORT]


def test_tcprtt_histogram_by_port_across_intervals():
    """Intervals empty the kernel's histograms; the series stays cumulative and exact."""
    smp, hists = rtt_run(["0.2"])
    name = "ebpftrace_tcprtt_rtt_seconds"
    lport = str(SERVER_PORT)
    assert_histogram(smp, name, lport=lport)
    count = value(smp, name + "_count", lport=lport)
    assert ROUNDS <= count <= 2 * ROUNDS + 5 and count == sum(h["count"] for h in hists), hists
    # The JSON sum is in usecs, as the kernel keeps it: the same sum in seconds.
    assert abs(value(smp, name + "_sum", lport=lport) - sum(h["sum"] for h in hists) / 1e6) < 1e-9
    les = [le for le, _ in buckets(smp, name, lport=lport)]
    assert les[0] == 1e-6 and les[-2] < 300, les


def test_tcprtt_milliseconds_buckets():
    smp, hists = rtt_run(["-m"])
    name = "ebpftrace_tcprtt_rtt_seconds"
    les = [le for le, _ in buckets(smp, name, lport=str(SERVER_PORT))]
    assert les[0] == 0.001 and les[-2] < 300, les
    assert value(smp, name + "_count", lport=str(SERVER_PORT)) == hists[0]["count"], hists


def test_biopattern_requests_and_bytes_by_pattern():
    with loop_device() as dev:
        disk = os.path.basename(dev)

        def reads():
            read_blocks(dev, range(BLOCKS))
            read_blocks(dev, [i * 7 % BLOCKS for i in range(32)])
            time.sleep(0.5)  # reports take the counts out of the kernel's map: still served
        _, smp, objs = served_run(["biopattern", "0.2"], reads)
    st = os.stat(dev)
    labels = {"disk": disk, "dev": f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"}
    rows = [o for o in objs if o["type"] == "biopattern" and o["disk"] == disk]
    want = {"random": 1 + 32, "sequential": BLOCKS - 1}
    for pattern, n in want.items():
        assert value(smp, "ebpftrace_biopattern_requests_total", pattern=pattern, **labels) == n
        assert sum(r[pattern] for r in rows) == n, rows
        assert value(smp, "ebpftrace_biopattern_bytes_total", pattern=pattern,
                     **labels) == n * BLOCK


def bracketed_scrape(args, read_counters):
    """Serve args and scrape after some interrupts of ours, reading the kernel's counters before
    the start (A0), once ready (B0), before the scrape (B1) and after it (A1), as test_softirqs
    does; returns the counters, the samples (promtool accepts them) and what the run printed."""
    a0 = read_counters()
    with Served(args) as s:
        b0 = read_counters()
        disk_work()
        time.sleep(0.5)
        b1 = read_counters()
        text = s.scrape()
        a1 = read_counters()
    promtool_check(text)
    return (a0, b0, b1, a1), samples(text), s.out


def test_hardirqs_counts_times_and_histograms():
    """Bracketed by /proc/interrupts with test_softirqs' margin (6.18 now and then counts an irq
    more there than its handlers ran), and bounded by the run's own final report."""
    (a0, b0, b1, a1), smp, out = bracketed_scrape(["hardirqs", "--hist", "-N", "--json"],
                                                  proc_interrupts)
    final = {h["key"]["irq"]: h["count"] for h in json_lines(out, "hist")}
    events = of(smp, "ebpftrace_hardirqs_events_total")
    assert events, smp
    name = "ebpftrace_hardirqs_duration_seconds"
    for lab, n in events:
        irq = int(lab["irq"])
        low = b1[irq][0] - b0[irq][0]
        assert lab["name"] == a1[irq][1], (lab, a1[irq])
        assert kernel_low(low) <= n <= a1[irq][0] - a0[irq][0], (lab, n, a0[irq], a1[irq])
        # Read in this order from one map that only grows: events, then the histogram.
        assert n <= value(smp, name + "_count", **lab) <= final[irq], (lab, n, final[irq])
        assert_histogram(smp, name, **lab)
        assert 0 < value(smp, "ebpftrace_hardirqs_time_seconds_total", **lab) < n * 0.1


def test_softirqs_counts_without_times():
    """Bracketed by /proc/softirqs as in test_softirqs, while intervals empty the kernel's map."""
    (a0, b0, b1, a1), smp, _ = bracketed_scrape(["softirqs", "-C", "--quiet", "0.2"],
                                                proc_softirqs)
    events = of(smp, "ebpftrace_softirqs_events_total")
    assert {lab["softirq"] for lab, _ in events} >= {"TIMER"}, events
    for lab, n in events:
        low = b1[lab["softirq"]] - b0[lab["softirq"]]
        assert kernel_low(low) <= n <= a1[lab["softirq"]] - a0[lab["softirq"]], (lab, n)
    # -C counts, it does not time.
    assert not of(smp, "ebpftrace_softirqs_time_seconds_total"), smp
    assert not of(smp, "ebpftrace_softirqs_duration_seconds_count"), smp


def test_program_run_statistics():
    with lib.bpf_stats():
        mark = "ebt-" + uuid.uuid4().hex[:12]

        def expect(smp):
            runs = of(smp, "ebpftrace_program_runs_total")
            assert {r[0]["program"] for r in runs} >= {"exec_done", "exec_exit_tp"}, runs
            assert all(v > 0 for _, v in runs if _["program"] in ("exec_done", "exec_exit_tp"))
            assert sum(v for _, v in of(smp, "ebpftrace_program_run_seconds_total")) > 0
            methods = {i[0]["program"]: i[0]["method"] for i in of(smp, "ebpftrace_build_info")}
            assert methods["exec_exit_tp"] == "tracepoint", methods
            assert methods["exec_done"] == "raw_tp", methods
        check_served(["exec", "-x", "--method", "tracepoint", "-l", mark],
                     lambda: subprocess.run(["/bin/true", mark]), expect)


def request(port, method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_http_paths_methods_and_default_address():
    with Served(["exec", "--quiet"]) as s:
        assert request(s.port, "GET", "/")[0] == 404
        assert request(s.port, "GET", "/metrics/x")[0] == 404
        assert request(s.port, "POST", "/metrics")[0] == 405
        assert request(s.port, "PUT", "/metrics")[0] == 405
        status, body = request(s.port, "HEAD", "/metrics")
        assert status == 200 and body == b""
    assert b"metrics at http://127.0.0.1:%d/metrics (loopback only" % s.port in s.tracer.stderr


def test_explicit_addresses():
    port = free_port()
    with Served(["exec", "--quiet"], port=f"127.0.0.1:{port}") as s:
        s.port = port
        assert "ebpftrace_exec_events_total" in s.scrape()
    assert b"metrics at http://127.0.0.1:%d/metrics\n" % port in s.tracer.stderr
    port = free_port()
    with Served(["exec", "--quiet"], port=f"[::1]:{port}"):
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=10) as r:
            assert r.status == 200


def test_bad_addresses_are_one_line_and_load_nothing():
    for arg in ("0", "70000", "-1", "port", "127.0.0.1:", "1.2.3:80", "[::1]80", "::1:80"):
        assert_usage_error(["exec", "--metrics", arg], r"invalid --metrics '.*': expected")
    assert_usage_error(["exec", "--quiet"], r"--quiet needs --metrics")
    assert_usage_error(["exec", "--metrics", "9", "--metrics-max-series", "0"],
                       r"--metrics-max-series")
    # 198.51.100.0/24 is documentation space, no address of this host: bind says so.
    assert_usage_error(["exec", "--metrics", "198.51.100.77:9100"], r"not an address of this")


def test_port_taken_is_a_runtime_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = run(["open", "--metrics", str(port)])
    err = p.stderr.decode()
    assert p.returncode == 1 and err.count("\n") == 1, (p.returncode, err)
    assert f"cannot serve metrics on {port}: the port is already in use" in err, err
    assert p.stdout == b""
    assert_nothing_loaded()


def storm_size(path):
    """Opens for a storm of about a second untraced (at most 400000): under qemu's emulation
    a traced open costs a hundred times more, and a fixed count outlasted the test's timeout."""
    p = subprocess.run([helper("opener"), "loop", path, "2000"], capture_output=True, check=True)
    ns_per_op = float(p.stdout.split()[0])
    return int(min(400000, 1e9 / ns_per_op))


def test_scrape_under_storm_is_bounded_and_counts_everything():
    """A storm of opens: scrapes stay fast and every event shown is counted."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile() as target:
        n = storm_size(target.name)
        port = free_port()
        tracer = subprocess.Popen([lib.BINARY, "open", "--json", "-n", "opener",
                                   "--metrics", str(port)], stdout=out, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: port_open(port), timeout=30, what="the metrics server")
            time.sleep(1)
            loop = subprocess.Popen([helper("opener"), "loop", target.name, str(n)],
                                    stderr=subprocess.DEVNULL)
            took = []
            while loop.poll() is None:
                start = time.monotonic()
                scrape(port)
                took.append(time.monotonic() - start)
                time.sleep(0.05)
            assert loop.wait() == 0
            time.sleep(1)
            smp = samples(scrape(port))
        finally:
            tracer.send_signal(signal.SIGINT)
            _, err = tracer.communicate(timeout=30)
        assert tracer.returncode == 0, err
        out.seek(0)
        rows = json_lines(out.read())
    # Scrapes kept answering while the storm went on, none waiting for it: a few seconds at
    # worst on a loaded machine or in the emulated VM, where the storm itself lasts much longer.
    # Here 400000 opens of an existing file last a quarter of a second: 3 scrapes at least.
    assert len(took) >= 3 and max(took) < 3.0, took
    counted = sum(v for _, v in of(smp, "ebpftrace_open_events_total"))
    events = [r for r in rows if r["type"] == "open"]
    lost = sum(r["count"] for r in rows if r["type"] == "lost")
    assert counted == len(events), (counted, len(events))
    assert value(smp, "ebpftrace_lost_events_total") == lost
    ours = len([e for e in events if e["path"] == target.name])
    assert n - lost <= ours <= n, (ours, n, lost)


def port_open(port):
    with socket.socket() as c:
        return c.connect_ex(("127.0.0.1", port)) == 0


class Prometheus:
    """A real Prometheus server on 127.0.0.1, scraping jobs {name: port} every second."""

    def __init__(self, jobs):
        self.dir = tempfile.mkdtemp(prefix="ebt-prom-")
        self.port = free_port()
        scrape_configs = "".join(
            f"  - job_name: {name}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            for name, port in jobs.items())
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n" + scrape_configs)
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ready, timeout=60, what="prometheus ready")

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, promql, at=None):
        args = {"query": promql}
        if at is not None:
            args["time"] = f"{at:.3f}"
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(args)
        with urllib.request.urlopen(url, timeout=10) as r:
            reply = json.load(r)
        assert reply["status"] == "success", reply
        return reply["data"]["result"]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def scrapes_of(prom, series):
    """The timestamps and values Prometheus holds for one series (last 10 minutes)."""
    res = prom.query(f"{series}[10m]")
    assert len(res) == 1, res
    return [(float(t), float(v)) for t, v in res[0]["values"]]


def test_prometheus_end_to_end():
    n = 7
    mark = "ebt-" + uuid.uuid4().hex[:12]
    counter = f'ebpftrace_exec_events_total{{job="exec",result="ok"}}'
    exec_port, rq_port = free_port(), free_port()
    prom = Prometheus({"exec": exec_port, "runqlat": rq_port})
    try:
        with Hog(), Served(["exec", "--quiet", "-l", mark], port=exec_port), \
                Served(["runqlat", "--json"], port=rq_port) as rq:
            wait_for(lambda: len(scrapes_of_or_none(prom, counter)) >= 3, timeout=60,
                     what="three scrapes before the execs")
            for _ in range(n):
                subprocess.run(["/bin/true", mark])
            wait_for(lambda: scrapes_of(prom, counter)[-1][1] == n, timeout=30,
                     what="the execs scraped")
            first = scrapes_of(prom, counter)[0][0]
            wait_for(lambda: len(scrapes_of(prom, counter)) >= 10, timeout=30,
                     what="more scrapes")
            last = scrapes_of(prom, counter)[-1][0]
            # Evaluated at a scrape's own time, over a range back past the first scrape (which
            # saw 0): nothing to extrapolate, so increase() is the exact difference.
            window = int(last - first) + 30
            inc = prom.query(f"increase({counter}[{window}s])", at=last)
            assert len(inc) == 1 and float(inc[0]["value"][1]) == n, inc
            assert [r["value"][1] for r in prom.query('up{job=~"exec|runqlat"}')] == ["1", "1"]
            q = prom.query("histogram_quantile(0.99, ebpftrace_runqlat_latency_seconds_bucket)")
        hist = json_lines(rq.out, "hist")
    finally:
        prom.close()
    assert len(hist) == 1 and hist[0]["count"] > 0, hist
    low = min(b["low"] for b in hist[0]["buckets"]) * 1e-6
    high = (max(b["high"] for b in hist[0]["buckets"]) + 1) * 1e-6
    assert len(q) == 1, q
    p99 = float(q[0]["value"][1])
    assert low <= p99 <= high, (p99, low, high, hist[0]["buckets"])


def scrapes_of_or_none(prom, series):
    res = prom.query(f"{series}[10m]")
    return res[0]["values"] if res else []
