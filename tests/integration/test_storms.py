"""Event storms: 4 threads make events as fast as they can (tests/helpers/storm.c) while a
streaming subcommand traces them into a file through a small ring buffer. No crash; the
tracer's RSS, sampled every second, stays flat; what it delivered plus what it reported lost is
exactly what the storm made; with --json, the lost record is a valid JSON object like the rest.

Three seconds a storm (one soak test of 30 s for open), for every streaming subcommand:
- open, kill, exit, exec: the storm's own syscalls, forks and execs.
- tcpconnlat, tcpstates: TCP connects over loopback in a network namespace of the storm's own,
  each closed by a RST (SO_LINGER {1, 0}), so that no port stays in TIME_WAIT and the storm never
  runs out of them; a connect that succeeded is one tcpconnlat event and six tcpstates ones
  (TCPSTATES_PER_CONNECT says which).
- bashreadline: an interactive bash on a pseudo-terminal, fed lines as fast as it reads them.
On this test's 6.18 host a tracepoint program of a tracer that has just said "Tracing" may still
miss the events of the next few hundred milliseconds (up to 450 ms measured; bpftrace attaching to
the same tracepoint did not; the cause is not known yet):
the TCP and bash storms first make events of their own that the count leaves out ("probes") until
the tracer shows one, and only then storm.
"""
import os
import pty
import random
import re
import select
import shutil
import subprocess
import tempfile
import time
import uuid

import lib
from test_kill import missing_pid

THREADS = 4
SECONDS = 3
RINGBUF = "8K"
# RSS may grow while the allocator and the output buffers warm up, by no more than this.
RSS_SLACK_KB = 8 * 1024
TABLE_LOST = re.compile(rb"lost (\d+) events")
# The storm helper in a network namespace of its own with only loopback, up.
IN_NETNS = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
# What one connect of the connect storm does to its two sockets, each transition one tcpstates
# event (include/net/tcp_states.h, net/ipv4/tcp.c, tcp_input.c):
#   client  CLOSE -> SYN_SENT         connect() (tcp_v4_connect)
#           SYN_SENT -> ESTABLISHED   the SYN-ACK (tcp_finish_connect)
#           ESTABLISHED -> CLOSE      close() with SO_LINGER {1, 0}: tcp_disconnect, which
#                                     sends the RST; no FIN_WAIT, no TIME_WAIT
#   server  LISTEN -> SYN_RECV        the ACK makes the child socket (inet_csk_clone_lock)
#           SYN_RECV -> ESTABLISHED   the same ACK (tcp_rcv_state_process)
#           ESTABLISHED -> CLOSE      the RST (tcp_reset -> tcp_done); the server's close()
#                                     after it finds the socket closed and changes nothing
# The request socket before the child (NEW_SYN_RECV) is not a full socket and has no event. The
# helper's client waits for a byte the server sends once it has accepted, so the RST always comes
# to an established child, never to a request socket. The listener changes state only before the
# tracer starts and after it stopped. Measured: these six in this order for each socket on 6.18
# (the host), and six per connect on 6.1 (the test VM).
TCPSTATES_PER_CONNECT = 6


class Storm:
    """One subcommand's storm: the storm helper's action, and the tracer options that keep
    exactly its events: by default the storm process's pid (for what it does itself),
    by_comm for its children, or scope(pid, addr) for the connect storms. per_event: tracer
    events per event made. probe: the storm makes probe connects first (see the docstring)."""

    def __init__(self, sub, action, by_comm=False, only=(), scope=None, per_event=1,
                 netns=False, probe=False):
        self.sub, self.action, self.by_comm, self.only = sub, action, by_comm, list(only)
        self.scope, self.per_event, self.netns, self.probe = scope, per_event, netns, probe


def connect_storm(sub, scope, per_event):
    # The storm connects from and to ADDR (.1), its probes use ADDR + 1 (.2).
    return Storm(sub, lambda d, comm, addr: ["connect", addr + "1"], scope=scope,
                 per_event=per_event, netns=True, probe=True)


STORMS = [
    Storm("open", lambda d, comm, addr: ["open", os.path.join(d, "missing")]),
    Storm("kill", lambda d, comm, addr: ["kill", str(missing_pid())], only=["-k"]),
    Storm("exit", lambda d, comm, addr: ["exit"], by_comm=True),
    Storm("exec", lambda d, comm, addr: ["exec", os.path.join(d, comm)], by_comm=True),
    # tcpconnlat's start runs in the connecting task: -p keeps exactly the storm's connects.
    connect_storm("tcpconnlat", lambda pid, addr: ["-p", pid], 1),
    # tcpstates reports the task running at each change (cmd/tcpstates.c): for those an arriving
    # packet makes, whoever runs the softirq. On loopback that is the sending thread of the
    # storm (every change of a storm here was), but a softirq put off to ksoftirqd would be
    # ksoftirqd's. The storm's addresses, random in 127/8 and in a namespace of its own, are its
    # own whoever runs the softirqs.
    connect_storm("tcpstates", lambda pid, addr: ["--saddr", addr + "0/30"],
                  TCPSTATES_PER_CONNECT),
]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def written(out):
    """What the tracer has written to the file out so far, read without moving the offset it
    shares with the tracer."""
    return os.pread(out.fileno(), os.fstat(out.fileno()).st_size, 0)


