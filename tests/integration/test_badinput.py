"""Bad input to every option and positional argument of every subcommand.

The cases come from the binary itself: the subcommands from `ebpftrace --help`, each one's
options (those that take a value) from `ebpftrace SUB --help`, its positional arguments from its
usage line. Each value is given a class by VALUE_CLASSES (by the option's name, else its
metavar), and each class lists values that are wrong for it, with the exit status they must end
with. An option or positional argument with no class fails the test: nothing can drift out of it.

Every case must end with exactly one line on stderr, nothing on stdout and the documented exit
status (2 for usage, 1 at run time); the harness then checks that nothing of ours is still loaded.
Values that look wrong but are not (0 for --uid, a pid that does not exist for a filter) are in
VALID, with the reason, and are not run: they would start tracing.

The cases of each subcommand run four at a time; under a quiet machine each takes some 10 ms, as
most end in option parsing.
"""
import concurrent.futures
import os
import re
import subprocess
import tempfile

import lib

BIG = ["18446744073709551616", "100000000000000000000000000000"]  # 2^64 and beyond
NUMBER = ["", "abc", "-1", "1.5", "0x10", "1k", "9 "] + BIG
NUMBER_FROM_1 = NUMBER + ["0"]
PID = NUMBER_FROM_1 + ["4194305"]  # past PID_MAX_LIMIT
SECONDS = ["", "abc", "-1", "0", "-0", "nan", "inf", "1e999", "5s", "1,5", "1e3", "0x10", " 1",
           "1.", "+1", "1000000001"]
PORTS = ["", "0", "65536", "80-70", "abc", "-1", "1-", "-80", "80-", "1-65536"]
PREFIX = ["", "198.51.100.300", "198.51.100.0/33", "198.51.100.0/", "2001:db8::/129",
          "2001:db8:::1", "198.51.100.1\nx", "[2001:db8::1]"]
# A file that is not what it should be, and a path to nothing.
MISSING = "/nonexistent/ebpftrace-badinput"


def _policy_file(text):
    f = tempfile.NamedTemporaryFile("w", prefix="ebt-badinput-", suffix=".rules", delete=False)
    f.write(text)
    f.close()
    return f.name


