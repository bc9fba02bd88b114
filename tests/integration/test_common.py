"""What every subcommand shares, table-driven: the common filters (-p -t -u -n --cgroup --count -T)
each with an event that must pass and one that must not, events from non-leader threads, SIGTERM
and `| head -1`, and partial loss (a small ring buffer, a burst: delivered + lost = generated).

The events come from the actor helper (tests/helpers/actor.c): its pid and tid are known before it
acts, and it acts when released.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import lib
from test_kill import missing_pid
from test_runqlat import cgroup2_root
from test_tcpconnlat import Server

NOBODY = 65534


def unique_comm():
    return "ebt" + uuid.uuid4().hex[:10]


class Actor:
    """The actor helper, started and waiting: .pid, .tid (the thread that will act), .comm."""

    def __init__(self, action, comm, thread=False, count=1, uid=None, cgroup=None):
        def preexec():
            if cgroup:
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                    f.write("0")
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
        cmd = [lib.helper("actor"), "-n", comm, "-c", str(count)] + (["-t"] if thread else [])
        self.comm = comm
        self.proc = subprocess.Popen(cmd + action, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     preexec_fn=preexec)
        ready = self.proc.stdout.readline().split()
        assert ready[:1] == [b"ready"], (cmd + action, ready)
        self.pid, self.tid = int(ready[1]), int(ready[2])
        assert (self.tid != self.pid) == thread, (self.pid, self.tid)

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        self.proc.stdout.read()
        assert self.proc.wait(timeout=30) == 0, f"actor exit {self.proc.returncode}"


class Streaming:
    """One streaming subcommand: the actor's action that makes one event, which events are an
    actor's, and the options that leave out its other events (kill: the SIGCHLD of its exit)."""

    def __init__(self, name, action, ours, only=()):
        self.name, self._action, self._ours, self.only = name, action, ours, list(only)

    def actor(self, ctx, comm=None, **kw):
        comm = comm or unique_comm()
        return Actor(self._action(ctx, comm), comm, **kw)

    def of(self, events, actor, ctx):
        return [e for e in events if e["pid"] == actor.pid and self._ours(e, ctx)]


class Context:
    """What the actions need: a copy of /bin/true named after each comm (exec's comm is the
    name of the file executed), a missing path and pid, a loopback server."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ebt-common-")
        os.chmod(self.dir, 0o755)
        self.path = "/nonexistent-" + unique_comm()
        self.target = missing_pid()
        self.server = Server("127.0.0.1")

    def exe(self, comm):
        path = os.path.join(self.dir, comm)
        if not os.path.exists(path):
            shutil.copy("/bin/true", path)
        return path

    def close(self):
        self.server.close()
        shutil.rmtree(self.dir)


@contextlib.contextmanager
def context():
    ctx = Context()
    try:
        yield ctx
    finally:
        ctx.close()


STREAMING = [
    Streaming("exec", lambda ctx, comm: ["exec", ctx.exe(comm), "ebt-common"],
              lambda e, ctx: e["argv"][1:] == ["ebt-common"]),
    Streaming("open", lambda ctx, comm: ["open", ctx.path],
              lambda e, ctx: e["path"] == ctx.path),
    Streaming("kill", lambda ctx, comm: ["kill", str(ctx.target), "0"],
              lambda e, ctx: e["target_pid"] == ctx.target, only=["-k"]),
    Streaming("tcpconnlat", lambda ctx, comm: ["connect", "127.0.0.1", str(ctx.server.port)],
              lambda e, ctx: e["dport"] == ctx.server.port),
]


def trace_actors(sub, args, actors, allow_lost=False, stop=None):
    """Trace `SUB --json ARGS` while the actors act, in order; returns the events."""
    t = lib.Tracer([sub.name, "--json"] + args, allow_lost=allow_lost)
    if stop:
        stop(t)
    for a in actors:
        a.go()
    if stop:
        t.proc.send_signal(signal.SIGCONT)
    rc, out, err = t.stop()
    assert rc == 0, f"{sub.name} {args}: exit {rc}: {err!r}"
    return lib.json_lines(out, sub.name, allow_lost=allow_lost)


def check_filter(make_args, make_actors, field=None, subs=STREAMING):
    """For every streaming subcommand (of subs): the filter make_args(inside actor) passes the
    inside actor's event and not the outside one's; every event it passes has field as the
    inside actor's (where the event has that field)."""
    for sub in subs:
        with context() as ctx:
            inside, outside = make_actors(sub, ctx)
            args = make_args(inside)
            evs = trace_actors(sub, args, [inside, outside])
            assert len(sub.of(evs, inside, ctx)) == 1, (sub.name, args, evs)
            assert sub.of(evs, outside, ctx) == [], (sub.name, args, evs)
            if field:
                name, want = field(inside)
                assert evs and all(e.get(name, want) == want for e in evs), (sub.name, args, evs)


def plain_pair(sub, ctx, **kw):
    return sub.actor(ctx, **kw), sub.actor(ctx, **kw)


