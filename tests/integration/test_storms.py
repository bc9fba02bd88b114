"""Event storms: 4 threads make events as fast as they can (tests/helpers/storm.c) while a
streaming subcommand traces them into a file through a small ring buffer. No crash; the
tracer's RSS, sampled every second, stays flat; what it delivered plus what it reported lost is
exactly what the storm made; with --json, the lost record is a valid JSON object like the rest.

Three seconds a storm (one soak test of 30 s for open). Left out: tcpconnlat and tcpstates (a
connect storm runs out of loopback ports in TIME_WAIT within seconds, and the count would be of
failed connects the tracers do not see), bashreadline (needs an interactive bash).
"""
import os
import re
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


class Storm:
    """One subcommand's storm: the storm helper's action, and the tracer options that keep
    exactly its events (pid for those the storm process makes itself, comm for its children)."""

    def __init__(self, sub, action, by_comm=False, only=()):
        self.sub, self.action, self.by_comm, self.only = sub, action, by_comm, list(only)


STORMS = [
    Storm("open", lambda d, comm: ["open", os.path.join(d, "missing")]),
    Storm("kill", lambda d, comm: ["kill", str(missing_pid())], only=["-k"]),
    Storm("exit", lambda d, comm: ["exit"], by_comm=True),
    Storm("exec", lambda d, comm: ["exec", os.path.join(d, comm)], by_comm=True),
]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def run_storm(storm, json_out, seconds=SECONDS):
    """Trace one storm; returns (made, delivered, lost, RSS samples in kB)."""
    comm = "ebs" + uuid.uuid4().hex[:10]
    work = tempfile.mkdtemp(prefix="ebt-storm-")
    try:
        shutil.copy("/bin/true", os.path.join(work, comm))
        gen = subprocess.Popen([lib.helper("storm"), "-n", comm, str(seconds), str(THREADS),
                                *storm.action(work, comm)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        ready = gen.stdout.readline().split()
        assert ready[:1] == [b"ready"], ready
        scope = ["-n", comm] if storm.by_comm else ["-p", ready[1].decode()]
        with tempfile.TemporaryFile() as out:
            args = [storm.sub, "--ringbuf-size", RINGBUF, *storm.only, *scope]
            t = lib.Tracer(args + (["--json"] if json_out else []), allow_lost=True, stdout=out)
            gen.stdin.write(b"go\n")
            gen.stdin.flush()
            rss = []
            for _ in range(seconds + 1):  # the storm, and a second after it
                rss.append(rss_kb(t.proc.pid))
                time.sleep(1)
            line = gen.stdout.readline()  # run.py's alarm bounds this wait
            assert line.startswith(b"done"), line
            made = int(line.split()[1])
            assert t.proc.poll() is None, f"{args}: ended during the storm: {t.stderr!r}"
            rc, _, err = t.stop()
            gen.stdin.close()
            assert gen.wait(timeout=30) == 0
            assert rc == 0, (args, rc, err)
            out.seek(0)
            data = out.read()
        if json_out:
            evs = lib.json_lines(data, storm.sub, allow_lost=True)
            return made, len(evs), evs.lost, rss
        lines = data.decode().splitlines()
        m = TABLE_LOST.search(err)
        return made, len(lines) - 1, int(m.group(1)) if m else 0, rss
    finally:
        shutil.rmtree(work)


def check_storm(storm, json_out, seconds=SECONDS):
    made, delivered, lost, rss = run_storm(storm, json_out, seconds)
    what = (storm.sub, "json" if json_out else "table", made, delivered, lost, rss)
    assert made > 0 and delivered > 0, what
    assert delivered + lost == made, what
    assert max(rss) - rss[0] <= RSS_SLACK_KB, what
    return what


def test_storm_of_every_streaming_subcommand_is_counted_exactly():
    for storm in STORMS:
        for json_out in (False, True):
            check_storm(storm, json_out)


def test_open_storm_soak_30s():
    """The soak: 30 s, table output; RSS flat over all of it."""
    check_storm(STORMS[0], False, seconds=30)

