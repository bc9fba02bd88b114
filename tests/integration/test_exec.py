"""ebpftrace exec on the running kernel: exact events for execs this test makes."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from lib import (BINARY, Tracer, assert_nothing_loaded, assert_usage_error, exact_bytes, helper,
                 jq, json_lines, run, wait_for)
import lib

ECHO = "/bin/echo"
METHODS = ("tracepoint", "tp_btf")


def usable_methods():
    """The methods exec has that `ebpftrace check` reports usable on this kernel."""
    return lib.usable_methods(METHODS, "tracepoint")


def marker():
    return "ebt-" + uuid.uuid4().hex[:12]


def execs_with(objs, arg):
    return [o for o in objs if arg in o.get("argv", [])]


def run_echo(*args, **kw):
    p = subprocess.Popen([ECHO] + list(args), stdout=subprocess.DEVNULL, **kw)
    p.wait()
    return p.pid


def trace_one(args, make_event, match, timeout=20):
    """Trace until the first event that match() accepts; returns (event, all events)."""
    t = Tracer(["exec", "--json"] + args)
    make_event()
    seen = []

    def found():
        return any(match(o) for o in seen)
    deadline = time.monotonic() + timeout
    # Stop as soon as our event is there: complete lines as they come.
    while time.monotonic() < deadline and not found():
        time.sleep(0.05)
        out = t.output()
        seen = json_lines(out[:out.rfind(b"\n") + 1], "exec")
    t.proc.send_signal(signal.SIGINT)
    rc, out, err = t.wait()
    assert rc == 0, f"exit {rc}: {err!r}"
    seen = json_lines(out, "exec")
    hits = [o for o in seen if match(o)]
    assert hits, f"no matching event; stderr {err!r}"
    return hits[0], seen


def test_argv_exact_with_hard_characters():
    m = marker()
    args = [m, "two words", 'a "quoted" one', "new\nline", b"\xff\xfe latin".decode("latin-1"),
            "", "back\\slash"]
    raw = [a.encode("latin-1") if "\xff" in a else a.encode() for a in args]
    pid = {}

    def make():
        pid["p"] = run_echo(*raw)
    ev, _ = trace_one([], make, lambda o: m in o["argv"])
    assert ev["pid"] == pid["p"]
    assert ev["ppid"] == os.getpid()
    assert ev["uid"] == 0
    assert ev["comm"] == "echo"
    assert ev["ret"] == 0 and "error" not in ev
    assert ev["filename"] == os.path.realpath(ECHO)
    # Bytes that are not UTF-8 come back as lone surrogates \udcXX: exactly the bytes again.
    assert [exact_bytes(a) for a in ev["argv"]] == [ECHO.encode()] + raw
    assert "truncated" not in ev
    assert isinstance(ev["ts_ns"], int) and abs(ev["ts_ns"] / 1e9 - time.time()) < 60


def test_json_escapes_exact_bytes():
    m = marker()
    t = Tracer(["exec", "--json", "-n", "echo"])
    run_echo(m, b"\xff", "tab\there")
    time.sleep(0.5)
    rc, stdout, _ = t.stop()
    line = [ln for ln in stdout.split(b"\n") if m.encode() in ln][0]
    assert b'"argv":["/bin/echo","' + m.encode() + b'","\\udcff","tab\\there"]' in line, line


def test_invalid_utf8_argv_reads_back_in_python_and_jq():
    m = marker()
    raw = b"x\xff\xc3\xa9y"  # the invalid byte 0xff next to a valid "\xc3\xa9" (U+00E9)
    t = Tracer(["exec", "--json", "-n", "echo"])
    run_echo(m, raw)
    time.sleep(0.5)
    rc, stdout, _ = t.stop()
    assert rc == 0
    line = [ln for ln in stdout.split(b"\n") if m.encode() in ln][0]
    assert b'"' + m.encode() + b'","x\\udcff\xc3\xa9y"]' in line, line
    assert exact_bytes(json.loads(line)["argv"][2]) == raw
    # jq (1.6) takes the line and turns the lone surrogate into U+FFFD: the name reads as
    # damaged there, never as "\xff" the character.
    assert jq(line, ".argv[2]") == '"x\ufffd\u00e9y"'


def test_more_than_max_args_is_truncated():
    m = marker()
    extra = [f"arg{i}" for i in range(30)]
    ev, _ = trace_one([], lambda: run_echo(m, *extra), lambda o: m in o["argv"])
    assert ev["argv"] == [ECHO, m] + extra[:18]
    assert ev["truncated"] is True
    ev, _ = trace_one(["--max-args", "3"], lambda: run_echo(m, *extra),
                      lambda o: m in o["argv"])
    assert ev["argv"] == [ECHO, m, "arg0"]
    assert ev["truncated"] is True


def test_long_argument_is_cut_and_marked():
    m = marker()
    long_arg = "x" * 400
    ev, _ = trace_one([], lambda: run_echo(m, long_arg), lambda o: m in o["argv"])
    assert ev["argv"] == [ECHO, m, "x" * 255]
    assert ev["truncated"] is True


def test_table_output_quotes_and_marks():
    m = marker()
    t = Tracer(["exec", "-q", "-n", "echo"])
    run_echo(m, "two words", "y" * 300)
    time.sleep(0.5)
    rc, out, err = t.stop()
    assert rc == 0
    lines = out.decode().splitlines()
    assert lines[0].split() == ["PID", "PPID", "UID", "COMM", "RET", "ARGS"]
    row = [ln for ln in lines if m in ln][0]
    assert row.endswith(f'"{ECHO}" "{m}" "two words" "{"y" * 255}"...'), row
    cols = row.split()
    assert cols[1] == str(os.getpid()) and cols[2] == "0" and cols[3] == "echo" and cols[4] == "0"


def test_failed_exec_only_with_x():
    missing = "/nonexistent-" + marker()
    m = marker()

    def make():
        try:
            subprocess.run([missing, "arg"])
        except FileNotFoundError:
            pass
        run_echo(m)
    # Without -x: the marker arrives, the failure does not.
    ev, seen = trace_one([], make, lambda o: m in o["argv"])
    assert not [o for o in seen if o["filename"] == missing]
    # With -x: the failure is there, with its errno.
    ev, _ = trace_one(["-x"], make, lambda o: o["filename"] == missing)
    assert ev["ret"] == -2 and ev["error"] == "ENOENT"
    assert ev["argv"] == [missing, "arg"]
    assert ev["ppid"] == os.getpid()


def test_failed_exec_table_shows_errno_name():
    missing = "/nonexistent-" + marker()
    t = Tracer(["exec", "-x"])
    try:
        subprocess.run([missing])
    except FileNotFoundError:
        pass
    rc, out, _ = t.stop()
    row = [ln for ln in out.decode().splitlines() if missing in ln][0]
    assert row.split()[4] == "ENOENT", row


def test_execveat_is_seen():
    m = marker()
    fd = os.open(ECHO, os.O_RDONLY)
    pid = {}

    def make():
        child = os.fork()
        if child == 0:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.execve(fd, [ECHO, m], {})  # fexecve: execveat(fd, "", ..., AT_EMPTY_PATH)
        pid["p"] = child
        os.waitpid(child, 0)
    ev, _ = trace_one([], make, lambda o: m in o["argv"])
    os.close(fd)
    assert ev["pid"] == pid["p"]
    assert ev["filename"] == os.path.realpath(ECHO)


def fexecve_echo(fd, *args):
    """execveat(fd, "", ..., AT_EMPTY_PATH) of echo in a child; returns the child's pid."""
    child = os.fork()
    if child == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.execve(fd, [ECHO, *args], {})
    os.waitpid(child, 0)
    return child


