"""ebpftrace tcpconnlat on the running kernel: exact events for connects this test makes.

Every test runs once per attach method the kernel allows (`ebpftrace check --json`), forced with
--method, and expects the same results from each: tp_btf and the tracepoint here, fentry and
kprobe too in the VM (tests/vm).
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from lib import BINARY, Tracer, assert_usage_error, json_lines, run
from test_cli import complete
import lib

METHODS = ("fentry", "kprobe", "tp_btf", "tracepoint")
# The BPF programs of each method's variant (bpf/tcpconnlat.bpf.c).
VARIANTS = {
    "fentry": {"fentry_v4_connect", "fentry_v6_connect", "fentry_rcv_state", "fentry_set_state"},
    "kprobe": {"kprobe_v4_connect", "kprobe_v6_connect", "kprobe_rcv_state", "kprobe_set_state"},
    "tp_btf": {"btf_set_state"},
    "tracepoint": {"tp_set_state"},
}


def usable_methods():
    """The methods tcpconnlat has that `ebpftrace check` reports usable on this kernel."""
    return lib.usable_methods(METHODS, "tracepoint")


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Server:
    """A listening TCP socket on host and an ephemeral port that accepts and closes connections
    (accept=False: it never accepts, so that its queue fills)."""

    def __init__(self, host, backlog=128, accept=True):
        self.sock = socket.socket(family_of(host), socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        if accept:
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ClosedPort:
    """A port on host that is bound but not listening: a connect to it is refused (RST)."""

    def __init__(self, host):
        self.sock = socket.socket(family_of(host), socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def connect(host, port, count, syncnt=None):
    """Connect count times from the tcpconn helper; returns (pid, [(lport, errno), ...])."""
    args = [lib.helper("tcpconn"), host, str(port), str(count)]
    if syncnt is not None:
        args.append(str(syncnt))
    p = subprocess.Popen(args, stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, f"tcpconn exit {p.returncode}"
    conns = [tuple(int(x) for x in line.split()) for line in out.decode().splitlines()]
    assert len(conns) == count, out
    return p.pid, conns


@contextlib.contextmanager
def tracing(method, *arg_lists, json=True):
    """One tracer per argument list, all attached on entry, none left running on exit."""
    started = []
    try:
        for args in arg_lists:
            started.append(Tracer(["tcpconnlat", "--method", method] +
                                  (["--json"] if json else []) + args))
        yield started
    finally:
        for t in started:
            t.kill()


def events(tracer, dport=None):
    rc, out, err = tracer.stop()
    assert rc == 0, f"exit {rc}: {err!r}"
    objs = json_lines(out, "tcpconnlat")
    return [o for o in objs if dport is None or o["dport"] == dport]


def check_established(ev, pid, host, port, lports):
    assert ev["pid"] == pid and ev["comm"] == "tcpconn", ev
    assert ev["ip"] == (6 if family_of(host) == socket.AF_INET6 else 4), ev
    assert ev["saddr"] == host and ev["daddr"] == host, ev
    assert ev["dport"] == port and ev["lport"] in lports, ev
    assert isinstance(ev["lat_ms"], float) and 0 < ev["lat_ms"] < 1000, ev
    assert ev["result"] == "established" and "error" not in ev, ev
    assert abs(ev["ts_ns"] / 1e9 - time.time()) < 60, ev


def test_loopback_connects_exact_per_method():
    n = 5
    # An IPv4 server takes connects from IPv6 sockets to ::ffff:127.0.0.1 too.
    targets = (("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("127.0.0.1", "::ffff:127.0.0.1"))
    for method in usable_methods():
        for listen_on, host in targets:
            with Server(listen_on) as srv:
                with tracing(method, []) as (t,):
                    pid, conns = connect(host, srv.port, n)
                    evs = events(t, srv.port)
            assert all(err == 0 for _, err in conns), conns
            lports = {lport for lport, _ in conns}
            assert len(evs) == n, (method, host, evs)
            for ev in evs:
                check_established(ev, pid, host, srv.port, lports)
            assert {ev["lport"] for ev in evs} == lports, (method, host)


def test_refused_connect_only_with_failed():
    for method in usable_methods():
        for host in ("127.0.0.1", "::1"):
            with ClosedPort(host) as closed:
                with tracing(method, [], ["--failed"]) as (plain, failed):
                    pid, [(lport, err)] = connect(host, closed.port, 1)
                    assert events(plain, closed.port) == [], (method, host)
                    evs = events(failed, closed.port)
            assert err == 111, err  # ECONNREFUSED
            assert len(evs) == 1, (method, host, evs)
            ev = evs[0]
            assert ev["result"] == "refused" and ev["error"] == "ECONNREFUSED", ev
            assert ev["pid"] == pid and ev["comm"] == "tcpconn", ev
            assert ev["saddr"] == host and ev["daddr"] == host and ev["lport"] == lport, ev
            assert ev["lat_ms"] > 0, ev


def test_timed_out_and_aborted_connects():
    """A full accept queue drops SYNs: with TCP_SYNCNT 1 a connect gives up after ~3 s, and a
    non-blocking one closed at once is aborted."""
    for method in usable_methods():
        with Server("127.0.0.1", backlog=0, accept=False) as srv:
            with tracing(method, ["-x"]) as (t,):
                _, [(_, first)] = connect("127.0.0.1", srv.port, 1)
                with socket.socket() as c:
                    c.setblocking(False)
                    assert c.connect_ex(("127.0.0.1", srv.port)) == 115  # EINPROGRESS
                    aborted_lport = c.getsockname()[1]
                pid, [(lport, err)] = connect("127.0.0.1", srv.port, 1, syncnt=1)
                evs = events(t, srv.port)
        assert first == 0 and err == 110, (first, err)  # ETIMEDOUT
        assert [ev["result"] for ev in evs] == ["established", "aborted", "timeout"], evs
        assert evs[1]["pid"] == os.getpid() and evs[1]["lport"] == aborted_lport, evs[1]
        assert "error" not in evs[1], evs[1]
        ev = evs[2]
        assert ev["error"] == "ETIMEDOUT" and ev["pid"] == pid and ev["lport"] == lport, ev
        assert 2000 < ev["lat_ms"] < 10000, ev


def test_min_latency_threshold():
    n = 4
    for method in usable_methods():
        with Server("127.0.0.1") as srv:
            with tracing(method, ["10000"], ["0"], ["5000.5"]) as (high, zero, frac):
                connect("127.0.0.1", srv.port, n)
                assert events(high, srv.port) == [], method
                assert len(events(zero, srv.port)) == n, method
                assert events(frac, srv.port) == [], method


def test_dport_filter_includes_and_excludes():
    for method in usable_methods():
        with Server("127.0.0.1") as a, Server("127.0.0.1") as b:
            with tracing(method, ["--dport", str(a.port)],
                         ["--dport", f"{b.port},{a.port}"]) as (only_a, list_ab):
                connect("127.0.0.1", a.port, 2)
                connect("127.0.0.1", b.port, 3)
                got_a, got_ab = events(only_a), events(list_ab)
        assert sorted(ev["dport"] for ev in got_a) == [a.port] * 2, (method, got_a)
        assert sorted(ev["dport"] for ev in got_ab) == sorted([a.port] * 2 + [b.port] * 3), method


def test_lport_filter_includes_and_excludes():
    for method in usable_methods():
        with Server("127.0.0.1") as srv, ClosedPort("127.0.0.1") as spare:
            # The spare port is free to bind again once closed: the client's local port.
            lport = spare.port
            spare.sock.close()
            with tracing(method, ["-L", str(lport)], ["--lport", str(srv.port)]) as (inc, exc):
                with socket.socket() as c:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    c.bind(("127.0.0.1", lport))
                    c.connect(("127.0.0.1", srv.port))
                got_inc, got_exc = events(inc, srv.port), events(exc, srv.port)
        assert [(ev["lport"], ev["pid"]) for ev in got_inc] == [(lport, os.getpid())], got_inc
        assert got_exc == [], got_exc


def test_pid_and_name_filters_include_and_exclude():
    for method in usable_methods():
        with Server("127.0.0.1") as srv:
            with tracing(method, ["-p", str(os.getpid())],
                         ["-n", "tcpconn"]) as (by_pid, by_name):
                for _ in range(2):
                    socket.create_connection(("127.0.0.1", srv.port)).close()
                helper_pid, _ = connect("127.0.0.1", srv.port, 3)
                got_pid, got_name = events(by_pid, srv.port), events(by_name, srv.port)
        assert [ev["pid"] for ev in got_pid] == [os.getpid()] * 2, (method, got_pid)
        assert [ev["pid"] for ev in got_name] == [helper_pid] * 3, (method, got_name)


def test_ip_version_filters():
    for method in usable_methods():
        with Server("127.0.0.1") as v4, Server("::1") as v6:
            with tracing(method, ["-4"], ["-6"]) as (only4, only6):
                connect("127.0.0.1", v4.port, 1)
                connect("::1", v6.port, 1)
                connect("::ffff:127.0.0.1", v4.port, 1)
                ours = (v4.port, v6.port)
                got4 = [(e["daddr"], e["ip"]) for e in events(only4) if e["dport"] in ours]
                got6 = [(e["daddr"], e["ip"]) for e in events(only6) if e["dport"] in ours]
        assert got4 == [("127.0.0.1", 4)], (method, got4)
        assert got6 == [("::1", 6), ("::ffff:127.0.0.1", 6)], (method, got6)


def hists(tracer):
    rc, out, err = tracer.stop()
    assert rc == 0, f"exit {rc}: {err!r}"
    return json_lines(out, "hist")


def test_hist_counts_every_established_connect_once():
    n = 7
    for method in usable_methods():
        with Server("127.0.0.1") as srv, ClosedPort("127.0.0.1") as closed:
            with tracing(method, ["--hist", "--dport", f"{srv.port},{closed.port}"]) as (t,):
                connect("127.0.0.1", srv.port, n)
                connect("127.0.0.1", closed.port, 2)  # refused: no latency, not counted
                (h,) = hists(t)
        assert h["unit"] == "usecs" and h["key"] == {}, h
        assert sum(b["count"] for b in h["buckets"]) == n == h["count"], (method, h)
        assert all(b["low"] <= b["high"] < 1000000 for b in h["buckets"]), h
        assert h["p50"] is not None and 0 < h["sum"] / n < 1000000, h


def test_hist_by_destination():
    for method in usable_methods():
        with Server("127.0.0.1") as v4, Server("::1") as v6:
            with tracing(method, ["--hist", "--by-dest", "--dport",
                                  f"{v4.port},{v6.port}"]) as (t,):
                connect("127.0.0.1", v4.port, 3)
                connect("::1", v6.port, 2)
                connect("::ffff:127.0.0.1", v4.port, 4)
                got = {(h["key"]["daddr"], h["key"]["dport"]): h["count"] for h in hists(t)}
        assert got == {("127.0.0.1", v4.port): 3, ("::1", v6.port): 2,
                       ("::ffff:127.0.0.1", v4.port): 4}, (method, got)


def test_hist_interval_and_count():
    for method in usable_methods():
        t0 = time.monotonic()
        p = run(["tcpconnlat", "--method", method, "--hist", "--json", "0.3", "3"])
        took = time.monotonic() - t0
        assert p.returncode == 0, p.stderr
        hs = json_lines(p.stdout, "hist")
        assert len(hs) == 3 and all(h["key"] == {} for h in hs), hs
        assert hs[0]["ts_ns"] < hs[1]["ts_ns"] < hs[2]["ts_ns"], hs
        assert 0.85 < took < 10, took


def test_hist_table():
    for method in usable_methods():
        with Server("::1") as srv:
            with tracing(method, ["--hist", "--by-dest", "--dport", str(srv.port)],
                         json=False) as (t,):
                connect("::1", srv.port, 4)
                rc, out, err = t.stop()
        assert rc == 0, err
        text = out.decode()
        lines = text.splitlines()
        assert lines[0] == f"daddr = ::1, dport = {srv.port}", lines
        assert re.fullmatch(r"\s+usecs\s+: count\s+distribution", lines[1]), lines
        bars = [int(m.group(1)) for m in re.finditer(r"^\s*\d+ -> \d+\s+: (\d+)\s+\|", text, re.M)]
        assert sum(bars) == 4, text
        assert re.search(r"^count 4, mean [\d.]+, p50 \d+, p90 \d+, p99 \d+ \(usecs\)$", text, re.M)


def test_table_output():
    for method in usable_methods():
        with Server("127.0.0.1") as srv, ClosedPort("127.0.0.1") as closed:
            with tracing(method, ["-x", "--dport", f"{srv.port},{closed.port}"],
                         json=False) as (t,):
                pid, [(lport, _)] = connect("127.0.0.1", srv.port, 1)
                pid2, [(rport, _)] = connect("127.0.0.1", closed.port, 1)
                rc, out, err = t.stop()
        assert rc == 0, err
        lines = out.decode().splitlines()
        assert re.fullmatch(r"\s+PID COMM\s+IP SADDR\s+LPORT DADDR\s+DPORT\s+LAT\(ms\) RESULT",
                            lines[0]), lines[0]
        row = r"\s*{} tcpconn\s+4 127\.0\.0\.1\s+{} 127\.0\.0\.1\s+{}\s+\d+\.\d{{3}} {}"
        assert re.fullmatch(row.format(pid, lport, srv.port, "established"), lines[1]), lines
        assert re.fullmatch(row.format(pid2, rport, closed.port, "refused"), lines[2]), lines
        assert len(lines) == 3, lines


def test_method_choice_is_explained_and_forced():
    usable = usable_methods()
    p = run(["tcpconnlat", "-v", "--duration", "0.2"])
    err = p.stderr.decode()
    assert p.returncode == 0, err
    assert f"attaching with {usable[0]}\n" in err, err
    for method in METHODS:
        p = run(["tcpconnlat", "-v", "--method", method, "--duration", "0.2"])
        err = p.stderr.decode()
        if method in usable:
            assert p.returncode == 0 and f"attaching with {method}\n" in err, err
        else:
            assert p.returncode == 3, (method, p.returncode, err)
            assert f"--method {method} is not usable on this kernel: " in err, err
            assert p.stdout == b""


def loaded_variants():
    """Which of our programs are loaded now, as {method: [names]} (the kernel keeps 15 chars)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
    # bpftool shows the full name where BTF has it, else the kernel's 15 characters.
    names = {p.get("name", "")[:15] for p in json.loads(out.stdout or b"[]")}
    loaded = {m: sorted(n for n in progs if n[:15] in names) for m, progs in VARIANTS.items()}
    return {m: progs for m, progs in loaded.items() if progs}


