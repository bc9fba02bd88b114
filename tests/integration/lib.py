"""Helpers for the integration tests: run the real binary on the real kernel, read its output.

Every test runs as root against build/ebpftrace (or the binary given with --binary). A tracer is
started, its "Tracing ..." line on stderr says it is attached, the test makes events happen, and
then the tracer is stopped (by --count, --duration or SIGINT) and its output parsed.

The harness (run.py) relies on what this module keeps per test: every process the test starts
(tracked, and killed after the test), the tracers among them (their stderr goes into the report
of a test that hangs), and the BPF objects there were before the test (what it leaves loaded is
judged against them, by id).
"""
import contextlib
import ctypes
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "build", "ebpftrace")
HELPERS = os.path.join(ROOT, "build", "helpers")
READY_TIMEOUT = 30.0
# Set in the environment of every process a test starts, to a value of that test's own: a BPF
# object held by a process with it is this test's, whoever its parent is now.
TOKEN_VAR = "EBPFTRACE_TEST_TOKEN"
# What ebpftrace says on stderr when it lost something (common/events.c, runqlat, tcpconnlat).
LOST_MESSAGE = re.compile(rb"lost \d+ events|\d+ \w+ were not counted")


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed and counted as skipped.
    Under CI=true it is a failure: a missing prerequisite must not turn a run green."""


class Unsupported(Skip):
    """A skip for what this kernel lacks (a syscall, an attach method): a skip under CI too. The
    test VM (tests/vm) runs the same tests on a kernel that has them."""


class TestTimeout(BaseException):
    """Raised by run.py's per-test alarm; a BaseException, so that no `except Exception` in a
    test swallows it."""


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
    p = subprocess.run([BINARY] + args, capture_output=True, timeout=timeout, **kw)
    note_json_keys(args, p.stdout)
    return p


# --- Processes a test starts -----------------------------------------------------------------

_started = []  # every Popen of the current test, in order
_tracers = []  # the Tracers among them


class _TrackedPopen(subprocess.Popen):
    """subprocess.Popen that remembers every process, so that none outlives its test."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        _started.append(self)


def track_processes():
    """From now on every subprocess.Popen (and so subprocess.run) is tracked (run.py)."""
    subprocess.Popen = _TrackedPopen


def _kill(proc):
    if proc.poll() is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def reap():
    """Kill what the current test left running; returns the tracers among them (by args)."""
    left = [t.args for t in _tracers if t.proc.poll() is None]
    for proc in reversed(_started):
        _kill(proc)
    _started.clear()
    _tracers.clear()
    return left


def tracer_stderr(limit=2000):
    """The stderr of every tracer the current test started, for the report of a hang."""
    parts = [f"{t.args}: {t.stderr[-limit:]!r}" for t in _tracers]
    return "; ".join(parts) or "no tracer started"