# class: (bad values, exit status). A value is a string, given as --option=VALUE, or (value,
# status) where it is found out only when the run begins: a runtime failure, exit 1.
CLASSES = {
    "pid": (PID, 2),
    "uid": (NUMBER + ["4294967295"], 2),  # (u32)-1 is "any uid"
    "n": (NUMBER_FROM_1, 2),
    "n0": (NUMBER, 2),
    "snaplen": (NUMBER_FROM_1 + ["63"], 2),
    "max-args": (NUMBER_FROM_1 + ["65"], 2),
    "max-series": (NUMBER_FROM_1 + ["10001"], 2),
    "seconds": (SECONDS, 2),
    "size": (["", "abc", "-4K", "1T", "4KK", "K", "18446744073709551615G"] + BIG, 2),
    "ringbuf": (["", "abc", "0", "3K", "2K", "2G", "1T", "-4K"] + BIG, 2),
    "comm": (["", "a" * 16], 2),
    "listen": (["", "0", "65536", "abc", "198.51.100.300:9435", "[::1]", "[::1]:", ":9435",
                "::1:9435", "[198.51.100.1]:9435", "localhost:9435"], 2),
    "prefix": (PREFIX, 2),
    "ports": (PORTS, 2),
    "port-list": (["", "0", "65536", "80,,81", "80,", ",80", "abc", ",".join(["1"] * 17)], 2),
    "proto": (["", "tcpx", "0", "256", "-1"], 2),
    "packet-rule": (["", "bogus", "tcp:dport=0", "icmp:port=1", "tcp:", "tcp:dport=80,",
                     "tcp:bogus=1", "src=198.51.100.1,dst=2001:db8::1", "udp:sport=9-1",
                     "dst=198.51.100.300"], 2),
    "endpoint": (["", "198.51.100.300", "198.51.100.0/33", "[2001:db8::1", "198.51.100.1:0",
                  "198.51.100.1:70000", "[198.51.100.1]:80", "198.51.100.1:80-70",
                  "[2001:db8::1]:", "[2001:db8::/64]/64:80"], 2),
    "signal-list": (["", ",", "TERM,", ",TERM", "TERM,,KILL", "SIGBOGUS", "65", "-1",
                     "RTMIN+31", "RTMAX-31", "SIG"], 2),
    "flag-list": (["", ",", "O_BOGUS", "O_CREAT,", "O_CREAT,,O_EXCL", "CREAT"], 2),
    "method": (["", "bogus", "lsm", "KPROBE "], 2),
    "attach": (["", "bogus", "TCX "], 2),
    "by": (["", "bogus", "laddr,raddr"], 2),
    "existing-file": (["", MISSING], 2),
    "policy-file": (["", MISSING, "/", "@deny-bogus /bin/true\n",
                     "@deny-connect 198.51.100.300\n", "@deny-open\n",
                     "@deny-exec " + MISSING + "\n"], 2),
    "cgroup": (["", MISSING, "/etc/hostname"], 2),
    "command": (["", "   ", "'unclosed", "echo $(id)", "echo `id`"], 2),
    "missing-command": ([MISSING], 1),
    "stats-interval": (SECONDS[1:], 2),  # --stats= (empty) is --stats with no interval
    "symbol-prefix": ([("a" * 200, 1)], 2),  # no such allocator: found out at the start
    "line": ([""], 2),
    "shell": (["", MISSING, ("/etc/hostname", 1)], 2),
    "lib": (["", (MISSING, 1), ("libebpftrace-none", 1)], 2),
    "output-file": (["", ("/nonexistent/dir/x.pcap", 1)], 2),
    "linear": (["", "abc", "1,2", "0,10,0", "10,0,1", "0,10,3", "0,100000,1", "-5,10,1",
                "0,10,1,"], 2),
}

# Which class an option's value is, by its long name, else by its metavar.
BY_OPTION = {
    "uid": "uid", "name": "comm", "metrics": "listen", "metrics-max-series": "max-series",
    "ringbuf-size": "ringbuf", "cgroup": "cgroup", "duration": "seconds",
    "snaplen": "snaplen", "max-args": "max-args", "signal": "signal-list", "flags": "flag-list",
    "drop": "packet-rule", "deny-connect": "endpoint", "deny-exec": "existing-file",
    "deny-open": "existing-file", "file": "policy-file", "attach": "attach", "by": "by",
    "symbol-prefix": "symbol-prefix", "stats": "stats-interval", "line": "line",
    "min-size": "size", "max-size": "size", "older": "n", "shell": "shell", "obj": "lib",
    "write": "output-file", "linear": "linear", "output": "output-file",
}
BY_SUB_OPTION = {
    ("tc", "top"): "n0",  # 0: no flow table, only the per-protocol counters
    ("tcpconnlat", "dport"): "port-list", ("tcpconnlat", "lport"): "port-list",
    ("memleak", "command"): "command",
}
BY_METAVAR = {
    "PID": "pid", "TID": "pid", "PPID": "pid", "N": "n", "SECONDS": "seconds", "SIZE": "size",
    "PREFIX": "prefix", "PORTS": "ports", "PROTO": "proto", "METHOD": "method", "MS": "n",
    "BYTES": "n",
}

# Values that look bad but are not, and why, by class: never tried as bad ones (they would start
# tracing); cases() checks that no class lists one of them.
VALID = {
    ("uid", "0"): "root's uid",
    ("pid", "4194303"): "a filter may name a process that is not there yet (memleak -p: an error)",
    ("n0", "0"): "tc --top=0: no flow table, only the per-protocol counters",
    ("size", "0"): "memleak --min-size=0: every size is at least 0 bytes",
    ("symbol-prefix", ""): "no prefix: the default",
}

