"""ebpftrace open on the running kernel: exact events for the opens a test helper makes."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from lib import Tracer, assert_usage_error, exact_bytes, helper, jq, json_lines, run
import lib

METHODS = ("tracepoint", "tp_btf", "raw_tracepoint")


def usable_methods():
    """The methods open has that `ebpftrace check` reports usable on this kernel."""
    return lib.usable_methods(METHODS, "raw_tracepoint")


def marker():
    return "ebt-" + uuid.uuid4().hex[:12]


def opener(*args, uid=None):
    """Run the opener fixture (as uid, if given); returns its pid and its output as
    {key: int}."""
    p = subprocess.Popen([helper("opener")] + list(args), stdout=subprocess.PIPE,
                         preexec_fn=(lambda: os.setuid(uid)) if uid is not None else None)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 0, (args, p.returncode)
    return p.pid, {k: int(v) for k, v in (ln.split() for ln in out.decode().splitlines())}


def waiting_opener(*args):
    """An opener started with -w: its pid is known before it opens; release() lets it go."""
    p = subprocess.Popen([helper("opener"), "-w"] + list(args), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    assert p.stdout.readline().split()[0] == b"ready"

    def release():
        p.stdin.write(b"go\n")
        p.stdin.close()
        p.stdout.read()
        assert p.wait(timeout=10) == 0
    p.release = release
    return p


def trace(args, action):
    return lib.trace_events("open", args, action)


def trace_table(args, action):
    t = Tracer(["open"] + args)
    res = action()
    rc, out, err = t.stop()
    assert rc == 0, err
    return res, out.decode().splitlines()


def of_pid(events, pid, path):
    """The events of this process for this path (the dynamic loader's opens come first)."""
    return [e for e in events if e["pid"] == pid and e["path"] == path]


class TmpDir:
    def __enter__(self):
        self.path = os.path.realpath(tempfile.mkdtemp(prefix="ebt-open-"))
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path)


def test_create_exclusive_with_mode():
    with TmpDir() as d:
        path = os.path.join(d, marker())
        (pid, res), evs = trace([], lambda: opener("create", path))
        assert os.stat(path).st_mode & 0o777 == 0o640 & ~os.umask(os.umask(0))
    ev, = of_pid(evs, pid, path)
    assert ev == {
        "type": "open", "ts_ns": ev["ts_ns"], "pid": pid, "tid": pid, "uid": 0,
        "comm": "opener", "ret": res["fd"], "syscall": "openat",
        "flags": "O_WRONLY|O_CREAT|O_EXCL", "mode": 0o640, "path": path}
    assert abs(ev["ts_ns"] / 1e9 - time.time()) < 60


def test_json_path_with_invalid_utf8_reads_back_in_python_and_jq():
    with TmpDir() as d:
        name = marker().encode() + b"-\xff-\xc3\xa9"  # the invalid 0xff and a valid "\xc3\xa9"
        path = os.path.join(d.encode(), name)
        t = Tracer(["open", "--json"])
        pid, _ = opener("create", path)
        rc, out, err = t.stop()
        assert rc == 0, err
    line, = [ln for ln in out.split(b"\n") if name[:16] in ln and b'"pid":%d,' % pid in ln]
    assert b'-\\udcff-\xc3\xa9"' in line, line
    assert exact_bytes(json.loads(line)["path"]) == path
    assert jq(line, ".path") == json.dumps(path.decode("utf-8", "replace"), ensure_ascii=False)


def test_create_table_row_with_extended_columns():
    with TmpDir() as d:
        path = os.path.join(d, marker())
        (pid, res), lines = trace_table(["-e"], lambda: opener("create", path))
    assert lines[0].split() == ["PID", "TID", "UID", "COMM", "FD", "FLAGS", "MODE", "PATH"]
    rows = [ln.split() for ln in lines[1:] if ln.split()[0] == str(pid) and path in ln]
    assert rows == [[str(pid), str(pid), "0", "opener", str(res["fd"]),
                     "O_WRONLY|O_CREAT|O_EXCL", "0640", path]]


def test_missing_file_is_enoent():
    path = "/nonexistent-" + marker()
    (pid, res), evs = trace([], lambda: opener("missing", path))
    assert res["errno"] == 2
    ev, = of_pid(evs, pid, path)
    assert ev["ret"] == -2 and ev["error"] == "ENOENT"
    assert ev["flags"] == "O_RDONLY" and "mode" not in ev
    (pid, _), lines = trace_table([], lambda: opener("missing", path))
    assert lines[0].split() == ["PID", "TID", "UID", "COMM", "FD", "PATH"]
    rows = [ln.split() for ln in lines[1:] if ln.split()[0] == str(pid) and path in ln]
    assert rows == [[str(pid), str(pid), "0", "opener", "ENOENT", path]]