class _Reader:
    """One pipe, read by a thread as the process writes it: the pipe never fills, whatever the
    test does meanwhile."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.data = b""
        self.eof = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.pipe.fileno(), 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if chunk:
                    self.data += chunk
                else:
                    self.eof = True
                self.cond.notify_all()
            if not chunk:
                return

    def wait_until(self, pred, timeout):
        """Wait until pred(data, eof) holds, timeout seconds at most; returns whether it does."""
        with self.cond:
            return self.cond.wait_for(lambda: pred(self.data, self.eof), timeout)

    def finish(self, timeout=5):
        """Everything up to EOF (or what came within timeout, if a descendant keeps the pipe)."""
        self.wait_until(lambda _, eof: eof, timeout)
        with self.cond:
            return self.data


class Tracer:
    """ebpftrace running in the background, ready (attached) once started. Its stdout (unless
    given) and stderr are read while it runs. With allow_lost=False (the default) it must not
    report lost events: a test that does not test loss must see every event. prefix: a command
    that runs it (["ip", "netns", "exec", NS], ["unshare", "-n"])."""

    def __init__(self, args, env=None, allow_lost=False, stdout=subprocess.PIPE, prefix=()):
        self.args = args
        self.allow_lost = allow_lost
        if env is None:
            env = dict(os.environ)
        self.proc = subprocess.Popen([*prefix, BINARY] + args, stdout=stdout,
                                     stderr=subprocess.PIPE, env=env)
        _tracers.append(self)
        self._out = _Reader(self.proc.stdout) if stdout == subprocess.PIPE else None
        self._err = _Reader(self.proc.stderr)
        self._wait_ready()

    @property
    def stderr(self):
        with self._err.cond:
            return self._err.data

    def output(self):
        """What it has written to stdout so far."""
        with self._out.cond:
            return self._out.data

    def _wait_ready(self):
        if not self._err.wait_until(lambda d, eof: b"Tracing" in d or eof, READY_TIMEOUT):
            self.kill()
            raise AssertionError(f"ebpftrace {self.args} not ready: {self.stderr!r}")
        if b"Tracing" not in self.stderr:
            rc = self.proc.wait(timeout=10)
            raise AssertionError(
                f"ebpftrace {self.args} exited {rc} before ready: {self.stderr!r}")

    def kill(self):
        _kill(self.proc)

    def wait(self, timeout=30):
        """Wait for it to end by itself (--count, --duration); returns (rc, stdout, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"ebpftrace {self.args} did not stop within {timeout}s; "
                                 f"stderr {self.stderr!r}")
        out = self._out.finish() if self._out else b""
        err = self._err.finish()
        note_json_keys(self.args, out)
        if not self.allow_lost:
            assert not LOST_MESSAGE.search(err), f"ebpftrace {self.args} lost events: {err!r}"
        return self.proc.returncode, out, err

    def stop(self, sig=signal.SIGINT, timeout=30):
        """Stop it with a signal after letting the last events arrive."""
        time.sleep(0.3)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)


# --- Output ------------------------------------------------------------------------------------

class Events(list):
    """Records of one type, and how many events the tracer reported lost (its lost records)."""
    lost = 0


def json_lines(out, type_=None, allow_lost=False):
    """Parse NDJSON output; every line must be a JSON object with a type. With a type, only the
    records of that type, and a lost record is a failure unless allow_lost (the returned list's
    .lost is their count)."""
    objs = Events()
    for line in out.decode("utf-8").splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and "type" in obj, line
        if obj["type"] == "lost" and type_ not in (None, "lost"):
            objs.lost += obj["count"]
        elif type_ is None or obj["type"] == type_:
            objs.append(obj)
    assert allow_lost or not objs.lost, f"{objs.lost} events lost: {out[-500:]!r}"
    return objs


def exact_bytes(s):
    """The bytes a JSON string of ours stands for: each \\udcXX a test parsed back (a byte that
    was not UTF-8, see OUTPUT in ebpftrace(8)) becomes byte XX again."""
    return s.encode("utf-8", "surrogateescape")


def jq(line, program):
    """What jq (the real one) makes of one line of our output: jq -c PROGRAM, as text."""
    assert shutil.which("jq"), "jq is missing (make deps)"
    p = subprocess.run(["jq", "-c", program], input=line, capture_output=True, timeout=10)
    assert p.returncode == 0, f"jq rejected {line!r}: {p.stderr!r}"
    return p.stdout.decode("utf-8").strip()


def trace_events(sub, args, action, allow_lost=False):
    """The events of `ebpftrace SUB --json ARGS` while action() runs, after a clean exit;
    returns (what action() returned, the events). A lost record fails unless allow_lost; the
    events' .lost is the count reported."""
    t = Tracer([sub, "--json"] + args, allow_lost=allow_lost)
    res = action()
    rc, out, err = t.stop()
    assert rc == 0, f"ebpftrace {sub} {args}: exit {rc}: {err!r}"
    return res, json_lines(out, sub, allow_lost=allow_lost)


# --- What a test leaves loaded -----------------------------------------------------------------

def _build_dir():
    return os.path.dirname(BINARY) if not BINARY.endswith("/asan/ebpftrace") else \
        os.path.dirname(os.path.dirname(BINARY))


def _skeleton_names(pattern):
    names = set()
    for skel in glob.glob(os.path.join(_build_dir(), "*.skel.h")):
        with open(skel) as f:
            names.update(m.group(1) for m in re.finditer(pattern, f.read()))
    return names


def our_program_names():
    """Names of every BPF program in our skeletons, cut to the kernel's 15 characters."""
    names = {"ebpftrace_probe"}
    names.update(n[:15] for n in _skeleton_names(r'progs\[\d+\]\.name = "([^"]+)"'))
    return names


