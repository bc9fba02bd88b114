"""Signals at every point of a run, for every subcommand that runs here: SIGINT, SIGTERM and SIGHUP
end it with status 0, whether they come while it loads and attaches (0 to 100 ms after exec) or
while it traces; SIGKILL ends it too; a closed stdout ends it with status 0 at its next write.
After each, nothing of ours stays loaded (and run.py checks again after the test).

Every subcommand of a round runs at the same time (one start-up each costs a second or more
here). tc runs, as check runs it, on the loopback of a network namespace of its own, made in the
child before exec so that the signal reaches ebpftrace itself; where it attaches with clsact (no
TCX), what a SIGKILL leaves goes with that namespace: test_tc.py tests SIGKILL on clsact, and
`tc DEV --cleanup`, on a device that stays.
"""
import ctypes
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import lib
from test_check import RUN_ARGS
from test_kill import missing_pid
from test_tcpconnlat import Server

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
# When the signal comes: right after exec; once main() catches the stop signals (attaching
# starts there), and then 5 to 100 ms later; after the ready ("Tracing") line. On a busy host
# the dynamic loader alone may take 100 ms, so attach-time points count from the handler.
POINTS = [("exec", 0), ("caught", 0), ("caught", 0.005), ("caught", 0.02), ("caught", 0.05),
          ("caught", 0.1), ("ready", 0)]
CLONE_NEWNET = 0x40000000
# Those that write nothing the background workload makes happen: covered elsewhere.
PIPE_ELSEWHERE = {"bashreadline": "test_bashreadline.py (an interactive bash is needed)",
                  "tc": "test_tc.py (packets on a device of its own are needed)"}


def pipe_args(sub):
    """What a closed-pipe run needs to write at all: an interval, for those whose usage line
    (--help) ends in [interval [count]], which print per interval."""
    usage = lib.run([sub, "--help"]).stdout.decode().splitlines()[0]
    return ["0.2"] if re.search(r"\[interval \[count\]\]$", usage, re.I) else []


def runnable(test="signals"):
    """The subcommands `check` says run here; each one the kernel cannot run (exit 3) is a skip
    of its own (test/subcommand), and any other failure of check's a failure of the test."""
    p = lib.run(["check", "--json"], timeout=120)
    subs = []
    for o in lib.json_lines(p.stdout, "subcommand"):
        if o["runs"]:
            subs.append(o["name"])
        else:
            assert o["exit_code"] == 3, o
            lib.note_skip(f"{test}/{o['name']}", f"does not run here: {o['reason']}; "
                          "the test VM covers it")
    assert "exec" in subs, subs
    return subs


def own_netns():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")