def test_openat_relative_to_dirfd_with_and_without_full_path():
    with TmpDir() as d:
        name = marker()
        open(os.path.join(d, name), "w").close()
        (pid, res), evs = trace([], lambda: opener("at", d, name))
        ev, = of_pid(evs, pid, name)
        assert "full_path" not in ev
        assert ev["ret"] == res["fd"] and ev["flags"] == "O_RDONLY|O_CLOEXEC"
        (pid, res), evs = trace(["-F"], lambda: opener("at", d, name))
        ev, = of_pid(evs, pid, name)
        assert ev["full_path"] == os.path.join(d, name)
        assert ev["ret"] == res["fd"]


def test_full_path_of_a_failed_open_against_the_cwd():
    with TmpDir() as d:
        name = marker()
        (pid, res), evs = trace(["-F"], lambda: opener("cwd", d, name))
    ev, = of_pid(evs, pid, name)
    assert ev["error"] == "ENOENT"
    assert ev["full_path"] == os.path.join(d, name)


def test_full_path_crosses_mount_points_and_keeps_absolute_paths():
    # /sys/kernel is inside the sysfs mount, itself under /: the walk must cross into /.
    (pid, _), evs = trace(["-F"], lambda: opener("at", "/sys/kernel", "mm"))
    ev, = of_pid(evs, pid, "mm")
    assert ev["full_path"] == "/sys/kernel/mm"
    (pid, _), evs = trace(["-F"], lambda: opener("at", "/", "etc"))
    ev, = of_pid(evs, pid, "etc")
    assert ev["full_path"] == "/etc"
    path = "/nonexistent-" + marker()
    (pid, _), evs = trace(["-F"], lambda: opener("missing", path))
    ev, = of_pid(evs, pid, path)
    assert ev["full_path"] == path


def test_full_path_table_column():
    with TmpDir() as d:
        name = marker()
        (pid, _), lines = trace_table(["-F"], lambda: opener("cwd", d, name))
    assert lines[0].split()[-1] == "PATH"
    rows = [ln.split() for ln in lines[1:] if ln.split()[0] == str(pid) and name in ln]
    assert rows == [[str(pid), str(pid), "0", "opener", "ENOENT", os.path.join(d, name)]]


def test_openat2():
    with TmpDir() as d:
        name = marker()
        open(os.path.join(d, name), "w").close()
        (pid, res), evs = trace(["-F"], lambda: opener("at2", d, name))
    if res.get("errno") == 38:
        raise lib.Unsupported("this kernel has no openat2")
    ev, = of_pid(evs, pid, name)
    assert ev["syscall"] == "openat2"
    assert ev["ret"] == res["fd"]
    assert ev["flags"] == "O_RDONLY|O_CLOEXEC"
    assert ev["path"] == name and ev["full_path"] == os.path.join(d, name)


def test_every_syscall_of_the_family_the_same_with_each_method():
    """open, openat, openat2 and creat, each forced method: the same exact events."""
    for method in usable_methods():
        with TmpDir() as d:
            made, opened = os.path.join(d, marker()), os.path.join(d, marker())
            name = marker()
            open(os.path.join(d, name), "w").close()

            def calls():
                return [opener("creat", made), opener("open", made), opener("at2", d, name),
                        opener("missing", opened)]
            res, evs = trace(["--method", method], calls)
        (creat_pid, creat), (open_pid, opened_fd), (at2_pid, at2), (missing_pid, _) = res
        ev, = of_pid(evs, creat_pid, made)
        assert (ev["syscall"], ev["ret"], ev["flags"], ev["mode"]) == (
            "creat", creat["fd"], "O_WRONLY|O_CREAT|O_TRUNC", 0o600), (method, ev)
        ev, = of_pid(evs, open_pid, made)
        assert (ev["syscall"], ev["ret"], ev["flags"]) == ("open", opened_fd["fd"], "O_RDONLY"), (
            method, ev)
        ev, = of_pid(evs, missing_pid, opened)
        assert (ev["syscall"], ev["error"]) == ("openat", "ENOENT"), (method, ev)
        if at2.get("errno") != 38:  # kernels before 5.6 have no openat2
            ev, = of_pid(evs, at2_pid, name)
            assert (ev["syscall"], ev["ret"], ev["flags"]) == (
                "openat2", at2["fd"], "O_RDONLY|O_CLOEXEC"), (method, ev)


def test_method_is_reported_and_forced():
    lib.assert_methods_forced_and_reported("open", usable_methods())


def test_sys_exit_needs_no_tracefs_the_tracepoints_mount_it():
    """On a bare host (tracefs unmounted, in a namespace of the test's own) the BTF-typed
    sys_exit program attaches without tracefs; the syscall tracepoints mount it privately."""
    for method, mounts in (("tp_btf", False), ("tracepoint", True)):
        if method not in usable_methods():
            continue
        script = ("umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; "
                  f'exec "{lib.BINARY}" open -v --method {method} --duration 0.2')
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                           capture_output=True, timeout=30)
        err = p.stderr.decode()
        assert p.returncode == 0, err
        assert ("mounted it at /sys/kernel/tracing" in err) == mounts, (method, err)


def test_failed_only_with_x():
    with TmpDir() as d:
        path, missing = os.path.join(d, marker()), os.path.join(d, marker())

        def both():
            return opener("create", path)[0], opener("missing", missing)[0]
        (ok_pid, bad_pid), evs = trace(["-x"], both)
    assert of_pid(evs, ok_pid, path) == []
    assert len(of_pid(evs, bad_pid, missing)) == 1
    assert evs and all(e["ret"] < 0 and e["error"] for e in evs)


