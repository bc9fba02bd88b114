#!/usr/bin/env python3
"""A stand-in for ebpftrace in the harness self-tests: says "Tracing" on stderr like the real
one, then misbehaves as asked, so that tests/integration's lib and run.py can be shown to catch it.

  fake_tracer.py flood BYTES   write BYTES to stdout at once, then "wrote BYTES" on stderr
  fake_tracer.py lost          two {"type":"fake"} records and a {"type":"lost"} one
  fake_tracer.py hang MARKER   never ends, not even on SIGINT
Every mode but hang ends with status 0 on SIGINT.
"""
import os
import signal
import sys
import time


def main():
    # As lib.trace_events() runs it: SUB --json ARGS; the mode is the first other word.
    args = [a for a in sys.argv[1:] if a not in ("fake", "--json")]
    mode = args[0]
    if mode == "hang":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sys.stderr.write(f"Tracing fake {mode}. Hit Ctrl-C to end.\n")
    sys.stderr.flush()
    out = sys.stdout.buffer
    if mode == "flood":
        n = int(args[1])
        out.write(b"x" * n)
        out.flush()
        sys.stderr.write(f"wrote {n}\n")
    elif mode == "lost":
        out.write(b'{"type":"fake","n":1}\n{"type":"fake","n":2}\n{"type":"lost","count":1}\n')
    out.flush()
    sys.stderr.flush()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