def test_every_kind_of_exec_the_same_with_each_method():
    """execve, execveat and a failed execve, with each method forced: the same exact events."""
    for method in usable_methods():
        m, missing = marker(), "/nonexistent-" + marker()
        fd = os.open(ECHO, os.O_RDONLY)
        pids = {}

        def make():
            pids["execve"] = run_echo(m, "execve")
            pids["execveat"] = fexecve_echo(fd, m, "execveat")
            p = subprocess.Popen(["/bin/sh", "-c", f'exec {missing} {m} 2>/dev/null'])
            p.wait()
            pids["failed"] = p.pid
        try:
            _, seen = trace_one(["-x", "--method", method], make,
                                lambda o: o.get("filename") == missing)
        finally:
            os.close(fd)
        mine = {o["argv"][-1] if o["ret"] == 0 else "failed": o for o in execs_with(seen, m)}
        assert set(mine) == {"execve", "execveat", "failed"}, (method, seen)
        for kind, ev in mine.items():
            assert ev["pid"] == pids[kind], (method, kind, ev)
        assert mine["execve"]["argv"] == [ECHO, m, "execve"], (method, mine)
        assert mine["execveat"]["filename"] == os.path.realpath(ECHO), (method, mine)
        assert (mine["failed"]["filename"], mine["failed"]["error"], mine["failed"]["argv"]) == (
            missing, "ENOENT", [missing, m]), (method, mine)