def test_pid_filter_in_every_subcommand():
    check_filter(lambda a: ["-p", str(a.pid)], plain_pair, lambda a: ("pid", a.pid))


def test_tid_filter_in_every_subcommand():
    """Both actors act from a second thread: -t names the inside one's. (Not exec: after an exec
    from a thread, that thread has the process's pid as its tid.)"""
    check_filter(lambda a: ["-t", str(a.tid)], lambda s, ctx: plain_pair(s, ctx, thread=True),
                 lambda a: ("tid", a.tid), subs=[s for s in STREAMING if s.name != "exec"])


def test_uid_filter_in_every_subcommand():
    check_filter(lambda a: ["-u", str(NOBODY)],
                 lambda sub, ctx: (sub.actor(ctx, uid=NOBODY), sub.actor(ctx)),
                 lambda a: ("uid", NOBODY))


def test_name_filter_in_every_subcommand():
    check_filter(lambda a: ["-n", a.comm[2:]], plain_pair, lambda a: ("comm", a.comm))


def test_cgroup_filter_in_every_subcommand():
    root = cgroup2_root()
    cg = os.path.join(root, unique_comm())
    os.mkdir(cg)
    try:
        check_filter(lambda a: ["--cgroup", cg],
                     lambda sub, ctx: (sub.actor(ctx, cgroup=cg), sub.actor(ctx)))
    finally:
        lib.wait_for(lambda: not open(os.path.join(cg, "cgroup.procs")).read(), what="empty cgroup")
        os.rmdir(cg)


def test_count_stops_every_subcommand_after_n_events():
    prefix = unique_comm()[:8]
    for sub in STREAMING:
        with context() as ctx:
            actors = [sub.actor(ctx, comm=f"{prefix}{i}") for i in range(3)]
            t = lib.Tracer([sub.name, "--json", "--count", "2", "-n", prefix])
            for a in actors:
                a.go()
            rc, out, err = t.wait(timeout=20)
            assert rc == 0, (sub.name, err)
            evs = lib.json_lines(out, sub.name)
            assert len(evs) == 2 and all(e["comm"].startswith(prefix) for e in evs), (sub.name,
                                                                                     evs)


TIME = re.compile(r"\d\d:\d\d:\d\d\.\d\d\d")


def table_row(sub, args, actor):
    """`SUB ARGS -n COMM` in table form while the actor acts: (header, the actor's row)."""
    t = lib.Tracer([sub.name, "-n", actor.comm[2:]] + sub.only + args)
    actor.go()
    rc, out, err = t.stop()
    assert rc == 0, (sub.name, err)
    lines = out.decode().splitlines()
    assert len(lines) == 2, (sub.name, args, lines)
    return lines[0].split(), lines[1].split()


def test_timestamp_column_in_every_subcommand():
    for sub in STREAMING:
        with context() as ctx:
            header, row = table_row(sub, ["-T"], sub.actor(ctx))
            assert header[0] == "TIME" and TIME.fullmatch(row[0]), (sub.name, header, row)
            assert header[1:] == table_row(sub, [], sub.actor(ctx))[0], (sub.name, header)
            now = time.strftime("%H:%M:%S")
            assert abs(seconds(row[0]) - seconds(now)) < 30, (row[0], now)


