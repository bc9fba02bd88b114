"""ebpftrace bashreadline on the running kernel: the exact lines typed into interactive bash
shells the test starts under a pseudo-terminal."""
import os
import pty
import select
import time
import uuid

from lib import Tracer, assert_usage_error, run
import lib


def typed_bash(lines, uid=None):
    """An interactive bash on a pty, fed lines one by one (the last should end it); returns its
    pid once it has exited."""
    pid, fd = pty.fork()
    if pid == 0:
        if uid is not None:
            os.setuid(uid)
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"],
                  {"PATH": "/usr/bin:/bin", "HOME": "/", "TERM": "dumb"})

    def drain(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 4096)
                except OSError:
                    return
    try:
        drain(0.5)
        for ln in lines:
            os.write(fd, ln.encode() + b"\n")
            drain(0.3)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status), status
    finally:
        os.close(fd)
    return pid


def of_pid(evs, pid):
    return [e for e in evs if e["pid"] == pid]


def test_lines_typed_at_the_prompt_exactly():
    marker = uuid.uuid4().hex
    lines = [f"echo {marker}", "true 'two words'  ", "", "exit 3"]
    pid, evs = lib.trace_events("bashreadline", [], lambda: typed_bash(lines))
    got = of_pid(evs, pid)
    assert [e["line"] for e in got] == lines, got
    for e in got:
        assert set(e) == {"type", "ts_ns", "pid", "uid", "comm", "line"}, e
        assert e["uid"] == 0 and e["comm"] == "bash", e
        assert abs(e["ts_ns"] / 1e9 - time.time()) < 60, e
    assert [e["ts_ns"] for e in got] == sorted(e["ts_ns"] for e in got)


def test_long_and_non_ascii_lines():
    long = "echo " + "x" * 400
    pid, evs = lib.trace_events("bashreadline", [],
                                lambda: typed_bash([long, "echo \xe9t\xe9", "exit"]))
    got = of_pid(evs, pid)
    assert got[0]["line"] == long[:255] and got[0]["truncated"] is True, got[0]
    assert got[1]["line"] == "echo \xe9t\xe9" and "truncated" not in got[1]
    assert got[2]["line"] == "exit"


def test_pid_and_uid_filters():
    def two():
        return typed_bash(["echo a", "exit"], uid=65534), typed_bash(["echo b", "exit"])
    (nobody, root), evs = lib.trace_events("bashreadline", ["-u", "65534"], two)
    assert [e["line"] for e in of_pid(evs, nobody)] == ["echo a", "exit"]
    assert of_pid(evs, root) == [] and {e["uid"] for e in evs} == {65534}


def test_table_rows():
    t = Tracer(["bashreadline"])
    pid = typed_bash(["echo table-row", "exit"])
    rc, out, err = t.stop()
    assert rc == 0, err
    lines = out.decode().splitlines()
    assert lines[0].split() == ["PID", "UID", "COMM", "LINE"]
    rows = [ln.split(None, 3) for ln in lines[1:] if ln.split()[0] == str(pid)]
    assert rows == [[str(pid), "0", "bash", "echo table-row"], [str(pid), "0", "bash", "exit"]]


def test_head_closes_pipe_and_exits_zero():
    lib.assert_head_closes_pipe(["bashreadline"], lambda: typed_bash(["exit"]))


def test_a_shell_without_readline_is_exit_3():
    p = run(["bashreadline", "--shell", "/bin/true"])
    assert p.returncode == 3, p
    assert b"finding readline" in p.stderr and p.stderr.count(b"\n") == 1, p.stderr
    lib.assert_nothing_loaded()


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["bashreadline", "x"], r"unexpected argument 'x'")
    assert_usage_error(["bashreadline", "--method", "tp_btf"], r"unrecognized option")
    assert_usage_error(["bashreadline", "--shell", "/nonexistent"],
                       r"invalid --shell '/nonexistent': No such file")