def test_method_is_reported_and_forced():
    lib.assert_methods_forced_and_reported("exec", usable_methods(), ["-x"])


def test_without_x_only_sched_process_exec_is_attached():
    """Without -x no syscall is traced: one raw tracepoint link on sched_process_exec and no perf
    event (a syscall tracepoint would send every other syscall down the slow path, and wait out
    an RCU grace period as it closes). With -x, the exit of the calls too."""
    t = Tracer(["exec"])
    plain = lib.bpf_links(t.proc.pid), lib.perf_event_fds(t.proc.pid)
    rc, _, err = t.stop()
    assert rc == 0, err
    assert plain == ([("raw_tracepoint", "sched_process_exec")], 0), plain
    t = Tracer(["exec", "-x", "--method", "tracepoint"])
    with_x = lib.bpf_links(t.proc.pid), lib.perf_event_fds(t.proc.pid)
    rc, _, err = t.stop()
    assert rc == 0, err
    assert ("raw_tracepoint", "sched_process_exec") in with_x[0] and with_x[1] == 2, with_x


def test_relative_exec_resolves_filename():
    m = marker()
    d = tempfile.mkdtemp()
    try:
        shutil.copy(ECHO, os.path.join(d, "myecho"))
        ev, _ = trace_one([], lambda: run_echo_in(d, "./myecho", m), lambda o: m in o["argv"])
        assert ev["filename"] == os.path.join(os.path.realpath(d), "myecho")
        assert ev["argv"] == ["./myecho", m]
        assert ev["comm"] == "myecho"
    finally:
        shutil.rmtree(d)


def run_echo_in(cwd, prog, *args):
    subprocess.run([prog] + list(args), cwd=cwd, stdout=subprocess.DEVNULL)


def waiting_child(*cmd, preexec=None):
    """A shell that execs cmd once it reads a line: its pid is known before the exec."""
    return subprocess.Popen(["/bin/sh", "-c", 'read x; exec "$@"', "sh"] + list(cmd),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            preexec_fn=preexec)


def trace_filtered(args, children, other):
    """Trace with args while the waiting children exec and `other` runs; returns events."""
    t = Tracer(["exec", "--json"] + args)
    for c in children:
        c.stdin.write(b"go\n")
        c.stdin.close()
        c.wait()
    other()
    time.sleep(0.3)
    rc, out, err = t.stop()
    assert rc == 0, err
    return json_lines(out, "exec")


def test_pid_filter_includes_and_excludes():
    m_in, m_out = marker(), marker()
    child = waiting_child(ECHO, m_in)
    evs = trace_filtered(["-p", str(child.pid)], [child], lambda: run_echo(m_out))
    assert [e["argv"] for e in evs] == [[ECHO, m_in]]
    assert evs[0]["pid"] == child.pid


def test_ppid_filter():
    m_in, m_out = marker(), marker()
    evs = trace_filtered(["-P", str(os.getpid())], [],
                         lambda: (run_echo(m_in), subprocess.run(
                             ["/bin/sh", "-c", f"{ECHO} {m_out} >/dev/null"])))
    assert [e["argv"] for e in execs_with(evs, m_in)] == [[ECHO, m_in]]
    assert len(execs_with(evs, "/bin/sh")) == 1
    assert not execs_with(evs, m_out)  # the shell's child has the shell as parent
    assert evs and all(e["ppid"] == os.getpid() for e in evs), evs


def test_uid_filter_includes_and_excludes():
    m_in, m_out = marker(), marker()

    def drop():
        os.setgid(65534)
        os.setuid(65534)
    child = waiting_child(ECHO, m_in, preexec=drop)
    evs = trace_filtered(["-u", "65534"], [child], lambda: run_echo(m_out))
    assert [e["argv"] for e in evs] == [[ECHO, m_in]]
    assert evs[0]["uid"] == 65534


def test_name_filter_matches_comm_after_exec():
    m_in = marker()
    evs = trace_filtered(["-n", "ech"], [], lambda: (run_echo(m_in), subprocess.run(["true"])))
    assert execs_with(evs, m_in)
    assert all(e["comm"] and "ech" in e["comm"] for e in evs)


def test_line_filter():
    m_in, m_out = marker(), marker()
    evs = trace_filtered(["-l", m_in[4:]], [], lambda: (run_echo(m_in), run_echo(m_out)))
    assert [e["argv"] for e in evs] == [[ECHO, m_in]]


