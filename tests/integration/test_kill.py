"""ebpftrace kill on the running kernel: exact events for signals a test helper sends or causes."""
import os
import signal
import subprocess
import time

from lib import Tracer, assert_usage_error, helper, json_lines, run
import lib

METHODS = ("tp_btf", "tracepoint")


def usable_methods():
    """The methods kill has that `ebpftrace check` reports usable on this kernel."""
    return lib.usable_methods(METHODS, "tracepoint")


SIGUSR1, SIGUSR2, SIGSEGV, SIGTERM = (int(s) for s in (signal.SIGUSR1, signal.SIGUSR2,
                                                       signal.SIGSEGV, signal.SIGTERM))


def signaler(*args):
    """Run the signaler fixture; returns its pid and its output as [(key, int)]."""
    p = subprocess.Popen([helper("signaler")] + [str(a) for a in args], stdout=subprocess.PIPE)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0, (args, p.returncode)
    return p.pid, [(k, int(v)) for k, v in (ln.split() for ln in out.decode().splitlines())]


def value(res, key):
    return dict(res)[key]


def trace(args, action):
    return lib.trace_events("kill", args, action)


SIGCHLD = int(signal.SIGCHLD)


def from_pid(events, pid):
    """What pid sent, leaving out the SIGCHLD its own exit makes the kernel send its parent."""
    return [e for e in events if e["pid"] == pid and (e["sig"], e["source"]) != (SIGCHLD, "kernel")]