# Arguments that make the rest of a command line complete, so that a bad value is what fails.
BASE = {"memleak": ["--command=/bin/true"], "tc": ["lo"], "lsm-block": ["--deny-open=/"],
        "argdist": ["vfs_write", "count"]}
# A command line per subcommand that runs in a network namespace of its own (tc's lo is its own).
NETNS = {"tc"}

# Positional arguments, by the usage line's words: (argument lists, exit status). Those of
# COMPLETE_POSITIONAL are whole command lines (not added to BASE, which holds them).
COMPLETE_POSITIONAL = {"DEV", "FUNCTION ARG [interval [count]]"}
INTERVAL_COUNT = ([["0"], ["-1"], ["abc"], [""], ["nan"], ["1e3"], ["0x10"], ["1", "0"], ["1", "-1"],
                   ["1", "abc"], ["1", "1.5"], ["1"] + BIG[:1], ["1", "1", "1"]], 2)
POSITIONAL = {
    "[interval [count]]": INTERVAL_COUNT,
    "[INTERVAL [COUNT]]": INTERVAL_COUNT,
    "[MIN_MS]": ([["-1"], ["abc"], ["1e10"], [""], ["nan"], ["1", "2"]], 2),
    "DEV": ([["ebtnodev0"], ["lo", "lo"], [""]], 2),
    "FUNCTION ARG [interval [count]]": ([[], ["vfs_write"], ["ebt_no_such_fn", "arg0"],
                                         ["vfs_write", "arg6"], ["vfs_write", "file"],
                                         ["vfs_write", "bogus"], ["", "count"],
                                         ["vfs_write", "count", "0"],
                                         ["vfs_write", "count", "1", "0"],
                                         ["vfs_write", "count", "1", "1", "1"]], 2),
    "": ([["extra"]], 2),
}


def subcommands():
    out = lib.run(["--help"]).stdout.decode()
    body = out.split("Subcommands:", 1)[1]
    return re.findall(r"^  ([a-z][a-z-]*)\s", body, re.M)


OPTION = re.compile(r"^\s+(?:-\S, )?--([a-z][a-z0-9-]*)(\[?=)(\S+?)\]?(?:\s|$)", re.M)


def options(sub):
    """(long name, metavar, optional, common) of each option of sub that takes a value, and the
    usage line's positional arguments."""
    out = lib.run([sub, "--help"]).stdout.decode()
    own, _, common = out.partition("Common options:")
    opts = [(m[0], m[2], m[1] == "[=", False) for m in OPTION.findall(own)]
    opts += [(m[0], m[2], m[1] == "[=", True) for m in OPTION.findall(common)]
    return opts, usage_words(out, sub)


def usage_words(help_text, sub):
    first = help_text.splitlines()[0]
    m = re.match(rf"Usage: ebpftrace {re.escape(sub)} \[OPTION\.\.\.\] ?(.*)$", first)
    assert m, f"{sub}: usage line not understood: {first!r}"
    return m.group(1).strip()


def value_class(sub, name, metavar):
    cls = BY_SUB_OPTION.get((sub, name)) or BY_OPTION.get(name) or BY_METAVAR.get(metavar)
    return cls


def value_arg(value):
    """A value as given: '@TEXT' is a policy file with that text."""
    return _policy_file(value[1:]) if value.startswith("@") else value