def test_cgroup_filter():
    base = "/sys/fs/cgroup/unified"
    if not os.path.isdir(base):
        base = "/sys/fs/cgroup"
    cg = os.path.join(base, marker())
    try:
        os.mkdir(cg)
    except OSError as e:
        raise lib.Skip(f"cannot create a cgroup v2 directory under {base}: {e}")
    try:
        m_in, m_out = marker(), marker()

        def enter():
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write("0")
        child = waiting_child(ECHO, m_in, preexec=enter)
        evs = trace_filtered(["-c", cg], [child], lambda: run_echo(m_out))
        assert [e["argv"] for e in evs] == [[ECHO, m_in]]
    finally:
        wait_for(lambda: not open(os.path.join(cg, "cgroup.procs")).read(), what="empty cgroup")
        os.rmdir(cg)


def test_count_stops_after_n_events():
    t = Tracer(["exec", "--json", "--count", "2", "-n", "echo"])
    for _ in range(5):
        run_echo(marker())
    rc, out, err = t.wait(timeout=10)
    assert rc == 0, err
    assert len(json_lines(out)) == 2


def test_duration_stops():
    """It stops after the duration, counted from when it is attached: not before."""
    t = Tracer(["exec", "--duration", "1.5", "-p", "1"])
    start = time.monotonic()
    rc, _, err = t.wait(timeout=10)
    took = time.monotonic() - start
    assert rc == 0, err
    assert 1.2 < took < 5, took


def test_sigterm_exits_cleanly():
    t = Tracer(["exec"])
    rc, out, err = t.stop(signal.SIGTERM)
    assert rc == 0, err
    assert out.decode().startswith("    PID")


def test_head_closes_pipe_and_exits_zero():
    lib.assert_head_closes_pipe(["exec", "-n", "echo"], lambda: run_echo(marker()))


def test_lost_events_are_reported():
    # A record carries the arguments: with 5 KB of them none fits a 4 KiB ring buffer, so every
    # exec is lost.
    d = tempfile.mkdtemp()
    try:
        prog = os.path.join(d, "ebt-lost-exec")
        shutil.copy("/bin/true", prog)
        t = Tracer(["exec", "--json", "--ringbuf-size", "4K", "-n", "ebt-lost-exec"],
                   allow_lost=True)
        for _ in range(5):
            subprocess.run([prog] + ["x" * 250] * 20)
        rc, out, err = t.stop()
        assert rc == 0, err
        objs = json_lines(out)
        assert objs == [{"type": "lost", "count": 5}], objs
        assert b"lost 5 events" in err, err
    finally:
        shutil.rmtree(d)


def test_records_are_as_large_as_what_they_carry():
    # Only the filename and arguments an exec has are sent: 5 execs of a short command fit a
    # 4 KiB ring buffer (a record with the whole 4 KiB filename buffer would not fit once).
    d = tempfile.mkdtemp()
    try:
        prog = os.path.join(d, "ebt-small-exec")
        shutil.copy("/bin/true", prog)
        t = Tracer(["exec", "--json", "--ringbuf-size", "4K", "-n", "ebt-small-exec"])
        for _ in range(5):
            subprocess.run([prog, "one", ""])
        rc, out, err = t.stop()
        assert rc == 0, err
        objs = json_lines(out)
        assert [(o["filename"], o["argv"]) for o in objs] == [(prog, [prog, "one", ""])] * 5, objs
        assert b"lost" not in err, err
    finally:
        shutil.rmtree(d)


