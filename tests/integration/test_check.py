"""`ebpftrace check [SUBCOMMAND...]`: what it says a subcommand does here is what a real run does.

check starts each subcommand for real (in a child of its own) up to the point where it would
start tracing; these tests run the same subcommand for real and compare: the method it chose
(-v says "attaching with ..."), and the programs it holds loaded (found through the tracer's own
file descriptors, so that nothing else loaded on the host counts).
"""
import glob
import json
import os
import re
import subprocess

import lib
from lib import Tracer, json_lines, run
from test_cli import subcommands

# Arguments a subcommand needs to run at all (check gives it the same, from its dispatch row).
RUN_ARGS = {"exec": ["-x"], "lsm-block": ["--audit", "--deny-connect", "198.51.100.1:9", "--deny-exec", "/bin/sh",
                         "--deny-open", "/dev/null"],
            "tc": ["lo", "--ingress", "--egress"], "argdist": ["vfs_write", "count"]}
# How to run it: tc, as check does, on the loopback of a network namespace of its own.
RUN_PREFIX = {"tc": ["unshare", "-n"]}


def check(*names):
    p = run(["check", "--json", *names], timeout=120)
    return p, json_lines(p.stdout)


def programs_held_by(pid):
    """Names of the BPF programs whose file descriptors process pid holds."""
    ids = set()
    for info in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(info) as f:
                m = re.search(r"^prog_id:\s+(\d+)", f.read(), re.M)
        except FileNotFoundError:
            continue
        if m:
            ids.add(int(m.group(1)))
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
    return sorted(p["name"] for p in json.loads(out.stdout) if p["id"] in ids)


def reported(objs, type_, sub):
    return [o for o in objs if o["type"] == type_ and o.get("subcommand") == sub]


def test_check_and_a_real_run_agree_for_every_subcommand():
    for sub in subcommands():
        p, objs = check(sub)
        [summary] = [o for o in objs if o["type"] == "subcommand"]
        if not summary["runs"]:
            # It cannot run here: then a real run must fail the same way.
            r = subprocess.run([*RUN_PREFIX.get(sub, ()), lib.BINARY, sub, "-d", "0.1",
                                *RUN_ARGS.get(sub, [])], capture_output=True, timeout=30)
            assert r.returncode == summary["exit_code"] != 0, (sub, r.returncode, summary)
            assert summary["reason"] in r.stderr.decode(), (sub, summary, r.stderr)
            assert p.returncode == 3
            continue
        assert p.returncode == 0, (sub, p.stderr)
        chosen = [o["method"] for o in reported(objs, "method", sub) if o["chosen"]]
        programs = sorted(o["name"] for o in reported(objs, "program", sub))
        assert programs, (sub, objs)
        t = Tracer([sub, "-v", *RUN_ARGS.get(sub, [])], prefix=RUN_PREFIX.get(sub, ()))
        try:
            held = programs_held_by(t.proc.pid)
        finally:
            rc, _, err = t.stop()
        assert rc == 0, (sub, err)
        said = re.findall(r": attaching with (\S+)", err.decode())
        assert said == chosen, (sub, said, chosen)
        # The kernel keeps 15 characters of a name where BTF does not give the full one.
        assert [h[:15] for h in held] == [n[:15] for n in programs], (sub, held, programs)


def test_check_passes_over_what_the_kernel_refuses_and_says_why():
    _, objs = check("tcpconnlat")
    feats = {o["name"]: o["ok"] for o in objs if o["type"] == "feature"}
    methods = reported(objs, "method", "tcpconnlat")
    passed = {o["method"]: o["reason"] for o in methods if not o["chosen"]}
    [chosen] = [o["method"] for o in methods if o["chosen"]]
    # The first candidate the kernel supports is the one taken; each one before it has a reason.
    order = ["fentry", "kprobe", "tp_btf", "tracepoint"]
    assert chosen == next(m for m in order if feats[m]), (chosen, feats)
    assert set(passed) == set(order[:order.index(chosen)]), passed
    assert all(passed.values()), passed


def test_check_of_several_and_of_all():
    p, objs = check("open", "kill")
    assert p.returncode == 0, p.stderr
    assert [o["name"] for o in objs if o["type"] == "subcommand"] == ["open", "kill"]
    [kernel] = [o for o in objs if o["type"] == "kernel"]
    assert kernel["release"] == os.uname().release
    p, objs = check()
    summaries = [o for o in objs if o["type"] == "subcommand"]
    assert [o["name"] for o in summaries] == subcommands()
    assert p.returncode == (0 if all(o["runs"] for o in summaries) else 3)


def test_check_table_has_a_row_per_subcommand():
    p = run(["check", "exec", "open"])
    assert p.returncode == 0, p.stderr
    rows = re.findall(r"^(\S+)\s+(yes|no)\b", p.stdout.decode().split("SUBCOMMAND", 1)[1], re.M)
    assert rows == [("exec", "yes"), ("open", "yes")], p.stdout


def test_check_without_privileges_says_why_and_exits_3():
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", "--bounding-set=-all", lib.BINARY, "check", "--json",
                        "open"],
                       capture_output=True, timeout=30)
    assert p.returncode == 3, (p.returncode, p.stderr)
    [summary] = [o for o in json_lines(p.stdout) if o["type"] == "subcommand"]
    assert not summary["runs"] and re.search(r"root|CAP_BPF", summary["reason"]), summary


def test_check_usage_errors():
    for args, pattern in ((["check", "nosuch"], r"unknown subcommand 'nosuch'"),
                          (["check", "--bogus"], r"unknown option '--bogus'")):
        p = run(args)
        err = p.stderr.decode()
        assert p.returncode == 2 and err.count("\n") == 1 and re.search(pattern, err), (args, err)
        assert p.stdout == b""