def cases(sub, every_common_value):
    """(sub, argv, expected exit, what) of every case of sub; also its unclassified options. The
    common options are one parser (common/opts.c) in every subcommand: all their bad values are
    tried in one subcommand, and in the others the first two, which shows they reach it."""
    out, missing = [], []
    if True:
        opts, positional = options(sub)
        for name, metavar, optional, common in opts:
            # The completing arguments, but not of the option under test: they would replace it.
            base = [a for a in BASE.get(sub, []) if not a.startswith(f"--{name}=")]
            cls = value_class(sub, name, metavar)
            if not cls:
                missing.append(f"{sub} --{name}={metavar}")
                continue
            values, status = CLASSES[cls]
            wrongly_bad = [v for (c, v) in VALID if c == cls and v in values]
            assert not wrongly_bad, f"{cls}: {wrongly_bad} are valid (VALID) and listed as bad"
            if common and not every_common_value:
                values = values[:2]
            for v in values:
                v, st = v if isinstance(v, tuple) else (v, status)
                out.append((sub, [f"--{name}={value_arg(v)}"] + base, st, f"--{name}={v!r}"))
            if not optional:  # the value missing altogether: the last word of the line
                out.append((sub, base + [f"--{name}"], 2, f"--{name} (no value)"))
            if sub == "memleak" and name == "pid":
                # memleak traces the process itself: one that does not exist is an error.
                out.append((sub, ["--pid=4194303"], 1, "--pid=4194303 (no such process)"))
        if sub == "memleak":
            values, status = CLASSES["missing-command"]
            out += [(sub, [f"--command={v}"], status, f"--command={v!r}") for v in values]
        base = BASE.get(sub, [])
        if positional not in POSITIONAL:
            missing.append(f"{sub} positional {positional!r}")
            return out, missing
        arg_lists, status = POSITIONAL[positional]
        for args in arg_lists:
            out.append((sub, args if positional in COMPLETE_POSITIONAL else base + args, status,
                        f"positional {args!r}"))
        out.append((sub, base + ["--bogus-option"], 2, "--bogus-option"))
    return out, missing


def run_case(case):
    """'' when the case behaves, else what it did."""
    sub, args, status, what = case
    prefix = ["unshare", "-n"] if sub in NETNS else []
    argv = prefix + [lib.BINARY, sub] + args
    try:
        p = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"{sub} {what}: still running after 30 s (the value was taken)"
    err = p.stderr.decode(errors="replace")
    problems = []
    if p.returncode != status:
        problems.append(f"exit {p.returncode}, expected {status}")
    if err.count("\n") != 1 or not err.endswith("\n"):
        problems.append(f"{err.count(chr(10))} lines on stderr")
    elif not err.startswith(f"ebpftrace {sub}: "):
        problems.append("no 'ebpftrace SUB: ' prefix")
    if p.stdout:
        problems.append(f"stdout {p.stdout[:80]!r}")
    return f"{sub} {what}: {', '.join(problems)}: {err[:200]!r}" if problems else ""


def check_subcommand(sub, every_common_value):
    all_cases, missing = cases(sub, every_common_value)
    assert not missing, f"no value class for: {missing} (add one to test_badinput.py)"
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(run_case, all_cases))
    finally:
        for f in {a.split("=", 1)[1] for _, args, _, _ in all_cases for a in args
                  if "/ebt-badinput-" in a}:
            os.unlink(f)
    failures = [r for r in results if r]
    print(f"badinput {sub}: {len(all_cases)} cases, {len(failures)} failed", flush=True)
    assert not failures, f"{len(failures)} of {len(all_cases)} cases: " + "; ".join(failures[:25])
    lib.assert_nothing_loaded()


def _define_tests():
    """A test per subcommand (each within the per-test timeout), named after it."""
    try:
        subs = subcommands()
    except (OSError, IndexError) as e:
        subs, error = [], e

        def test_subcommands_listed():
            raise AssertionError(f"ebpftrace --help did not list the subcommands: {error}")
        globals()[test_subcommands_listed.__name__] = test_subcommands_listed
    for i, sub in enumerate(subs):
        def test(sub=sub, every=i == 0):
            check_subcommand(sub, every)
        test.__name__ = f"test_{sub.replace('-', '_')}"
        globals()[test.__name__] = test


_define_tests()