def test_flags_filter():
    with TmpDir() as d:
        path, missing = os.path.join(d, marker()), os.path.join(d, marker())

        def both():
            return opener("create", path)[0], opener("missing", missing)[0]
        (create_pid, missing_pid), evs = trace(["--flags", "O_EXCL,O_TRUNC"], both)
        assert len(of_pid(evs, create_pid, path)) == 1
        assert of_pid(evs, missing_pid, missing) == []
        assert evs and all("O_EXCL" in e["flags"] or "O_TRUNC" in e["flags"] for e in evs)
        os.unlink(path)
        (create_pid, missing_pid), evs = trace(["--flags", "o_rdonly"], both)
        assert of_pid(evs, create_pid, path) == []
        assert len(of_pid(evs, missing_pid, missing)) == 1
        assert evs and all(e["flags"].startswith("O_RDONLY") for e in evs)


def test_pid_filter_includes_and_excludes():
    a, b = marker(), marker()
    pa, pb = waiting_opener("missing", "/" + a), waiting_opener("missing", "/" + b)
    _, evs = trace(["-p", str(pa.pid)], lambda: (pa.release(), pb.release()))
    assert [e["path"] for e in evs if e["path"] in ("/" + a, "/" + b)] == ["/" + a]
    assert evs and all(e["pid"] == pa.pid for e in evs)


def test_uid_is_the_callers_and_filters():
    path = "/nonexistent-" + marker()
    nobody = 65534

    def both():
        return opener("missing", path, uid=nobody)[0], opener("missing", path)[0]
    (other, root), evs = trace([], both)
    assert [e["uid"] for e in of_pid(evs, other, path)] == [nobody]
    assert [e["uid"] for e in of_pid(evs, root, path)] == [0]
    (other, root), evs = trace(["-u", str(nobody)], both)
    assert len(of_pid(evs, other, path)) == 1 and of_pid(evs, root, path) == []


def test_name_filter_includes_and_excludes():
    a, b = marker(), marker()
    comm_a, comm_b = a[-12:], b[-12:]

    def both():
        opener("-n", comm_a, "missing", "/" + a)
        opener("-n", comm_b, "missing", "/" + b)
    _, evs = trace(["-n", comm_a[2:10]], both)
    assert [e["path"] for e in evs if e["path"] in ("/" + a, "/" + b)] == ["/" + a]
    assert evs and all(e["comm"] == comm_a for e in evs)


def test_json_and_table_agree():
    with TmpDir() as d:
        name = marker()
        path = os.path.join(d, marker())
        tj = Tracer(["open", "--json", "-F", "-n", "opener"])
        tt = Tracer(["open", "-e", "-F", "-n", "opener"])
        opener("cwd", d, name)
        opener("create", path)
        rc_j, out_j, err_j = tj.stop()
        rc_t, out_t, err_t = tt.stop()
    assert (rc_j, rc_t) == (0, 0), (rc_j, err_j, rc_t, err_t)
    evs = json_lines(out_j, "open")
    rows = [ln.split() for ln in out_t.decode().splitlines()[1:]]
    assert len(evs) == len(rows), (evs, rows)
    assert {e["path"] for e in evs} >= {name, path}
    for ev, row in zip(evs, rows):
        fd = ev["error"] if ev["ret"] < 0 else str(ev["ret"])
        mode = "0%o" % ev["mode"] if "mode" in ev else "-"
        assert row == [str(ev["pid"]), str(ev["tid"]), str(ev["uid"]), ev["comm"], fd,
                       ev["flags"], mode, ev["full_path"]], (ev, row)


def test_head_closes_pipe_and_exits_zero():
    lib.assert_head_closes_pipe(["open", "-n", "opener"], lambda: opener("missing", "/" + marker()))


def test_sigterm_exits_cleanly():
    t = Tracer(["open", "-p", "1"])
    rc, out, err = t.stop(signal.SIGTERM)
    assert rc == 0, err
    assert out.decode().split() == ["PID", "TID", "UID", "COMM", "FD", "PATH"]


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["open", "--flags", "O_WRONLY,O_BOGUS"],
                       r"invalid --flags 'O_WRONLY,O_BOGUS': 'O_BOGUS' is not an open flag")
    assert_usage_error(["open", "--flags", "O_WRONLY,"], r"invalid --flags 'O_WRONLY,': an empty")
    assert_usage_error(["open", "--flags", ""], r"invalid --flags '': an empty")
    assert_usage_error(["open", "--pid", "0"], r"invalid --pid '0'")
    assert_usage_error(["open", "-p", "abc"], r"invalid --pid 'abc'")
    assert_usage_error(["open", "stray"], r"unexpected argument 'stray'")
    assert_usage_error(["open", "--method", "kprobe"],
                       r"invalid --method 'kprobe': expected one of tracepoint, tp_btf, "
                       r"raw_tracepoint")
