"""ebpftrace biopattern on the running kernel: a loop device over a file of ours, read with
O_DIRECT in known sequential and random orders."""
import contextlib
import mmap
import os
import subprocess

from lib import Tracer, assert_usage_error, json_lines, run
import lib

BLOCK = 65536
BLOCKS = 64


@contextlib.contextmanager
def loop_device():
    """A loop device over a 4 MiB file under build/; detached and removed at the end."""
    path = os.path.join(lib.ROOT, "build", f"biopattern-{os.getpid()}.img")
    with open(path, "wb") as f:
        f.write(os.urandom(BLOCK * BLOCKS))
    dev = None
    # Where loop is a module nothing has loaded yet (the VM), there is no /dev/loop-control for
    # losetup to ask: load it first (nothing happens where it is loaded or built in).
    subprocess.run(["modprobe", "loop"], capture_output=True)
    try:
        dev = subprocess.run(["losetup", "-f", "--show", path], capture_output=True,
                             check=True).stdout.decode().strip()
        yield dev
    finally:
        if dev:
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        os.unlink(path)


def read_blocks(dev, order):
    """Read the BLOCK-sized blocks numbered in order, one at a time, past the page cache."""
    buf = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT wants
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        for i in order:
            assert os.preadv(fd, [buf], i * BLOCK) == BLOCK
    finally:
        os.close(fd)


METHODS = ("tp_btf", "tracepoint")


def report_for(dev, order, method=None):
    t = Tracer(["biopattern", "--json"] + (["--method", method] if method else []))
    read_blocks(dev, order)
    rc, out, err = t.stop()
    assert rc == 0, err
    name = os.path.basename(dev)
    rows = [o for o in json_lines(out, "biopattern") if o["disk"] == name]
    assert len(rows) == 1, rows
    st = os.stat(dev)
    assert rows[0]["dev"] == f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}", rows
    return rows[0]


def test_sequential_then_random_reads_exactly():
    with loop_device() as dev:
        # The first request a run sees on a disk has nothing to follow: it counts as random.
        r = report_for(dev, range(BLOCKS))
        check_sequential_then_random(dev, r, None)


def check_sequential_then_random(dev, r, method):
    assert (r["random"], r["sequential"]) == (1, BLOCKS - 1), r
    assert (r["random_bytes"], r["sequential_bytes"]) == (BLOCK, (BLOCKS - 1) * BLOCK), r
    assert (r["count"], r["kbytes"]) == (BLOCKS, BLOCKS * BLOCK // 1024), r
    assert (r["random_pct"], r["sequential_pct"]) == (2, 98), r
    # Every 7th block, wrapping: no read starts where the one before ended.
    order = [i * 7 % BLOCKS for i in range(32)]
    r = report_for(dev, order, method)
    assert (r["random"], r["sequential"], r["random_pct"]) == (32, 0, 100), r
    assert r["random_bytes"] == 32 * BLOCK, r


def test_each_method_counts_the_same():
    """tp_btf reads disk and sector from the request; the tracepoint's perf event from its
    record: forced, each counts the same requests exactly, and -v names it."""
    methods = lib.usable_methods(METHODS, "tracepoint")
    with loop_device() as dev:
        for method in methods:
            check_sequential_then_random(dev, report_for(dev, range(BLOCKS), method), method)
    lib.assert_methods_forced_and_reported("biopattern", methods)


def test_table_and_intervals():
    with loop_device() as dev:
        t = Tracer(["biopattern", "0.5"])
        read_blocks(dev, range(16))
        rc, out, err = t.stop()
    assert rc == 0, err
    blocks = out.decode().strip("\n").split("\n\n")
    assert all(b.splitlines()[0].split() == ["DISK", "%RND", "%SEQ", "COUNT", "KBYTES"]
               for b in blocks), out
    name = os.path.basename(dev)
    rows = [ln.split() for b in blocks for ln in b.splitlines()[1:] if ln.split()[0] == name]
    assert sum(int(r[3]) for r in rows) == 16 and sum(int(r[4]) for r in rows) == 16 * 64, rows


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["biopattern", "--count", "3"], r"--count does not apply")
    assert_usage_error(["biopattern", "0"], r"invalid interval '0'")
    assert_usage_error(["biopattern", "1", "2", "3"], r"unexpected argument '3'")
