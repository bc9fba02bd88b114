"""Two instances of every subcommand that runs here, at the same time: both attach, both see the
same workload's events, both stop with status 0, and nothing of either stays loaded.

The workload (while both trace): execs and exits of a program with a name of its own, opens of a
path of its own, a failed kill() of a pid that does not exist, TCP connects carrying data to a
loopback server, direct reads of a loop device (test_biopattern), pings in a network namespace
of ours (tc runs on its loopback), opens of /dev/null (what lsm-block audits, with check's
arguments). Left out: bashreadline (an interactive bash; test_bashreadline.py).
"""
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import lib
from test_biopattern import BLOCKS, loop_device, read_blocks
from test_check import RUN_ARGS
from test_kill import missing_pid
from test_signals import runnable
from test_tcpconnlat import Server


class Workload:
    """The markers every streaming subcommand's events must carry, and the thread making them."""

    def __init__(self, netns, dev):
        self.comm = "ebc" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="ebt-conc-")
        os.chmod(self.dir, 0o755)
        self.exe = os.path.join(self.dir, self.comm)
        shutil.copy("/bin/true", self.exe)
        self.path = os.path.join(self.dir, "missing-" + self.comm)
        self.target = missing_pid()
        self.netns, self.dev = netns, dev
        self.server = Server("127.0.0.1")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _once(self):
        subprocess.run([self.exe])
        for path in (self.path, "/dev/null"):
            try:
                open(path).close()
            except OSError:
                pass
        try:
            os.kill(self.target, 0)
        except ProcessLookupError:
            pass
        with socket.create_connection(("127.0.0.1", self.server.port)) as c:
            c.sendall(b"x" * 10000)
        read_blocks(self.dev, random.sample(range(BLOCKS), 8))
        subprocess.run(["ip", "netns", "exec", self.netns, "ping", "-c", "1", "-W", "1",
                        "127.0.0.1"], capture_output=True)

    def _run(self):
        while not self.stop.is_set():
            self._once()
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        self.server.close()
        shutil.rmtree(self.dir)


@contextlib.contextmanager
def netns():
    name = "ebt-conc-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


def counted(objs):
    """Whether an interval subcommand's records counted something."""
    return any(o.get("count", 0) > 0 or o.get("allocs", 0) > 0 or o.get("reads", 0) > 0 or
               o.get("writes", 0) > 0 for o in objs)


def saw_workload(sub, out, w):
    """Whether sub's JSON output shows the workload's events."""
    objs = [json.loads(line) for line in out.decode().splitlines()]
    text = out.decode()
    marks = {"exec": w.comm, "exit": w.comm, "open": w.path, "kill": f'"target_pid":{w.target}',
             "tcpconnlat": f'"dport":{w.server.port}', "tcpstates": f'"dport":{w.server.port}',
             "lsm-block": "/dev/null", "tc": "127.0.0.1"}
    if sub in marks:
        return marks[sub] in text.replace(" ", "")
    return counted(objs)


# Arguments besides check's: an interval where a subcommand reports only at intervals or exit.
EXTRA = {"memleak": ["0.5"], "biopattern": ["0.5"]}


def start_pairs(subs, ns):
    """Two tracers of each subcommand, all started at once (one start-up costs seconds here);
    returns {sub: [(tracer, its output file), ...]}."""
    pairs = {sub: [] for sub in subs}
    errors = []

    def start(sub):
        prefix = ["ip", "netns", "exec", ns] if sub == "tc" else []
        args = [sub, "--json", *RUN_ARGS.get(sub, []), *EXTRA.get(sub, [])]
        out = tempfile.TemporaryFile()
        try:
            pairs[sub].append((lib.Tracer(args, prefix=prefix, allow_lost=True, stdout=out), out))
        except AssertionError as e:
            errors.append(e)
    threads = [threading.Thread(target=start, args=(sub,)) for sub in subs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return pairs


def test_two_instances_of_every_subcommand_both_work():
    """All at once: the pairs of every subcommand trace the same workload side by side."""
    subs = [s for s in runnable() if s != "bashreadline"]
    lib.note_skip("concurrency/bashreadline", "needs an interactive bash: test_bashreadline.py")
    with netns() as ns, loop_device() as dev:
        # Output to files: unfiltered tracers on a busy host write megabytes, and a pipe read by
        # a Python thread would make the stop wait for the reader.
        pairs = start_pairs(subs, ns)
        with Workload(ns, dev) as w:
            time.sleep(2)
            ended = {sub: [(t.stop(signal.SIGINT), out) for t, out in pair]
                     for sub, pair in pairs.items()}
    for sub, results in ended.items():
        for (rc, _, err), out in results:
            out.seek(0)
            data = out.read()
            out.close()
            assert rc == 0, (sub, rc, err)
            assert saw_workload(sub, data, w), (sub, data[-600:], err)