def exec_once_without_tracefs(args, after=""):
    """exec ARGS --json -v --count 1 -n echo in a mount namespace of its own with tracefs
    unmounted, as on a bare host, then the shell commands after; an echo once it is ready.
    Returns (exit status, stdout, stderr)."""
    m = marker()
    script = (f'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; '
              f'"{BINARY}" exec {args} --json -v --count 1 -n echo; {after}')
    t = subprocess.Popen(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = b""
    deadline = time.monotonic() + 20
    while b"Tracing" not in err and time.monotonic() < deadline:
        err += os.read(t.stderr.fileno(), 4096)
    run_echo(m)
    out, rest = t.communicate(timeout=20)
    assert json.loads(out.splitlines()[0])["argv"] == [ECHO, m], (out, err + rest)
    return t.returncode, out, err + rest


def test_mounts_tracefs_when_absent():
    rc, _, err = exec_once_without_tracefs("-x")
    assert rc == 0, err
    assert b"mounted it at /sys/kernel/tracing" in err, err


def test_needs_no_tracefs_without_x():
    """Successful execs come from a raw tracepoint, which libbpf attaches without tracefs."""
    rc, out, err = exec_once_without_tracefs("", 'grep -c " tracefs " /proc/self/mounts')
    assert rc == 1 and b"mounted it" not in err, err  # grep -c: no tracefs mounted, exit 1
    assert out.splitlines()[1] == b"0", out


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["exec", "--bogus"], r"unrecognized option '--bogus'")
    assert_usage_error(["exec", "--pid", "abc"], r"invalid --pid 'abc'")
    assert_usage_error(["exec", "--pid", "-5"], r"invalid --pid '-5'")
    assert_usage_error(["exec", "--duration", "0"], r"invalid --duration '0'")
    assert_usage_error(["exec", "--max-args", "65"], r"invalid --max-args '65'")
    assert_usage_error(["exec", "stray"], r"unexpected argument 'stray'")
    assert_usage_error(["exec", "-c", "/nonexistent/cgroup"], r"invalid --cgroup")
    assert_usage_error(["exce"], r"did you mean 'exec'")
    assert_usage_error(["exec", "--method", "tp_btf"], r"--method chooses how -x catches failed")
    assert_nothing_loaded()


def test_help_and_version():
    p = run(["exec", "--help"])
    assert p.returncode == 0 and b"--max-args" in p.stdout and b"--pid" in p.stdout
    p2 = run(["help", "exec"])
    assert p2.returncode == 0 and p2.stdout == p.stdout
    p = run(["--version"])
    assert p.returncode == 0 and p.stdout.startswith(b"ebpftrace ") and b"libbpf 1." in p.stdout
    p = run([])
    assert p.returncode == 0 and b"  exec " in p.stdout


def test_check_reports_features():
    p = run(["check", "--json"], timeout=120)
    assert p.returncode in (0, 3), p.stderr  # 3: a subcommand cannot run here
    feats = {o["name"]: o for o in json_lines(p.stdout, "feature")}
    got = {name: o["ok"] for name, o in feats.items()}
    assert got == kernel_facts(), (got, feats)


def attaches(sub, method):
    """Whether SUB --method METHOD attaches here (exit 0), or says the kernel lacks it (3)."""
    p = run([sub, "--method", method, "--duration", "0.1"])
    assert p.returncode in (0, 3), (sub, method, p.returncode, p.stderr)
    return p.returncode == 0


def kernel_facts():
    """What `ebpftrace check` must report, from what the test can see for itself: files the
    kernel provides, its version, and what subcommands attach with."""
    lsm = "/sys/kernel/security/lsm"
    tracefs = "tracefs" in open("/proc/filesystems").read()
    return {
        "btf": os.path.exists("/sys/kernel/btf/vmlinux"),
        "tracefs": tracefs,
        "ringbuf": lib.kernel_version() >= (5, 8),
        "tracepoint": tracefs and attaches("open", "tracepoint"),
        "raw_tracepoint": attaches("open", "raw_tracepoint"),
        "tp_btf": attaches("open", "tp_btf"),
        "kprobe": os.path.exists("/sys/bus/event_source/devices/kprobe/type") and
        attaches("tcpconnlat", "kprobe"),
        "fentry": attaches("tcpconnlat", "fentry"),
        # The bpf LSM must be active, and its programs attach through the same trampolines.
        "lsm": os.path.exists(lsm) and "bpf" in open(lsm).read().split(",") and
        attaches("tcpconnlat", "fentry"),
        "tcx": lib.kernel_version() >= (6, 6),
    }


def test_arguments_in_untouched_pages_are_still_read():
    pid = {}

    def make():
        out = subprocess.run([helper("forkexec")], capture_output=True, check=True).stdout
        pid["p"] = int(out.split()[-1])  # after what echo printed
    ev, _ = trace_one(["-n", "echo"], make, lambda o: "ebpftrace-literal-argument" in o["argv"])
    assert ev["pid"] == pid["p"]
    assert ev["argv"] == ["echo", "ebpftrace-literal-argument", "second"]
    assert "truncated" not in ev
    ev, _ = trace_one(["-n", "echo", "--max-args", "2"], make,
                      lambda o: "ebpftrace-literal-argument" in o["argv"])
    assert ev["argv"] == ["echo", "ebpftrace-literal-argument"] and ev["truncated"] is True
