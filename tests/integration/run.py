#!/usr/bin/env python3
"""Integration test runner: every test_* function in tests/integration/test_*.py, as root, against
the real binary on the running kernel.

Prints PASS/FAIL/SKIP per test and, last, "integration: N passed, N failed, N skipped". After each
test it checks that no BPF program of ours is left loaded; a leak fails that test.
"""
import argparse
import importlib.util
import glob
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def load_tests(pattern):
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(vars(mod), key=lambda a: getattr(getattr(mod, a), "__code__", None)
                           and getattr(mod, a).__code__.co_firstlineno or 0):
            fn = getattr(mod, attr)
            full = f"{name[5:]}/{attr[5:]}"
            if attr.startswith("test_") and callable(fn) and (not pattern or pattern in full):
                yield full, fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=lib.BINARY)
    ap.add_argument("--prefix", default="", help="prefix for test names (asan/, vm/)")
    ap.add_argument("-k", dest="pattern", default="", help="only tests whose name contains this")
    args = ap.parse_args()
    lib.set_binary(args.binary)

    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for name, fn in load_tests(args.pattern):
        name = args.prefix + name
        start = time.monotonic()
        try:
            if os.geteuid() != 0:
                raise lib.Skip("needs root (run the test command as root)")
            fn()
            lib.assert_nothing_loaded()
            print(f"PASS {name} ({time.monotonic() - start:.1f}s)", flush=True)
            counts["passed"] += 1
        except lib.Skip as e:
            print(f"SKIP {name}: {e}", flush=True)
            counts["skipped"] += 1
        except Exception as e:  # a failed assertion or an unexpected error: both fail the test
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL {name}: {detail} [{os.path.basename(where.filename)}:{where.lineno}]",
                  flush=True)
            counts["failed"] += 1
    print(f"integration: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped", flush=True)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