class Run:
    """One subcommand started (not waited for), its stderr in a file."""

    def __init__(self, sub, extra=(), stdout=subprocess.DEVNULL):
        self.sub = sub
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([lib.BINARY, sub, *RUN_ARGS.get(sub, []), *extra],
                                     stdout=stdout, stderr=self.err,
                                     preexec_fn=own_netns if sub == "tc" else None)
        self.started = time.monotonic()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def ready(self):
        return b"Tracing" in self.stderr()

    def catches(self, sig):
        """Whether it has a handler for sig now (SigCgt in /proc/PID/status)."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                mask = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", f.read(), re.M).group(1), 16)
        except (OSError, AttributeError):
            return False
        return bool(mask >> (sig - 1) & 1)

    def signal_at(self, sig, point):
        """Send sig at point (POINTS); note whether it was caught then, and whether it came
        while the run was still attaching."""
        when, delay = point
        deadline = time.monotonic() + 60
        while when != "exec" and self.proc.poll() is None and time.monotonic() < deadline:
            # The handlers come one sigaction after the other: wait for all three.
            if self.ready() if when == "ready" else all(map(self.catches, STOP_SIGNALS)):
                break
            time.sleep(0.001)
        time.sleep(delay)
        self.caught, self.attaching = self.catches(sig), not self.ready()
        self.proc.send_signal(sig)

    def wait(self):
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.sub} did not end within 60 s: {self.stderr()!r}")


def round_of(subs, signal_of, point):
    """Start every subcommand, each with a thread that sends it its signal at point; returns
    the runs, ended."""
    runs, senders = [], []
    for i, sub in enumerate(subs):
        runs.append(Run(sub))
        senders.append(threading.Thread(target=runs[-1].signal_at, args=(signal_of(i), point)))
        senders[-1].start()
    for t in senders:
        t.join()
    for r in runs:
        r.wait()
    return runs


def test_stop_signals_end_every_subcommand_cleanly_at_every_point():
    """Each point of start-up gets each subcommand once, the three signals taking turns, so
    that every subcommand meets every signal and every point every signal. Status 0, and
    nothing on stderr but the ready line (and a loss report). A signal in the first instants after exec, before
    main() catches the stop signals (the dynamic loader's work: tens of milliseconds on a busy
    host), ends it by that signal as it would any program, with nothing loaded yet (ebpftrace(8),
    SIGNALS): allowed only where the handler was not there yet when the signal was sent. Signals
    caught while attaching must have happened, or the test did not test that."""
    subs = runnable()
    during_attach = 0
    for d, point in enumerate(POINTS):
        runs = round_of(subs, lambda i: STOP_SIGNALS[(i + d) % len(STOP_SIGNALS)], point)
        for i, r in enumerate(runs):
            sig = STOP_SIGNALS[(i + d) % len(STOP_SIGNALS)]
            err = r.stderr()
            # Every stop signal was caught before it was sent (signal_at waited for all three).
            assert r.caught or point[0] == "exec", (r.sub, sig.name, point, "not caught")
            ok = (0,) if r.caught else (0, -sig)
            assert r.proc.returncode in ok, (r.sub, sig.name, point, r.caught,
                                             r.proc.returncode, err)
            # Besides the ready line, only a loss report (runqlat's full tables on a busy host).
            assert all(line.startswith(b"Tracing") or lib.LOST_MESSAGE.search(line)
                       for line in err.splitlines()), (r.sub, sig.name, point, err)
            during_attach += r.caught and r.attaching
        lib.assert_nothing_loaded()
    assert during_attach >= len(subs), f"only {during_attach} signals came while attaching"


def test_sigkill_while_attaching_and_while_tracing_leaves_nothing():
    subs = runnable()
    for point in (("caught", 0.02), ("caught", 0.1), ("ready", 0)):
        for r in round_of(subs, lambda i: signal.SIGKILL, point):
            assert r.proc.returncode == -signal.SIGKILL, (r.sub, point, r.proc.returncode,
                                                          r.stderr())
        lib.assert_nothing_loaded()


def workload(stop):
    """Until stop is set: execs, exits, opens, a failed kill(), TCP connects on loopback, disk
    writes."""
    with Server("127.0.0.1") as srv, tempfile.NamedTemporaryFile(dir="/var/tmp") as f:
        while not stop.is_set():
            subprocess.run(["true"])
            open("/dev/null").close()
            try:
                socket.create_connection(("127.0.0.1", srv.port)).close()
            except OSError:
                pass
            try:
                os.kill(missing_pid(), 0)
            except ProcessLookupError:
                pass
            f.write(b"x" * 4096)
            f.flush()
            os.fsync(f.fileno())
            time.sleep(0.05)


def test_closed_stdout_ends_every_subcommand_with_status_0():
    """stdout a pipe nobody reads from any more: the first write fails (EPIPE) and the run ends
    by itself, status 0, nothing on stderr after the ready line, nothing left loaded."""
    subs = runnable()
    for sub, where in PIPE_ELSEWHERE.items():
        if sub in subs:
            subs.remove(sub)
            lib.note_skip(f"signals/closed-pipe:{sub}", f"covered by {where}")
    stop = threading.Event()
    load = threading.Thread(target=workload, args=(stop,), daemon=True)
    load.start()
    runs = []
    try:
        for sub in subs:
            r, w = os.pipe()
            os.close(r)
            try:
                runs.append(Run(sub, pipe_args(sub), stdout=w))
            finally:
                os.close(w)
        for r in runs:
            r.wait()
    finally:
        stop.set()
        load.join(timeout=30)
    for r in runs:
        err = r.stderr()
        assert r.proc.returncode == 0, (r.sub, r.proc.returncode, err)
        assert err.count(b"\n") == 1 and err.startswith(b"Tracing"), (r.sub, err)