def our_map_names():
    """Names of every map in our skeletons as the kernel has them: 15 characters, and libbpf's
    internal maps (OBJECT.rodata) with the object's name cut to make room for the section."""
    names = set()
    for n in _skeleton_names(r'map->name = "([^"]+)"'):
        obj, dot, section = n.partition(".")
        names.add(obj[:15 - len(dot + section)] + dot + section if obj and dot else n[:15])
    return names


def _bpftool(kind):
    """`bpftool -j KIND show`. It fails now and then when an object goes away while it lists
    them (other runs on the host load and unload all the time): try again, a few times."""
    for _ in range(10):
        out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, timeout=30)
        if out.returncode == 0:
            return json.loads(out.stdout or b"[]")
        time.sleep(0.1)
    raise AssertionError(f"bpftool {kind} show: exit {out.returncode}: {out.stderr!r}")


def bpf_objects():
    """{(kind, id): name} of every program, map and link loaded; a link is named by its
    program."""
    progs = {p["id"]: p.get("name", "") for p in _bpftool("prog")}
    objs = {("prog", i): n for i, n in progs.items()}
    objs.update({("map", m["id"]): m.get("name", "") for m in _bpftool("map")})
    objs.update({("link", k["id"]): progs.get(k.get("prog_id"), "") for k in _bpftool("link")})
    return objs


def _ours(kind, name):
    names = our_map_names() if kind == "map" else our_program_names()
    return name[:15] in names


_baseline = None  # bpf_objects() before the current test, set by run.py


def begin_test(token):
    """Before a test: its token in the environment its processes inherit; what is loaded."""
    global _baseline
    os.environ[TOKEN_VAR] = token
    _baseline = set(bpf_objects())