def wait_until_seen(out, make_probe, is_probe):
    """Make probe events until the tracer has written one."""
    for _ in range(100):
        make_probe()
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            if any(is_probe(ln) for ln in written(out).splitlines()):
                return
            time.sleep(0.02)
    raise AssertionError(f"the tracer showed none of 100 probes: {written(out)[-500:]!r}")


def count_output(storm_sub, data, err, json_out, is_probe):
    """(delivered, lost) of the tracer's output, probe events left out."""
    if json_out:
        evs = lib.json_lines(data, storm_sub, allow_lost=True)
        lines = [ln for ln in data.splitlines() if b'"type":"lost"' not in ln]
        assert len(lines) == len(evs), data[-500:]
        return sum(not is_probe(ln) for ln in lines), evs.lost
    lines = data.splitlines()[1:]  # the header
    m = TABLE_LOST.search(err)
    return sum(not is_probe(ln) for ln in lines), int(m.group(1)) if m else 0


def run_storm(storm, json_out, seconds=SECONDS):
    """Trace one storm; returns (made, delivered, lost, RSS samples in kB)."""
    comm = "ebs" + uuid.uuid4().hex[:10]
    addr = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}."
    probe_token = (addr + "2").encode()
    work = tempfile.mkdtemp(prefix="ebt-storm-")
    try:
        shutil.copy("/bin/true", os.path.join(work, comm))
        gen = subprocess.Popen([*(IN_NETNS if storm.netns else []), lib.helper("storm"), "-n",
                                comm, str(seconds), str(THREADS),
                                *storm.action(work, comm, addr)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        ready = gen.stdout.readline().split()
        assert ready[:1] == [b"ready"], ready
        pid = ready[1].decode()
        if storm.scope:
            scope = storm.scope(pid, addr)
        else:
            scope = ["-n", comm] if storm.by_comm else ["-p", pid]

        def is_probe(line):
            return storm.probe and probe_token in re.split(rb'[\s",:]+', line)

        def probe():
            gen.stdin.write(b"probe\n")
            gen.stdin.flush()
            assert gen.stdout.readline() == b"probed\n"
        with tempfile.TemporaryFile() as out:
            args = [storm.sub, "--ringbuf-size", RINGBUF, *storm.only, *scope]
            t = lib.Tracer(args + (["--json"] if json_out else []), allow_lost=True, stdout=out)
            if storm.probe:
                wait_until_seen(out, probe, is_probe)
            gen.stdin.write(b"go\n")
            gen.stdin.flush()
            rss = []
            for _ in range(seconds + 1):  # the storm, and a second after it
                rss.append(rss_kb(t.proc.pid))
                time.sleep(1)
            line = gen.stdout.readline()  # run.py's alarm bounds this wait
            assert line.startswith(b"done"), line
            made = int(line.split()[1]) * storm.per_event
            assert t.proc.poll() is None, f"{args}: ended during the storm: {t.stderr!r}"
            rc, _, err = t.stop()
            gen.stdin.close()
            assert gen.wait(timeout=30) == 0
            assert rc == 0, (args, rc, err)
            out.seek(0)
            data = out.read()
        return (made, *count_output(storm.sub, data, err, json_out, is_probe), rss)
    finally:
        shutil.rmtree(work)


def check_counts(what, made, delivered, lost, rss):
    what = (what, made, delivered, lost, rss)
    assert made > 0 and delivered > 0, what
    assert delivered + lost == made, what
    assert max(rss) - rss[0] <= RSS_SLACK_KB, what
    return what


def check_storm(storm, json_out, seconds=SECONDS):
    made, delivered, lost, rss = run_storm(storm, json_out, seconds)
    return check_counts((storm.sub, "json" if json_out else "table"), made, delivered, lost, rss)


# --- bashreadline: an interactive bash fed lines ---------------------------------------------

# bashreadline attaches to the bash its --shell names, by default /bin/bash with its symlinks
# resolved (cmd/bashreadline.c): that is the shell to run. With -p it finds readline in that
# binary or else in the libreadline the process maps, as the storm's bash does.
BASH = os.path.realpath("/bin/bash")
PROBE_LINE = "# probe"


class Pty:
    """bash --norc --noprofile -i on a pseudo-terminal; what it writes is read and dropped."""

    def __init__(self):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(BASH, ["bash", "--norc", "--noprofile", "-i"],
                      {"PATH": "/usr/bin:/bin", "HOME": "/", "TERM": "dumb", "HISTFILE": ""})
        os.set_blocking(self.fd, False)
        self.eof = self.reaped = False

    def pump(self, data=b"", timeout=0.0):
        """Drain bash's output and write what of data the terminal takes; returns that count."""
        r, w, _ = select.select([self.fd], [self.fd] if data else [], [], timeout)
        if r:
            try:
                self.eof = not os.read(self.fd, 65536)
            except BlockingIOError:
                pass
            except OSError:  # EIO: bash has closed the terminal
                self.eof = True
        if w and not self.eof:
            try:
                return os.write(self.fd, data)
            except BlockingIOError:
                pass
        return 0

    def feed(self, data, deadline=None):
        """Write all of data (or until the deadline); returns the bytes written."""
        done = 0
        while done < len(data) and not self.eof:
            if deadline and time.monotonic() >= deadline:
                break
            done += self.pump(data[done:], 0.05)
        return done

    def close(self):
        """Wait (bounded by run.py's alarm) for bash to end; returns its wait status."""
        while not self.eof:
            self.pump(timeout=0.1)
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        return status

    def kill(self):
        """End it if it is still there (a failed test)."""
        if not self.reaped:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def bash_storm(json_out, seconds=SECONDS):
    """Feed lines ": N" to an interactive bash as fast as it reads them for seconds, then "exit";
    returns (lines fed, delivered, lost, RSS samples in kB)."""
    sh = Pty()
    try:
        # bash may be in readline already when the tracer attaches: a uretprobe attached then
        # does not see that call return. The probes make sure that the tracer sees lines.
        with tempfile.TemporaryFile() as out:
            args = ["bashreadline", "--ringbuf-size", RINGBUF, "-p", str(sh.pid)]
            t = lib.Tracer(args + (["--json"] if json_out else []), allow_lost=True, stdout=out)

            def is_probe(line):
                return line.rstrip().endswith(PROBE_LINE.encode() + (b'"}' if json_out else b""))
            wait_until_seen(out, lambda: sh.feed(PROBE_LINE.encode() + b"\n"), is_probe)
            fed, rss, n, pending = 0, [], 0, b""
            start = time.monotonic()
            for second in range(1, seconds + 1):
                rss.append(rss_kb(t.proc.pid))
                end = start + second
                while time.monotonic() < end:
                    if not pending:
                        pending = b"".join(b": %d\n" % i for i in range(n, n + 100))
                        n += 100
                    k = sh.feed(pending, end)
                    fed += pending[:k].count(b"\n")
                    pending = pending[k:]
            tail = pending[:pending.index(b"\n") + 1] if pending else b""
            assert sh.feed(tail + b"exit\n") == len(tail) + 5
            fed += bool(tail) + 1
            rss.append(rss_kb(t.proc.pid))
            status = sh.close()
            assert os.WIFEXITED(status), status
            rc, _, err = t.stop()
            assert rc == 0, (args, rc, err)
            out.seek(0)
            data = out.read()
        delivered, lost = count_output("bashreadline", data, err, json_out, is_probe)
        if json_out:
            got = [e["line"] for e in lib.json_lines(data, "bashreadline", allow_lost=True)
                   if e["line"] != PROBE_LINE]
            if got[-1:] == ["exit"]:
                got.pop()
            nums = [int(ln[2:]) for ln in got if ln.startswith(": ")]
            assert len(nums) == len(got) and nums == sorted(set(nums)), "lines out of order"
        return fed, delivered, lost, rss
    finally:
        sh.kill()


def storms_of(*subs):
    return [s for s in STORMS if s.sub in subs]


def test_storms_of_syscalls_forks_and_execs_are_counted_exactly():
    for storm in storms_of("open", "kill", "exit", "exec"):
        for json_out in (False, True):
            check_storm(storm, json_out)


def test_connect_storms_tcpconnlat_and_tcpstates():
    for storm in storms_of("tcpconnlat", "tcpstates"):
        for json_out in (False, True):
            check_storm(storm, json_out)


def test_bashreadline_storm_of_lines():
    for json_out in (False, True):
        check_counts(("bashreadline", "json" if json_out else "table"), *bash_storm(json_out))


def test_open_storm_soak_30s():
    """The soak: 30 s, table output; RSS flat over all of it."""
    check_storm(STORMS[0], False, seconds=30)
