"""ebpftrace exit on the running kernel: exact events for processes and threads of ours that end
with known codes and signals.

Every workload test runs once per attach method exit has here: tp_btf where the tracepoint says
which thread is the last of its process (Linux 6.16+), and raw_tracepoint, which finds that out
itself and must still report a process once when all its threads die at once.
"""
import os
import resource
import signal
import subprocess
import tempfile
import time

from lib import Tracer, assert_usage_error, helper, run
import lib

SIGTERM, SIGQUIT, SIGSEGV = int(signal.SIGTERM), int(signal.SIGQUIT), int(signal.SIGSEGV)


def group_dead_in_tracepoint():
    """Whether sched_process_exit passes group_dead (6.16+), which exit's tp_btf program reads."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 16)


def usable_methods():
    methods = lib.usable_methods(("tp_btf", "raw_tracepoint"), "raw_tracepoint")
    return [m for m in methods if m != "tp_btf" or group_dead_in_tracepoint()]


def exiter(*args, uid=None, core=False, cwd=None):
    """Run the exiter fixture to its end; returns its pid, the tids it printed (its own first) and
    the status wait() got for it."""
    def setup():
        limit = resource.RLIM_INFINITY if core else 0
        resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))
        if uid is not None:
            os.setuid(uid)
    p = subprocess.Popen([helper("exiter")] + [str(a) for a in args], stdout=subprocess.PIPE,
                         preexec_fn=setup, cwd=cwd)
    out = p.stdout.read()
    _, status = os.waitpid(p.pid, 0)
    p.returncode = 0  # reaped above: keep Popen from waiting again
    tids = [int(ln.split()[1]) for ln in out.decode().splitlines()]
    return p.pid, tids, status


def trace(args, action):
    return lib.trace_events("exit", args, action)


def of_pid(events, pid):
    return [e for e in events if e["pid"] == pid]


def check_common(ev, pid, tid):
    assert ev["pid"] == pid and ev["tid"] == tid, ev
    assert ev["ppid"] == os.getpid() and ev["uid"] == 0 and ev["comm"] == "exiter", ev
    assert 0 < ev["age_ms"] < 10000, ev
    assert abs(ev["ts_ns"] / 1e9 - time.time()) < 60, ev


def test_exit_code_of_a_single_threaded_process():
    for method in usable_methods():
        (pid, tids, status), evs = trace(["--method", method], lambda: exiter("code", 3))
        assert os.WEXITSTATUS(status) == 3
        ev, = of_pid(evs, pid)
        check_common(ev, pid, pid)
        assert set(ev) == {"type", "ts_ns", "pid", "ppid", "tid", "uid", "comm", "age_ms", "code"}
        assert ev["code"] == 3, (method, ev)


def test_death_by_signal_without_and_with_core_dump():
    for method in usable_methods():
        (pid, _, status), evs = trace(["--method", method], lambda: exiter("signal", SIGTERM))
        assert os.WTERMSIG(status) == SIGTERM and not os.WCOREDUMP(status)
        ev, = of_pid(evs, pid)
        check_common(ev, pid, pid)
        assert "code" not in ev and ev["signal"] == "SIGTERM" and ev["core_dumped"] is False, ev
        with tempfile.TemporaryDirectory(prefix="ebt-exit-") as d:
            (pid, _, status), evs = trace(["--method", method],
                                          lambda: exiter("signal", SIGQUIT, core=True, cwd=d))
        assert os.WTERMSIG(status) == SIGQUIT
        ev, = of_pid(evs, pid)
        # Whether the core was written depends on core_pattern; we must say what wait() saw.
        assert ev["signal"] == "SIGQUIT" and ev["core_dumped"] is os.WCOREDUMP(status), ev


def test_threads_dying_together_make_one_process_exit():
    for method in usable_methods():
        for _ in range(5):
            (pid, tids, status), evs = trace(["--method", method],
                                             lambda: exiter("code", 4, 8))
            assert os.WEXITSTATUS(status) == 4 and len(tids) == 9
            ev, = of_pid(evs, pid)
            check_common(ev, pid, ev["tid"])
            assert ev["tid"] in tids and ev["code"] == 4, (method, ev)
        (pid, tids, status), evs = trace(["--method", method],
                                         lambda: exiter("signal", SIGSEGV, 4))
        ev, = of_pid(evs, pid)
        assert ev["signal"] == "SIGSEGV" and ev["tid"] in tids, (method, ev)


def test_threads_option_reports_every_thread_with_its_own_code():
    for method in usable_methods():
        (pid, tids, status), evs = trace(["--threads", "--method", method],
                                         lambda: exiter("joined", 6, 3))
        assert os.WEXITSTATUS(status) == 6
        got = {e["tid"]: e["code"] for e in of_pid(evs, pid)}
        assert got == {pid: 6, tids[1]: 0, tids[2]: 0, tids[3]: 0}, (method, got)
        assert len(of_pid(evs, pid)) == 4


def test_process_whose_leader_ends_first():
    for method in usable_methods():
        (pid, tids, status), evs = trace(["--method", method],
                                         lambda: exiter("leader-first", 7))
        assert os.WEXITSTATUS(status) == 7
        ev, = of_pid(evs, pid)
        check_common(ev, pid, tids[1])
        assert ev["code"] == 7, (method, ev)
        (pid, tids, _), evs = trace(["--threads", "--method", method],
                                    lambda: exiter("leader-first", 7))
        got = {e["tid"]: e["code"] for e in of_pid(evs, pid)}
        assert got == {pid: 0, tids[1]: 7}, (method, got)


def test_failed_only_and_filters():
    def both():
        return exiter("code", 0)[0], exiter("code", 5)[0]
    (ok, bad), evs = trace(["-x"], both)
    assert of_pid(evs, ok) == [] and [e["code"] for e in of_pid(evs, bad)] == [5]
    (mine, other), evs = trace(["-u", "65534"], lambda: (exiter("code", 1, uid=65534)[0],
                                                        exiter("code", 1)[0]))
    assert [e["uid"] for e in of_pid(evs, mine)] == [65534] and of_pid(evs, other) == []
    (pid, _, _), evs = trace(["-n", "xiter"], lambda: exiter("code", 2))
    assert [e["code"] for e in of_pid(evs, pid)] == [2]
    assert {e["comm"] for e in evs} == {"exiter"}, evs


def test_table_rows():
    t = Tracer(["exit", "-n", "exiter"])
    pid1, _, _ = exiter("code", 3)
    pid2, _, _ = exiter("signal", SIGTERM)
    rc, out, err = t.stop()
    assert rc == 0, err
    lines = out.decode().splitlines()
    assert lines[0].split() == ["PID", "PPID", "TID", "UID", "COMM", "AGE(ms)", "EXIT"]
    rows = {int(ln.split()[0]): ln.split() for ln in lines[1:]}
    me = str(os.getpid())
    assert rows[pid1][:5] == [str(pid1), me, str(pid1), "0", "exiter"] and rows[pid1][6:] == ["3"]
    assert rows[pid2][6:] == ["SIGTERM"], rows[pid2]
    assert float(rows[pid1][5]) > 0


def test_no_method_on_this_kernel_is_exit_3():
    if group_dead_in_tracepoint():
        raise lib.Unsupported("this kernel has group_dead: tp_btf works (tested above)")
    p = run(["exit", "--method", "tp_btf"])
    assert p.returncode == 3, p
    lib.assert_nothing_loaded()


def test_head_closes_pipe_and_exits_zero():
    lib.assert_head_closes_pipe(["exit", "-n", "exiter"], lambda: exiter("code", 0))


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["exit", "--method", "kprobe"], r"invalid --method 'kprobe'")
    assert_usage_error(["exit", "stray"], r"unexpected argument 'stray'")
    assert_usage_error(["exit", "--pid", "x"], r"invalid --pid 'x'")