def test_only_the_chosen_variant_loads_and_all_unload_on_every_exit():
    for method in usable_methods():
        for stop in ("sigint", "sigterm", "sigkill", "duration"):
            # Long enough for bpftool to list the programs under TCG in the test VM.
            args = ["--duration", "5"] if stop == "duration" else []
            with tracing(method, args) as (t,):
                loaded = loaded_variants()
                assert loaded == {method: sorted(VARIANTS[method])}, (method, stop, loaded)
                if stop == "duration":
                    rc = t.wait()[0]
                elif stop == "sigkill":
                    t.kill()
                    rc = t.proc.returncode + signal.SIGKILL  # -SIGKILL: killed, as asked
                else:
                    rc = t.stop(signal.SIGINT if stop == "sigint" else signal.SIGTERM)[0]
            assert rc == 0, (method, stop, rc)
            lib.wait_for(lambda: not loaded_variants(), 5, f"unload after {stop}")


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["tcpconnlat", "abc"], r"invalid minimum latency 'abc'")
    assert_usage_error(["tcpconnlat", "--", "-1"], r"invalid minimum latency '-1'")
    assert_usage_error(["tcpconnlat", "1", "2"], r"unexpected argument '2'")
    assert_usage_error(["tcpconnlat", "--dport", "0"], r"invalid --dport '0'")
    assert_usage_error(["tcpconnlat", "--dport", "65536"], r"invalid --dport")
    assert_usage_error(["tcpconnlat", "--dport", "80,,81"], r"invalid --dport")
    assert_usage_error(["tcpconnlat", "--dport", "80,"], r"invalid --dport")
    assert_usage_error(["tcpconnlat", "-L", ",".join(["1"] * 17)], r"invalid --lport")
    assert_usage_error(["tcpconnlat", "-4", "-6"], r"-4 and -6 exclude each other")
    assert_usage_error(["tcpconnlat", "--by-dest"], r"--by-dest needs --hist")
    assert_usage_error(["tcpconnlat", "--hist", "-x"], r"--failed does not apply to --hist")
    assert_usage_error(["tcpconnlat", "--hist", "--count", "2"], r"--count does not apply")
    assert_usage_error(["tcpconnlat", "--hist", "0"], r"invalid interval '0'")
    assert_usage_error(["tcpconnlat", "--hist", "1", "0"], r"invalid count '0'")
    assert_usage_error(["tcpconnlat", "--hist", "1", "2", "3"], r"unexpected argument '3'")
    assert_usage_error(["tcpconnlat", "--method", "lsm"],
                       r"invalid --method 'lsm': expected one of fentry, kprobe, tp_btf, tracepoint")


def test_completion_of_method_values():
    assert complete([BINARY, "tcpconnlat", "--method", ""]) == set(METHODS)
    assert complete([BINARY, "tcpconnlat", "--method", "k"]) == {"kprobe"}