def seconds(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_events_from_a_non_leader_thread():
    """An open, a signal and an exec made by a second thread: the thread's own tid where the
    event has one; the exec is the process's (the thread takes the pid over)."""
    for sub in STREAMING[:3]:
        with context() as ctx:
            a = sub.actor(ctx, thread=True)
            (ev,) = sub.of(trace_actors(sub, ["-p", str(a.pid)], [a]), a, ctx)
            if sub.name == "exec":
                assert ev["comm"] == a.comm, ev
            else:
                assert ev["tid"] == a.tid != a.pid, (ev, a.pid, a.tid)
                assert ev["comm"] == a.comm, ev


def test_partial_loss_is_counted_exactly():
    """The tracer stopped (SIGSTOP) while a burst fills its smallest ring: what it delivers and
    what it reports lost add up to what the actor made, and both are there."""
    burst = 200
    for sub in STREAMING:
        with context() as ctx:
            if sub.name == "exec":  # one exec per process; 40 records overflow 4 KiB
                actors, size = [sub.actor(ctx, comm=f"ebtloss{i}") for i in range(40)], "4K"
                args = ["-n", "ebtloss"]
            else:
                actors, size = [sub.actor(ctx, count=burst)], "4K"
                args = ["-p", str(actors[0].pid)]
            evs = trace_actors(sub, ["--ringbuf-size", size] + sub.only + args, actors,
                               allow_lost=True,
                               stop=lambda t: t.proc.send_signal(signal.SIGSTOP))
            made = burst if len(actors) == 1 else len(actors)
            mine = [e for a in actors for e in sub.of(evs, a, ctx)]
            assert len(mine) == len(evs), (sub.name, evs)
            assert 0 < len(mine) < made and len(mine) + evs.lost == made, (
                sub.name, len(mine), evs.lost, made)


# Every subcommand, for SIGTERM and `| head -1`: its arguments, and the first line it prints.
EVERY = {
    "exec": (["-n", "true"], r"\s*PID\b"),
    "open": (["-n", "true"], r"\s*PID\b"),
    "kill": ([], r"\s*PID\b"),
    "tcpconnlat": ([], r"\s*PID\b"),
    "runqlat": (["0.2"], r"\s*usecs\s+: count"),
    "memleak": (["0.3"], r"\[\d\d:\d\d:\d\d\.\d\d\d\] \d+ bytes in \d+ allocations"),
}


def test_sigterm_ends_every_subcommand_cleanly():
    for sub, (args, first) in EVERY.items():
        t = lib.Tracer([sub] + args)
        time.sleep(0.5)
        rc, out, err = t.stop(signal.SIGTERM)
        assert rc == 0, (sub, rc, err)
        assert err.split(b"\n", 1)[1] == b"", (sub, err)
        assert re.match(first, out.decode()), (sub, out[:200])


# Opened by the runs that use them (common/dynlib.h): memleak's user stacks, tc -w, --metrics.
# libm is not linked at all. Each mapped library costs every run resident pages and start time.
OPTIONAL_LIBRARIES = re.compile(r"/lib(dw|pcap|microhttpd|gnutls|m)[.-][^/]*$", re.M)
# ASan's and UBSan's runtimes bring libm with them (the suite's ASan run).
OPTIONAL_UNDER_SANITIZERS = re.compile(r"/lib(dw|pcap|microhttpd|gnutls)[.-][^/]*$", re.M)


def test_tracers_map_no_library_only_some_runs_need():
    for sub, (args, _) in EVERY.items():
        t = lib.Tracer([sub] + args)
        with open(f"/proc/{t.proc.pid}/maps") as f:
            maps = f.read()
        rc, _, err = t.stop(signal.SIGTERM)
        assert rc == 0, (sub, rc, err)
        assert "libelf" in maps, (sub, maps)  # the pattern sees the maps' paths
        optional = OPTIONAL_UNDER_SANITIZERS if "/libasan" in maps else OPTIONAL_LIBRARIES
        assert not optional.search(maps), (sub, optional.search(maps)[0])


def test_output_file_in_every_subcommand():
    """-o FILE: the rows go to FILE (truncated if it was there), nothing to stdout."""
    with tempfile.TemporaryDirectory(prefix="ebt-output-") as d:
        for sub, (args, first) in EVERY.items():
            path = os.path.join(d, sub)
            with open(path, "w") as f:
                f.write("stale line that must go\n" * 100)
            t = lib.Tracer([sub, "-o", path] + args)
            subprocess.run(["true"])
            time.sleep(0.5)
            rc, out, err = t.stop(signal.SIGTERM)
            assert rc == 0, (sub, rc, err)
            assert out == b"", (sub, out[:200])
            with open(path) as f:
                text = f.read()
            assert re.match(first, text) and "stale" not in text, (sub, text[:200])


def test_output_file_mode_dash_and_errors():
    with tempfile.TemporaryDirectory(prefix="ebt-output-") as d:
        path = os.path.join(d, "new.json")
        old = os.umask(0o022)
        try:
            p = lib.run(["exec", "-n", "true", "--json", "-o", path, "-d", "0.2"])
        finally:
            os.umask(old)
        assert p.returncode == 0 and p.stdout == b"", p.stderr
        assert os.stat(path).st_mode & 0o777 == 0o644
        p = lib.run(["exec", "-n", "true", "-o", "-", "-d", "0.2"])
        assert p.returncode == 0 and p.stdout.split() == [b"PID", b"PPID", b"UID", b"COMM",
                                                           b"RET", b"ARGS"], p
        # a bad command line creates no file, whatever comes after -o
        p = lib.run(["exec", "-o", path + ".not", "--no-such-option"])
        assert p.returncode == 2 and not os.path.exists(path + ".not"), p
        p = lib.run(["exec", "-o", os.path.join(d, "no-dir", "x")])
        assert p.returncode == 1 and p.stderr.count(b"\n") == 1, p
        assert b"cannot write --output" in p.stderr and b"No such file" in p.stderr, p
    p = lib.run(["exec", "-o", ""])
    assert p.returncode == 2 and p.stderr.count(b"\n") == 1 and b"--output" in p.stderr, p
    lib.assert_nothing_loaded()


def test_head_closes_pipe_of_every_subcommand():
    with Server("127.0.0.1") as srv:
        def make_event():
            subprocess.run(["true"])
            try:
                os.kill(missing_pid(), 0)
            except ProcessLookupError:
                pass
            socket.create_connection(("127.0.0.1", srv.port)).close()
        for sub, (args, first) in EVERY.items():
            lib.assert_head_closes_pipe([sub] + args, make_event, first=first)
