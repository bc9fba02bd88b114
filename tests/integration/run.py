#!/usr/bin/env python3
"""Integration test runner: every test_* function in tests/integration/test_*.py (or in the
directory given with --tests), as root, against the real binary on the running kernel.

Prints PASS/FAIL/SKIP per test and, last, "integration: N passed, N failed, N skipped"; exits 1
if any test failed. For each test:
- it has --test-timeout seconds; a test still running then is one FAIL, with its tracers' stderr;
- every process it started is killed when it ends, pass or fail; a tracer it left running fails it;
- a BPF program, map or link of ours loaded since it began and not held by anyone else (other
  runs on this host) fails it.
Under CI=true (as .ci/run runs) a test that would be skipped for a missing prerequisite (not root,
no cgroup v2, ...) fails, with the reason; what the kernel itself lacks stays a skip.
"""
import argparse
import importlib.util
import glob
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lib  # noqa: E402

DEFAULT_TIMEOUT = int(os.environ.get("EBPFTRACE_TEST_TIMEOUT", "300"))


def load_tests(directory, patterns, excludes=()):
    sys.path.insert(0, directory)
    for path in sorted(glob.glob(os.path.join(directory, "test_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(vars(mod), key=lambda a: getattr(getattr(mod, a), "__code__", None)
                           and getattr(mod, a).__code__.co_firstlineno or 0):
            fn = getattr(mod, attr)
            full = f"{name[5:]}/{attr[5:]}"
            wanted = (not patterns or any(p in full for p in patterns)) and \
                not any(x in full for x in excludes)
            if attr.startswith("test_") and callable(fn) and wanted:
                yield full, fn


def on_alarm(signum, frame):
    raise lib.TestTimeout()


def where(e):
    tb = traceback.extract_tb(e.__traceback__)
    return f" [{os.path.basename(tb[-1].filename)}:{tb[-1].lineno}]" if tb else ""


class Runner:
    def __init__(self, prefix, timeout, ci):
        self.prefix, self.timeout, self.ci = prefix, timeout, ci
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}

    def report(self, outcome, name, detail=""):
        word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[outcome]
        print(f"{word} {self.prefix}{name}{detail}", flush=True)
        self.counts[outcome] += 1

    def skip(self, name, reason):
        if self.ci:
            self.report("failed", name, f": {reason} (a missing prerequisite fails under CI)")
        else:
            self.report("skipped", name, f": {reason}")

    def body(self, fn):
        """The test, bounded by the alarm; then what it left running and loaded."""
        if os.geteuid() != 0:
            raise lib.Skip("needs root (run the test command as root)")
        signal.alarm(self.timeout)
        try:
            fn()
        finally:
            signal.alarm(0)
        left = lib.reap()
        assert not left, f"tracers left running: {left}"
        lib.assert_nothing_loaded()

    def run(self, name, fn):
        start = time.monotonic()
        try:
            if os.geteuid() == 0:
                lib.begin_test(f"{os.getpid()}:{name}")
            self.body(fn)
            self.report("passed", name, f" ({time.monotonic() - start:.1f}s)")
        except lib.Unsupported as e:
            self.report("skipped", name, f": {e}")
        except lib.Skip as e:
            self.skip(name, str(e))
        except lib.TestTimeout:
            self.report("failed", name, f": timed out after {self.timeout}s (--test-timeout); "
                        f"stderr of its tracers: {lib.tracer_stderr()}")
        except Exception as e:  # a failed assertion or an unexpected error: both fail the test
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            self.report("failed", name, f": {detail}{where(e)}")
        finally:
            lib.reap()
        for skipped, reason in lib.take_skips():
            self.report("skipped", skipped, f": {reason}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=lib.BINARY)
    ap.add_argument("--prefix", default="", help="prefix for test names (asan/, vm/)")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose name contains this (repeatable: any of them)")
    ap.add_argument("--exclude", action="append", default=[],
                    help="leave out tests whose name contains this (repeatable)")
    ap.add_argument("--tests", default=HERE, help="directory of the test_*.py files")
    ap.add_argument("--docs-check", action="store_true",
                    help="check the JSON keys seen against the man pages (always without -k)")
    ap.add_argument("--test-timeout", type=int, default=DEFAULT_TIMEOUT,
                    help="seconds each test may take (default $EBPFTRACE_TEST_TIMEOUT or 300)")
    args = ap.parse_args()
    lib.set_binary(args.binary)
    lib.track_processes()
    signal.signal(signal.SIGALRM, on_alarm)
    runner = Runner(args.prefix, args.test_timeout, os.environ.get("CI") == "true")
    for name, fn in load_tests(os.path.abspath(args.tests), args.patterns, args.exclude):
        runner.run(name, fn)
    if args.docs_check or not args.patterns:
        runner.run("docs/json_keys_are_in_the_man_pages", lib.assert_json_keys_documented)
    c = runner.counts
    print(f"integration: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped",
          flush=True)
    return 1 if c["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