def missing_pid():
    """A pid no process has: counting down from pid_max."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


def test_sigusr1_to_a_live_child():
    for mode in ([], ["-k"]):
        (pid, res), evs = trace(mode, lambda: signaler("send", SIGUSR1))
        child = value(res, "child")
        assert value(res, "ret") == 0
        ev, = from_pid(evs, pid)
        assert ev == {"type": "kill", "ts_ns": ev["ts_ns"], "pid": pid, "tid": pid,
                      "comm": "signaler", "target_pid": child, "target_tid": 0, "sig": SIGUSR1,
                      "signal": "SIGUSR1", "ret": 0, "source": "kill"}, mode
        assert abs(ev["ts_ns"] / 1e9 - time.time()) < 60


def test_kill_0_to_a_missing_pid_is_esrch():
    target = missing_pid()
    for mode in (["-k"], ["-k", "-x"], ["-x"], []):
        (pid, res), evs = trace(mode, lambda: signaler("kill0", target))
        assert value(res, "ret") == -3
        ev, = from_pid(evs, pid)
        assert (ev["target_pid"], ev["target_tid"], ev["sig"], ev["signal"]) == (target, 0, 0,
                                                                                  "SIG0"), mode
        assert (ev["ret"], ev["error"], ev["source"]) == (-3, "ESRCH", "kill"), mode


def test_every_call_of_the_family_with_each_method():
    """kill, sigqueue, tgkill, tkill and pidfd_send_signal, with and without -k, each method:
    the same exact events. -k names the process tkill and pidfd_send_signal do not."""
    for method in usable_methods():
        for mode in ([], ["-k"]):
            def calls():
                return [signaler("send", SIGUSR1), signaler("queue", SIGUSR2),
                        signaler("tgkill", SIGUSR1), signaler("tkill", SIGUSR2),
                        signaler("pidfd", SIGTERM)]
            res, evs = trace(["--method", method] + mode, calls)
            (send, sres), (queue, qres), (tg, tgres), (tk, tkres), (pfd, pres) = res
            got = {pid: [(e["source"], e["target_pid"], e["target_tid"], e["sig"], e["ret"])
                         for e in from_pid(evs, pid)] for pid, _ in res}
            want = {
                send: [("kill", value(sres, "child"), 0, SIGUSR1, 0)],
                queue: [("rt_sigqueueinfo", value(qres, "child"), 0, SIGUSR2, 0)],
                tg: [("tgkill", tg, value(tgres, "tid"), SIGUSR1, 0)],
                tk: [("tkill", tk, value(tkres, "tid"), SIGUSR2, 0)],
                pfd: [("pidfd_send_signal", value(pres, "child"), 0, SIGTERM, 0)],
            }
            assert got == want, (method, mode, got, want)


def test_method_is_reported_and_forced():
    for method in usable_methods():
        p = run(["kill", "-v", "--method", method, "--duration", "0.2"])
        err = p.stderr.decode()
        assert p.returncode == 0 and f"method: attaching with {method}\n" in err, err


def test_failed_only_with_x():
    target = missing_pid()

    def both():
        return signaler("send", SIGUSR1)[0], signaler("kill0", target)[0]
    for mode in (["-k", "-x"], ["-x"]):
        (ok, bad), evs = trace(mode, both)
        assert from_pid(evs, ok) == [], mode
        assert [e["error"] for e in from_pid(evs, bad)] == ["ESRCH"], mode
        assert evs and all(e["ret"] < 0 and e["error"] for e in evs), mode


def test_sigsegv_from_the_kernel_only_without_k():
    def crash_and_send():
        return signaler("segv"), signaler("send", SIGUSR1)
    ((_, res), (sender, _)), evs = trace([], crash_and_send)
    child = value(res, "child")
    assert value(res, "signaled") == SIGSEGV
    segv = [e for e in evs if e["target_pid"] == child and e["sig"] == SIGSEGV]
    assert segv == [{"type": "kill", "ts_ns": segv[0]["ts_ns"], "pid": child, "tid": child,
                     "comm": "signaler", "target_pid": child, "target_tid": child,
                     "sig": SIGSEGV, "signal": "SIGSEGV", "ret": 0, "source": "kernel"}]
    ((_, res), (sender, _)), evs = trace(["-k"], crash_and_send)
    child = value(res, "child")
    assert [e for e in evs if e["sig"] == SIGSEGV or child in (e["pid"], e["target_pid"])] == []
    assert [e["signal"] for e in from_pid(evs, sender)] == ["SIGUSR1"]
    assert all(e["source"] != "kernel" for e in evs)


def test_tgkill_to_a_thread_has_its_tid():
    for mode in ([], ["-k"]):
        (pid, res), evs = trace(mode, lambda: signaler("tgkill", SIGUSR2))
        tid = value(res, "tid")
        assert tid != pid and value(res, "ret") == 0
        ev, = from_pid(evs, pid)
        assert (ev["tid"], ev["target_pid"], ev["target_tid"]) == (pid, pid, tid), mode
        assert (ev["signal"], ev["ret"], ev["source"]) == ("SIGUSR2", 0, "tgkill"), mode


def test_sigqueue_source():
    sig = signal.SIGRTMIN + 2
    for mode in ([], ["-k"]):
        (pid, res), evs = trace(mode, lambda: signaler("queue", sig))
        ev, = from_pid(evs, pid)
        assert (ev["target_pid"], ev["sig"], ev["signal"]) == (value(res, "child"), sig,
                                                               "SIGRTMIN+2")
        assert ev["source"] == "rt_sigqueueinfo", mode


def test_signal_filter_by_name_and_number():
    sigs = (SIGUSR1, SIGUSR2, SIGTERM)
    for arg, want in (("USR2", [SIGUSR2]), ("10", [SIGUSR1]), ("sigterm,12", [SIGUSR2, SIGTERM]),
                      ("SIGUSR1,TERM", [SIGUSR1, SIGTERM])):
        for mode in ([], ["-k"]):
            (pid, _), evs = trace(mode + ["-s", arg], lambda: signaler("send", *sigs))
            assert [e["sig"] for e in from_pid(evs, pid)] == want, (arg, mode)
            assert all(e["sig"] in want for e in evs), (arg, mode)


def test_sender_filters_include_and_exclude():
    def two():
        return signaler("send", SIGUSR1)[0], signaler("send", SIGUSR2)[0]
    def two_and_ours():
        try:
            os.kill(missing_pid(), 0)  # a failed call: an event, but not from a signaler
        except ProcessLookupError:
            return two()
    (p1, p2), evs = trace(["-n", "ignale"], two_and_ours)
    assert [e["sig"] for e in from_pid(evs, p1) + from_pid(evs, p2)] == [SIGUSR1, SIGUSR2]
    assert evs and all(e["comm"] == "signaler" for e in evs)
    # -p: a sender whose pid is known before it sends, next to one that is not it.
    target = missing_pid()
    inside = waiting_sender(f"kill -0 {target} 2>/dev/null; kill -USR1 $$")
    (other, _), evs = trace(["-p", str(inside.pid)], lambda: (go(inside), signaler(
        "send", SIGUSR1))[1])
    assert [(e["target_pid"], e["sig"], e["ret"]) for e in evs if e["sig"] != SIGCHLD] == [
        (target, 0, -3), (inside.pid, SIGUSR1, 0)], evs
    assert from_pid(evs, other) == []
    assert all(e["pid"] == inside.pid for e in evs), evs


def waiting_sender(script):
    """A shell that runs script (its kill builtin sends from the shell's pid) once it reads a
    line: its pid is known before it sends."""
    return subprocess.Popen(["/bin/sh", "-c", f"trap '' USR1; read x; {script}"],
                            stdin=subprocess.PIPE)


def go(proc):
    proc.stdin.write(b"go\n")
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def test_target_filter():
    child = subprocess.Popen(["sleep", "30"])
    try:
        (pid, _), evs = trace(["--target", str(child.pid)],
                              lambda: (signaler("send", SIGUSR1), os.kill(child.pid, SIGUSR2))[0])
    finally:
        child.wait()
    assert [(e["pid"], e["target_pid"], e["sig"]) for e in evs] == [
        (os.getpid(), child.pid, SIGUSR2)]


def test_json_and_table_agree():
    tj = Tracer(["kill", "--json", "-n", "signaler"])
    tt = Tracer(["kill", "-n", "signaler"])
    signaler("send", SIGUSR1, SIGTERM)
    signaler("kill0", missing_pid())
    signaler("segv")
    rc_j, out_j, err_j = tj.stop()
    rc_t, out_t, err_t = tt.stop()
    assert (rc_j, rc_t) == (0, 0), (rc_j, err_j, rc_t, err_t)
    evs = json_lines(out_j, "kill")
    lines = out_t.decode().splitlines()
    assert lines[0].split() == ["PID", "COMM", "TPID", "TTID", "SIG", "SIGNAL", "RESULT", "SOURCE"]
    rows = [ln.split() for ln in lines[1:]]
    assert len(evs) == len(rows) and len(evs) >= 4, (evs, rows)
    for ev, row in zip(evs, rows):
        result = ev["error"] if ev["ret"] < 0 else str(ev["ret"])
        assert row == [str(ev["pid"]), ev["comm"], str(ev["target_pid"]), str(ev["target_tid"]),
                       str(ev["sig"]), ev["signal"], result, ev["source"]], (ev, row)


def test_head_closes_pipe_and_exits_zero():
    lib.assert_head_closes_pipe(["kill", "-n", "signaler"], lambda: signaler("send", SIGUSR1))


def test_bad_input_is_a_one_line_usage_error_for_method():
    assert_usage_error(["kill", "--method", "fentry"],
                       r"invalid --method 'fentry': expected one of tp_btf, tracepoint")


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["kill", "-s", "TERM,BOGUS"],
                       r"invalid --signal 'TERM,BOGUS': 'BOGUS' is not a signal name or number")
    assert_usage_error(["kill", "-s", "65"], r"'65' is not a signal name or number")
    assert_usage_error(["kill", "-s", "TERM,,KILL"], r"invalid --signal 'TERM,,KILL': an empty")
    assert_usage_error(["kill", "--target", "0"], r"invalid --target '0'")
    assert_usage_error(["kill", "--target", "x1"], r"invalid --target 'x1'")
    assert_usage_error(["kill", "-p", "abc"], r"invalid --pid 'abc'")
    assert_usage_error(["kill", "stray"], r"unexpected argument 'stray'")