def _bpf_fds(pid):
    """{(kind, id)} of the BPF objects a process has file descriptors of."""
    held = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return held
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        kind = {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map",
                "anon_inode:bpf_link": "link", "anon_inode:bpf-link": "link"}.get(target)
        if not kind:
            continue
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                m = re.search(rf"^{kind}_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            held.add((kind, int(m.group(1))))
    return held


def _has_token(pid, token):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"{TOKEN_VAR}={token}".encode() in f.read().split(b"\0")
    except OSError:
        return False


BPF_MAP_TYPE_RINGBUF = 27


def _fdinfos(pid):
    """The fdinfo text of each file descriptor pid holds (those closed meanwhile left out)."""
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                yield f.read()
        except OSError:
            continue


def ringbuf_sizes(pid):
    """The size in bytes of each BPF ring buffer the process holds, sorted, from its fdinfo."""
    return sorted(int(re.search(r"^max_entries:\s*(\d+)", info, re.M).group(1))
                  for info in _fdinfos(pid)
                  if re.search(rf"^map_type:\s*{BPF_MAP_TYPE_RINGBUF}$", info, re.M))


def bpf_links(pid):
    """(link_type, tp_name or None) of each BPF link the process holds, from its fdinfo."""
    links = []
    for info in _fdinfos(pid):
        m = re.search(r"^link_type:\s*(\S+)", info, re.M)
        if m:
            tp = re.search(r"^tp_name:\s*(\S+)", info, re.M)
            links.append((m.group(1), tp and tp.group(1)))
    return sorted(links, key=str)


@contextlib.contextmanager
def bpf_stats():
    """BPF_ENABLE_STATS: the kernel counts every program's runs and their time while inside (no
    sysctl to undo)."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(128)  # union bpf_attr; enable_stats.type 0: run time
    fd = libc.syscall(321, 32, attr, 128)  # __NR_bpf on x86_64, BPF_ENABLE_STATS
    assert fd >= 0, os.strerror(ctypes.get_errno())
    try:
        yield
    finally:
        os.close(fd)


def program_runs(pid):
    """{name: runs} of the BPF programs pid holds, as the kernel counts them (run_cnt in their
    fdinfo, read first; counted only inside bpf_stats()), named through bpftool."""
    runs = {}
    for info in _fdinfos(pid):
        prog = re.search(r"^prog_id:\s*(\d+)", info, re.M)
        cnt = re.search(r"^run_cnt:\s*(\d+)", info, re.M)
        if prog and cnt:
            runs[int(prog.group(1))] = int(cnt.group(1))
    names = {p["id"]: p.get("name", "") for p in _bpftool("prog")}
    return {names.get(i, str(i)): n for i, n in runs.items()}


def perf_event_fds(pid):
    """How many perf event file descriptors (a tracepoint, kprobe or uprobe each) pid holds."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[perf_event]"
        except OSError:
            pass
    return n


def _held_by(pids):
    """The BPF objects these processes hold: by their file descriptors, the programs of their
    links and the maps of their programs."""
    held = set()
    for pid in pids:
        held |= _bpf_fds(pid)
    progs = {p["id"]: p for p in _bpftool("prog")}
    links = {k["id"]: k for k in _bpftool("link")}
    for kind, i in list(held):
        if kind == "link" and i in links:
            held.add(("prog", links[i].get("prog_id")))
    for kind, i in list(held):
        if kind == "prog" and i in progs:
            held.update(("map", m) for m in progs[i].get("map_ids", []))
    return held


def leftovers():
    """Our programs, maps and links loaded since the test began and not held by anyone else
    (other runs of the suite on this host): what this test left behind, as two lists: those a
    process of this test (one with its token) holds, and those no process holds (being freed,
    or held by the kernel alone). Without a baseline (outside run.py): every one of ours."""
    now = bpf_objects()
    new = {k: n for k, n in now.items()
           if (_baseline is None or k not in _baseline) and _ours(k[0], n)}
    if not new:
        return [], []
    token = os.environ.get(TOKEN_VAR, "")
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    mine = [p for p in pids if _has_token(p, token)]
    foreign = _held_by(set(pids) - set(mine))
    held = _held_by(mine)

    def names(keys):
        return sorted(f"{kind} {i} {new[(kind, i)]}" for kind, i in keys)
    return names(k for k in new if k in held), names(k for k in new if k not in held | foreign)


def loaded_programs_of_ours():
    """Names of our programs (of those leftovers() counts) loaded now."""
    return sorted(x.split(" ", 2)[2] for x in sum(leftovers(), []) if x.startswith("prog "))


def assert_nothing_loaded(grace=3.0, orphan_grace=20.0):
    """Nothing this test loaded is still loaded. The kernel frees a closed program after an RCU
    grace period, so one may linger for a moment after our process exits: allow that (grace),
    and longer (orphan_grace) for objects no process holds: a map of a trampoline program waits
    for an RCU tasks-trace grace period, seconds on a loaded host."""
    start = time.monotonic()
    while True:
        held, orphans = leftovers()
        waited = time.monotonic() - start
        if not held and not orphans or waited > orphan_grace or held and waited > grace:
            break
        time.sleep(0.1)
    assert not held and not orphans, (f"BPF objects of ours still loaded after {waited:.1f} s: "
                                      f"held by a process of this test: {held}; "
                                      f"held by no process: {orphans}")


# --- Common assertions -------------------------------------------------------------------------

def assert_usage_error(args, pattern):
    """Bad input: exit 2, exactly one line on stderr matching pattern, nothing on stdout."""
    p = run(args)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 2, f"{args}: exit {p.returncode}, stderr {err!r}"
    assert err.count("\n") == 1 and err.endswith("\n"), f"{args}: not one line: {err!r}"
    assert re.search(pattern, err), f"{args}: {err!r} does not match {pattern!r}"
    assert p.stdout == b"", f"{args}: stdout {p.stdout!r}"
    assert_nothing_loaded()


def assert_head_closes_pipe(args, make_event, first=r"\s*PID\b", timeout=20):
    """`ebpftrace ARGS | head -1`: once head has its line and exits, the next write fails and
    ebpftrace ends by itself, with status 0 and nothing on stderr after its "Tracing" line.
    The line head prints matches the regular expression first. Every wait is bounded by
    timeout."""
    r, w = os.pipe()
    head = subprocess.Popen(["head", "-1"], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    try:
        tracer = Tracer(args, stdout=w)
    finally:
        os.close(w)
    deadline = time.monotonic() + timeout
    while tracer.proc.poll() is None and time.monotonic() < deadline:
        make_event()
        time.sleep(0.1)
    if tracer.proc.poll() is None:
        tracer.kill()
        raise AssertionError(f"ebpftrace {args} did not exit after head closed the pipe; "
                             f"stderr {tracer.stderr!r}")
    rc, _, err = tracer.wait(timeout)
    assert rc == 0, f"ebpftrace {args}: exit {rc}: {err!r}"
    assert err.split(b"\n", 1)[1] == b"", f"ebpftrace {args}: stderr {err!r}"
    line, _ = head.communicate(timeout=timeout)
    assert re.match(first, line.decode()), line


def kernel_version():
    """The running kernel's (major, minor)."""
    return tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- Attach methods ----------------------------------------------------------------------------

_features = {}
_skips = {}  # name -> reason: skips a test reports besides its own outcome, for run.py


def note_skip(name, reason):
    """A skip within a test (one of its cases cannot run here): printed and counted once."""
    _skips.setdefault(name, reason)


def take_skips():
    """The skips noted since the last call, for run.py to print and count."""
    got = [(n, r) for n, r in _skips.items() if r is not None]
    for n in _skips:
        _skips[n] = None  # printed once per run
    return got


def features():
    """{feature: usable} as `ebpftrace check --json` reports them."""
    if not _features:
        p = run(["check", "--json"], timeout=120)  # check gives each subcommand 60 s
        assert p.returncode in (0, 3), p.stderr  # 3: a subcommand cannot run here
        _features.update({o["name"]: o["ok"] for o in json_lines(p.stdout, "feature")})
    return _features


def usable_methods(methods, everywhere, sub=None):
    """Those of methods that `ebpftrace check` reports usable on this kernel, in order; the one
    every kernel we support has must be among them. Each one left out is a skip of its own
    (SUB/method:NAME), printed and counted by run.py."""
    if sub is None:
        import inspect
        sub = os.path.basename(inspect.stack()[1].filename)[5:-3]
    feats = features()
    usable = [m for m in methods if feats.get(m)]
    for m in methods:
        if m not in usable:
            note_skip(f"{sub}/method:{m}", f"this kernel cannot attach with {m} "
                      "(ebpftrace check); the test VM covers it")
    assert everywhere in usable, f"{everywhere} must be usable everywhere: {feats}"
    return usable


def assert_methods_forced_and_reported(sub, methods, args=()):
    """Each of methods (usable here, best first) is taken when forced, -v says so, and the best
    is taken unforced; args are what makes sub choose a method at all."""
    for method in methods:
        p = run([sub, *args, "-v", "--method", method, "--duration", "0.2"])
        err = p.stderr.decode()
        assert p.returncode == 0 and f"method: attaching with {method}\n" in err, (sub, err)
    p = run([sub, *args, "-v", "--duration", "0.2"])
    assert f"method: attaching with {methods[0]}\n" in p.stderr.decode(), (sub, p.stderr)


# --- Documented JSON keys ----------------------------------------------------------------------

json_keys_seen = {}  # subcommand -> {key: an object that had it}


def _keys(obj):
    for k, v in obj.items():
        yield k
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, dict):
                yield from _keys(item)


def note_json_keys(args, out):
    """Remember the keys of the JSON objects `ebpftrace SUB --json ...` wrote (nested ones too)."""
    if not args or args[0].startswith("-") or "--json" not in args:
        return
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            seen = json_keys_seen.setdefault(args[0], {})
            for k in _keys(obj):
                seen.setdefault(k, line[:200])


def assert_json_keys_documented():
    """Every JSON key a subcommand wrote in this run is in its man page or in ebpftrace(8)."""
    def page(name):
        path = os.path.join(ROOT, "man", f"{name}.8")
        if not os.path.exists(path):  # a built-in command (check): ebpftrace(8) has it
            return ""
        with open(path) as f:
            return f.read().replace("\\-", "-").replace("\\(dq", '"')
    main_page = page("ebpftrace")
    missing = []
    for sub, keys in sorted(json_keys_seen.items()):
        text = page(f"ebpftrace-{sub}") + main_page
        missing += [f"{sub}: {k} (in {line})" for k, line in sorted(keys.items())
                    if not re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)]
    assert json_keys_seen, "no JSON output was seen"
    assert not missing, "JSON keys not in the man pages: " + "; ".join(missing)
