"""The cut-down kernel BTF that ebpftrace keeps for CO-RE (common/corebtf.c, EBPFTRACE_CACHE_DIR):
libbpf relocates every program of every subcommand with it exactly as with the kernel's whole
BTF, which it then does not read; programs that attach by BTF id attach to what they would with
the whole BTF; the copy is written once per kernel, and one in a directory that others can write
is not used."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

import lib
from test_check import RUN_ARGS, RUN_PREFIX
from test_signals import runnable

KERNEL_BTF_READ = "loaded kernel BTF from '/sys/kernel/btf/vmlinux'"
OUR_WHOLE_BTF_READ = "is not in the cached copy: reading the whole BTF"
# Who may still read the kernel's whole BTF with the copy there, and why.
READS_WHOLE_BTF = {"argdist": "it looks the function's arguments up by name",
                   "lsm-block": "libbpf 1.4 wants the kernel's BTF for any lsm program"}


def methods_of(sub):
    """The --method values of sub, from its --help (none: it has one way in)."""
    out = lib.run([sub, "--help"]).stdout.decode()
    m = re.search(r"--method=METHOD\s+Attach with (.+?) \(default", out, re.S)
    return re.split(r", | or ", " ".join(m.group(1).split())) if m else []


def traced(sub, extra, cache_dir):
    """stderr of a short run of sub under -vv with EBPFTRACE_CACHE_DIR=cache_dir."""
    env = dict(os.environ, EBPFTRACE_CACHE_DIR=cache_dir)
    p = subprocess.run([*RUN_PREFIX.get(sub, ()), lib.BINARY, sub, "-vv", "-d", "0.1", *extra,
                        *RUN_ARGS.get(sub, [])], capture_output=True, timeout=60, env=env)
    err = p.stderr.decode(errors="replace")
    if p.returncode == 3 and "is not usable on this kernel" in err:
        return None  # that method, on this kernel (exit's tp_btf before 6.16)
    assert p.returncode == 0, (sub, extra, err[-2000:])
    return err


def relocations(log):
    """libbpf's account of each CO-RE relocation (the local and target specs, the patched
    instruction), with type ids taken out: those of a cut-down BTF are its own."""
    return [re.sub(r"\[\d+\]", "[]", line) for line in log.splitlines()
            if "libbpf: " in line and re.search(r"relo #\d+: |candidate", line)]


def test_every_program_is_relocated_as_with_the_kernels_whole_btf():
    features = lib.features()
    with tempfile.TemporaryDirectory() as cache:
        for sub in runnable("corebtf"):
            usable = [m for m in methods_of(sub) if features.get(m)]
            for extra in [[]] + [["--method", m] for m in usable]:
                whole = traced(sub, extra, "")
                if whole is None:
                    continue
                traced(sub, extra, cache)  # the first run writes the copy
                small = traced(sub, extra, cache)
                assert relocations(whole), (sub, extra, whole[-2000:])
                assert relocations(small) == relocations(whole), (sub, extra)
                assert sub in READS_WHOLE_BTF or KERNEL_BTF_READ not in small, (sub, extra)
                assert sub in READS_WHOLE_BTF or OUR_WHOLE_BTF_READ not in small, (
                    sub, extra, [line for line in small.splitlines() if OUR_WHOLE_BTF_READ in line])


def by_btf_id_links():
    """What each link of ours that attaches by BTF id is attached to, as the kernel says: a
    tp_btf program's raw tracepoint, an fentry/fexit program's function."""
    progs = {p["id"]: p.get("name", "") for p in lib._bpftool("prog")}
    ours = lib.our_program_names()
    return sorted((progs[k["prog_id"]], k["type"], str(k.get("tp_name", k.get("target_btf_id"))))
                  for k in lib._bpftool("link")
                  if k["type"] in ("raw_tracepoint", "tracing")
                  and progs.get(k["prog_id"], "")[:15] in ours)


def attached_with(sub, extra, cache_dir):
    env = dict(os.environ, EBPFTRACE_CACHE_DIR=cache_dir)
    t = lib.Tracer([sub, *extra, *RUN_ARGS.get(sub, [])], env=env, prefix=RUN_PREFIX.get(sub, ()))
    try:
        return by_btf_id_links()
    finally:
        rc, _, err = t.stop()
        assert rc == 0, (sub, extra, err[-2000:])


def test_programs_attach_by_the_cached_ids_where_the_whole_btf_takes_them():
    """tp_btf, fentry and fexit programs get their target's BTF id from the copy: each attaches
    where it does when libbpf finds the id in the kernel's whole BTF."""
    features, seen = lib.features(), 0
    with tempfile.TemporaryDirectory() as cache:
        for sub in runnable("corebtf"):
            usable = [m for m in methods_of(sub) if features.get(m)]
            for extra in [[]] + [["--method", m] for m in usable if m in ("tp_btf", "fentry")]:
                if traced(sub, extra, "") is None:
                    continue
                traced(sub, extra, cache)
                cached = attached_with(sub, extra, cache)
                assert cached == attached_with(sub, extra, ""), (sub, extra)
                seen += len(cached)
    assert seen, "no program attached by BTF id"


def cached_files(cache):
    return sorted(f for f in os.listdir(cache) if f.endswith(".btf"))


def test_written_once_per_kernel_and_others_removed():
    with tempfile.TemporaryDirectory() as root:
        cache = os.path.join(root, "cache")
        err = traced("exec", [], cache)
        [name] = cached_files(cache)
        assert f"wrote {cache}/{name}" in err, err[-2000:]
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
        path = os.path.join(cache, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert 0 < os.path.getsize(path) < 1 << 20 < os.path.getsize("/sys/kernel/btf/vmlinux")
        inode = os.stat(path).st_ino
        err = traced("exec", [], cache)
        assert "wrote" not in err and os.stat(path).st_ino == inode, err[-2000:]
        # Another kernel's copy goes; a damaged copy of this one's is written again.
        stale = os.path.join(cache, "vmlinux-0123456789abcdef-0000000000000000.btf")
        shutil.copy(path, stale)
        with open(path, "r+b") as f:
            f.write(b"\0" * 64)
        err = traced("exec", [], cache)
        assert f"wrote {path}" in err and cached_files(cache) == [name], err[-2000:]


def test_a_directory_others_can_write_is_not_used():
    with tempfile.TemporaryDirectory() as cache:
        os.chmod(cache, 0o777)
        err = traced("exec", [], cache)
        assert f"{cache} is missing, not ours or writable by others" in err, err[-2000:]
        assert KERNEL_BTF_READ in err and cached_files(cache) == []
