"""Helpers for the integration tests: run the real binary on the real kernel, read its output.

Every test runs as root against build/ebpftrace (or the binary given with --binary). A tracer is
started, its "Tracing ..." line on stderr says it is attached, the test makes events happen, and
then the tracer is stopped (by --count, --duration or SIGINT) and its output parsed.
"""
import glob
import json
import os
import re
import select
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "build", "ebpftrace")
HELPERS = os.path.join(ROOT, "build", "helpers")
READY_TIMEOUT = 30.0


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed and counted as skipped."""


def set_binary(path):
    global BINARY, HELPERS
    BINARY = os.path.abspath(path)
    HELPERS = os.path.join(os.path.dirname(BINARY), "helpers")


def helper(name):
    """Path of a test fixture program built from tests/helpers/<name>.c."""
    path = os.path.join(HELPERS, name)
    assert os.path.exists(path), f"missing test helper {path} (make helpers)"
    return path


def run(args, timeout=30, **kw):
    """Run ebpftrace to completion; returns CompletedProcess with bytes stdout/stderr."""
    return subprocess.run([BINARY] + args, capture_output=True, timeout=timeout, **kw)


class Tracer:
    """ebpftrace running in the background, ready (attached) once started."""

    def __init__(self, args, env=None):
        self.args = args
        self.proc = subprocess.Popen([BINARY] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.stderr = b""
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while b"Tracing" not in self.stderr:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError(f"ebpftrace {self.args} not ready: {self.stderr!r}")
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    rc = self.proc.wait()
                    raise AssertionError(
                        f"ebpftrace {self.args} exited {rc} before ready: {self.stderr!r}")
                self.stderr += chunk

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def wait(self, timeout=30):
        """Wait for it to end by itself (--count, --duration); returns (rc, stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"ebpftrace {self.args} did not stop within {timeout}s")
        self.stderr += err
        return self.proc.returncode, out, self.stderr

    def stop(self, sig=signal.SIGINT, timeout=30):
        """Stop it with a signal after letting the last events arrive."""
        time.sleep(0.3)
        self.proc.send_signal(sig)
        return self.wait(timeout)


def json_lines(out, type_=None):
    """Parse NDJSON output; every line must be a JSON object with a type."""
    objs = []
    for line in out.decode("utf-8").splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and "type" in obj, line
        if type_ is None or obj["type"] == type_:
            objs.append(obj)
    return objs


def our_program_names():
    """Names of every BPF program in our skeletons, cut to the kernel's 15 characters."""
    names = {"ebpftrace_probe"}
    build = os.path.dirname(BINARY) if not BINARY.endswith("/asan/ebpftrace") else \
        os.path.dirname(os.path.dirname(BINARY))
    for skel in glob.glob(os.path.join(build, "*.skel.h")):
        with open(skel) as f:
            text = f.read()
        for m in re.finditer(r'progs\[\d+\]\.name = "([^"]+)"', text):
            names.add(m.group(1)[:15])
    return names


def loaded_programs_of_ours():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
    progs = json.loads(out.stdout or b"[]")
    ours = our_program_names()
    # The kernel keeps 15 characters of a name; bpftool shows the full one where BTF has it.
    return sorted(p.get("name", "") for p in progs if p.get("name", "")[:15] in ours)


def assert_nothing_loaded(grace=3.0):
    """No program of ours is loaded. The kernel frees a closed program after an RCU grace period,
    so one may linger for a moment after our process exits: allow that, not more."""
    deadline = time.monotonic() + grace
    while True:
        left = loaded_programs_of_ours()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"BPF programs of ours still loaded: {left}"


def assert_usage_error(args, pattern):
    """Bad input: exit 2, exactly one line on stderr matching pattern, nothing on stdout."""
    p = run(args)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, f"{args}: exit {p.returncode}, stderr {err!r}"
    assert err.count("\n") == 1 and err.endswith("\n"), f"{args}: not one line: {err!r}"
    assert re.search(pattern, err), f"{args}: {err!r} does not match {pattern!r}"
    assert p.stdout == b"", f"{args}: stdout {p.stdout!r}"
    assert_nothing_loaded()


def assert_head_closes_pipe(args, make_event):
    """`ebpftrace ARGS | head -1`: once head has its line and exits, the next write fails and
    ebpftrace ends by itself, with status 0 and nothing on stderr after its "Tracing" line."""
    r, w = os.pipe()
    tracer = subprocess.Popen([BINARY] + args, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    head = subprocess.Popen(["head", "-1"], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    err = b""
    while b"Tracing" not in err:
        chunk = os.read(tracer.stderr.fileno(), 4096)
        assert chunk, f"ebpftrace {args} exited before ready: {err!r}"
        err += chunk
    deadline = time.monotonic() + 20
    while tracer.poll() is None and time.monotonic() < deadline:
        make_event()
        time.sleep(0.1)
    if tracer.poll() is None:
        tracer.kill()
        raise AssertionError("ebpftrace did not exit after head closed the pipe")
    assert tracer.wait() == 0
    assert tracer.stderr.read() == b""
    assert head.stdout.read().decode().split()[0] == "PID"
    head.wait()


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


_features = {}


def usable_methods(methods, everywhere):
    """Those of methods that `ebpftrace check` reports usable on this kernel, in order; the one
    every kernel we support has must be among them."""
    if not _features:
        p = run(["check", "--json"])
        assert p.returncode in (0, 3), p.stderr  # 3: a subcommand cannot run here
        _features.update({o["name"]: o["ok"] for o in json_lines(p.stdout, "feature")})
    usable = [m for m in methods if _features.get(m)]
    assert everywhere in usable, f"{everywhere} must be usable everywhere: {_features}"
    return usable


def trace_events(sub, args, action):
    """The events of `ebpftrace SUB --json ARGS` while action() runs, after a clean exit;
    returns (what action() returned, the events)."""
    t = Tracer([sub, "--json"] + args)
    res = action()
    rc, out, err = t.stop()
    assert rc == 0, err
    return res, json_lines(out, sub)
