"""ebpftrace lsm-block: on a kernel that refuses BPF LSM, the refusal and the rule checks; where
BPF LSM runs (tests/vm), enforcement against every name of a file and every route to an address.
The enforcement tests probe with `ebpftrace check --json` and SKIP where lsm is not usable."""
import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid

import lib
from lib import Tracer, assert_nothing_loaded, assert_usage_error, helper, json_lines, run

NEEDS_LSM = "needs BPF LSM (runs in tests/vm)"
_lsm = []


def lsm_usable():
    if not _lsm:
        p = run(["check", "--json", "lsm-block"])
        [summary] = json_lines(p.stdout, "subcommand")
        assert p.returncode == (0 if summary["runs"] else 3), p.stderr
        _lsm.append(summary)
    return _lsm[0]["runs"]


def require_lsm():
    if not lsm_usable():
        raise lib.Unsupported(NEEDS_LSM)


class Policy:
    """lsm-block --json ARGS running; stop() returns (decisions, per-rule counts by rule text)."""

    def __init__(self, args):
        self.tracer = Tracer(["lsm-block", "--json"] + args)

    def stop(self, sig=signal.SIGINT):
        rc, out, err = self.tracer.stop(sig)
        assert rc == 0, err
        counts = {o["rule"]: o["matches"] for o in json_lines(out, "rule")}
        return json_lines(out, "lsm_block"), counts


@contextlib.contextmanager
def policy(args, result):
    """Run the body under the policy; result gets .events and .counts after it."""
    p = Policy(args)
    try:
        yield
    finally:
        result.events, result.counts = p.stop()


class Result:
    pass


@contextlib.contextmanager
def tmpdir(under=None):
    d = os.path.realpath(tempfile.mkdtemp(prefix="ebt-lsm-", dir=under))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d)


def probe(*args, **kw):
    """The lsmprobe fixture's errno for one attempt."""
    p = subprocess.run([helper("lsmprobe")] + [str(a) for a in args], capture_output=True,
                       timeout=30, **kw)
    out = p.stdout.decode().split()
    assert p.returncode == 0 and out[0] == "errno", (args, p.returncode, p.stdout, p.stderr)
    return int(out[1])


def listener(family, addr="", n=2):
    """n TCP listeners on free ports of addr (all addresses by default); returns their ports."""
    socks = []
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((addr, 0))
        s.listen(16)
        socks.append(s)
    return socks, [s.getsockname()[1] for s in socks]


# ---- on every kernel: the refusal and the rules' checks ----

def test_refuses_or_enforces_as_check_says():
    """Where `check` says BPF LSM is not usable: exit 3 with its reason, nothing loaded; where it
    is: the policy starts."""
    if lsm_usable():
        t = Tracer(["lsm-block", "--deny-connect", "198.51.100.7:80"])
        loaded = lib.loaded_programs_of_ours()
        rc, out, err = t.stop()
        # Only the hooks the rules need: connect rules leave opens and execs alone.
        assert "lsm_connect" in loaded and "lsm_file_open" not in loaded, loaded
        assert rc == 0, err
        assert out.splitlines()[-1].split() == [b"0", b"deny-connect", b"198.51.100.7:80",
                                                b"command", b"line"], out
        return
    p = run(["lsm-block", "--deny-connect", "198.51.100.7:80"])
    err = p.stderr.decode()
    assert p.returncode == 3, (p.returncode, err)
    assert err.count("\n") == 1, err
    assert err.startswith("ebpftrace lsm-block: BPF LSM is not usable on this kernel: "), err
    assert err == f"ebpftrace lsm-block: {_lsm[0]['reason']}\n", (err, _lsm[0])
    assert p.stdout == b""
    assert_nothing_loaded()


def test_bad_rules_exit_2_naming_the_problem():
    assert_usage_error(["lsm-block", "--deny-connect", "198.51.100.300"], r"'198\.51\.100\.300' is not")
    assert_usage_error(["lsm-block", "--deny-connect", "198.51.100.0/33"],
                       r"'198\.51\.100\.0/33': the prefix length must be a number from 0 to 32")
    assert_usage_error(["lsm-block", "--deny-connect", "[2001:db8::]/129:80"],
                       r"'2001:db8::/129': the prefix length must be a number from 0 to 128")
    assert_usage_error(["lsm-block", "--deny-connect", "198.51.100.7:65536"],
                       r"'65536' is not a port")
    assert_usage_error(["lsm-block", "--deny-exec", "/nonexistent/ebt"],
                       r"invalid deny-exec '/nonexistent/ebt': No such file")
    assert_usage_error(["lsm-block", "--deny-open", "/nonexistent/ebt"],
                       r"invalid deny-open '/nonexistent/ebt': No such file")
    many = [a for i in range(65) for a in ("--deny-connect", f"198.51.100.{i}")]
    assert_usage_error(["lsm-block"] + many, r"invalid deny-connect: more than 64 rules")
    assert_usage_error(["lsm-block"], r"no rules")
    assert_usage_error(["lsm-block", "--write-only", "--deny-open", "/etc/passwd"],
                       r"--write-only must follow a --deny-open")
    assert_usage_error(["lsm-block", "-f", "/nonexistent/policy"],
                       r"cannot read policy file '/nonexistent/policy'")


def test_policy_file_error_names_file_and_line():
    with tmpdir() as d:
        path = os.path.join(d, "policy")
        good = ["# a comment", "", "deny-connect 198.51.100.7:80  # trailing comment",
                "deny-exec /bin/true", "deny-open write-only /etc/passwd", "   "]
        for line7, pattern in (("allow-connect 198.51.100.7", r"unknown rule 'allow-connect'"),
                               ("deny-connect 198.51.100.0/33",
                                r"invalid deny-connect: '198\.51\.100\.0/33': the prefix length"),
                               ("deny-open /nonexistent/ebt",
                                r"invalid deny-open '/nonexistent/ebt': No such file"),
                               ("deny-exec", r"a path is missing after 'deny-exec'")):
            with open(path, "w") as f:
                f.write("\n".join(good + [line7]) + "\n")
            assert_usage_error(["lsm-block", "-f", path], re.escape(path + ":7: ") + pattern)


# ---- where BPF LSM runs ----

def test_connect_ipv4_port_and_mapped():
    require_lsm()
    socks, (p1, p2) = listener(socket.AF_INET6)  # dual-stack: IPv4 and IPv6 reach it
    r = Result()
    try:
        with policy(["--deny-connect", f"127.0.0.1:{p1}"], r):
            assert probe("connect", "127.0.0.1", p1) == errno.EPERM
            assert probe("connect", "::ffff:127.0.0.1", p1) == errno.EPERM
            assert probe("connect", "127.0.0.1", p2) == 0
            assert probe("connect", "127.0.0.2", p1) == 0
            assert probe("connect", "::ffff:127.0.0.2", p1) == 0
        assert probe("connect", "127.0.0.1", p1) == 0  # the policy went with ebpftrace
    finally:
        for s in socks:
            s.close()
    assert [(e["hook"], e["addr"], e["port"], e["proto"], e["action"]) for e in r.events] == [
        ("socket_connect", "127.0.0.1", p1, "tcp", "deny"),
        ("socket_connect", "::ffff:127.0.0.1", p1, "tcp", "deny")]
    e = r.events[0]
    assert e["target"] == f"tcp 127.0.0.1:{p1}" and e["comm"] == "lsmprobe", e
    assert e["rule"] == f"deny-connect 127.0.0.1:{p1}" and e["source"] == "command line", e
    assert e["ppid"] == os.getpid() and e["uid"] == 0, e
    assert r.counts == {f"deny-connect 127.0.0.1:{p1}": 2}


def test_connect_ipv6_and_cidr():
    require_lsm()
    socks, (p1, p2) = listener(socket.AF_INET6)
    rules = ["--deny-connect", f"[::1]:{p1}", "--deny-connect", "127.0.0.0/30",
             "--deny-connect", "2001:db8::/64"]
    r = Result()
    try:
        with policy(rules, r):
            assert probe("connect", "::1", p1) == errno.EPERM
            assert probe("connect", "::1", p2) == 0
            assert probe("connect", "127.0.0.5", p1) == 0  # outside the /30, and not ::1
            for a in ("127.0.0.1", "127.0.0.3"):
                assert probe("connect", a, p2) == errno.EPERM
            assert probe("connect", "127.0.0.4", p2) == 0
            assert probe("connect", "2001:db8::1", 80) == errno.EPERM
            assert probe("connect", "2001:db8::ffff:1", 443) == errno.EPERM
            # Outside the /64: the kernel tries it (no route in the VM), we do not deny it.
            assert probe("connect", "2001:db8:0:1::1", 80) != errno.EPERM
    finally:
        for s in socks:
            s.close()
    assert [e["addr"] for e in r.events] == ["::1", "127.0.0.1", "127.0.0.3", "2001:db8::1",
                                             "2001:db8::ffff:1"]
    assert r.events[0]["target"] == f"tcp [::1]:{p1}"
    assert list(r.counts.values()) == [1, 2, 2]


def test_udp_sendto_connect_fastopen_and_io_uring():
    require_lsm()
    socks, (p1, p2) = listener(socket.AF_INET)
    early = subprocess.Popen([helper("lsmprobe"), "udp-send-connected", "127.0.0.1", str(p1)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert early.stdout.readline() == b"connected\n"  # connected before the policy
    r = Result()
    try:
        with policy(["--deny-connect", f"127.0.0.1:{p1}"], r):
            assert probe("sendto", "127.0.0.1", p1) == errno.EPERM
            assert probe("sendto", "::ffff:127.0.0.1", p1) == errno.EPERM
            assert probe("sendto", "127.0.0.1", p2) == 0
            assert probe("udp-connect", "127.0.0.1", p1) == errno.EPERM
            assert probe("fastopen", "127.0.0.1", p1) == errno.EPERM
            assert probe("uring-connect", "127.0.0.1", p1) == errno.EPERM
            assert probe("uring-connect", "127.0.0.1", p2) == 0
            out, _ = early.communicate(b"go\n", timeout=30)
            assert out == b"errno 1\n", out
    finally:
        for s in socks:
            s.close()
    got = [(e["hook"], e["proto"], e["comm"]) for e in r.events]
    assert got == [("socket_sendmsg", "udp", "lsmprobe")] * 2 + [
        ("socket_connect", "udp", "lsmprobe"), ("socket_sendmsg", "tcp", "lsmprobe"),
        ("socket_connect", "tcp", "lsmprobe"), ("socket_sendmsg", "udp", "lsmprobe")], got


def copy_true(d, name):
    path = os.path.join(d, name)
    shutil.copy2("/bin/true", path)
    return path


def exec_errno(argv, **kw):
    try:
        return -subprocess.run(argv, capture_output=True, timeout=30, **kw).returncode
    except PermissionError:
        return errno.EPERM


def test_exec_denied_by_every_name():
    require_lsm()
    with tmpdir() as d:
        denied, other = copy_true(d, "denied"), copy_true(d, "other")
        os.symlink(denied, os.path.join(d, "symlink"))
        os.link(denied, os.path.join(d, "hardlink"))
        os.mkdir(os.path.join(d, "bind"))
        fd = os.open(denied, os.O_PATH)
        ldso = "/lib64/ld-linux-x86-64.so.2"
        r = Result()
        try:
            with policy(["--deny-exec", denied], r):
                for argv, kw in (([denied], {}), ([os.path.join(d, "symlink")], {}),
                                 ([os.path.join(d, "hardlink")], {}), (["./denied"], {"cwd": d}),
                                 ([f"/proc/self/fd/{fd}"], {"pass_fds": [fd]})):
                    assert exec_errno(argv, **kw) == errno.EPERM, argv
                assert probe("execveat", denied) == errno.EPERM
                assert probe("mmap-exec", denied) == errno.EPERM
                assert probe("mprotect-exec", denied) == errno.EPERM
                ld = subprocess.run([ldso, denied], capture_output=True, timeout=30)
                assert ld.returncode == 127 and b"failed to map segment" in ld.stderr, ld
                bind = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {d} {d}/bind"
                                       f" && exec {d}/bind/denied"], capture_output=True)
                assert bind.returncode == 126 and b"Operation not permitted" in bind.stderr, bind
                assert exec_errno([other]) == 0
                assert probe("mmap-exec", other) == 0
                assert exec_errno(["/bin/true"]) == 0
            assert exec_errno([denied]) == 0
        finally:
            os.close(fd)
    hooks = [e["hook"] for e in r.events]
    assert hooks == ["bprm_check_security"] * 6 + ["mmap_file", "file_mprotect", "mmap_file",
                                                   "bprm_check_security"], hooks
    assert r.events[0]["path"] == denied and r.events[0]["action"] == "deny"
    assert r.events[-1]["path"] == f"{d}/bind/denied"
    assert len({(e["dev"], e["ino"]) for e in r.events}) <= 2  # overlayfs: its inode and the real
    assert r.counts == {f"deny-exec {denied}": 10}


def open_errno(path, flags=os.O_RDONLY, **kw):
    try:
        os.close(os.open(path, flags, **kw))
        return 0
    except OSError as e:
        return e.errno


def test_open_denied_by_every_name_and_write_only():
    require_lsm()
    with tmpdir() as d:
        secret, ro, other = (os.path.join(d, n) for n in ("secret", "ro", "other"))
        for p in (secret, ro, other):
            with open(p, "w") as f:
                f.write("data\n")
        os.symlink(secret, os.path.join(d, "symlink"))
        os.link(secret, os.path.join(d, "hardlink"))
        fd = os.open(secret, os.O_PATH)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        r = Result()
        try:
            with policy(["--deny-open", secret, "--deny-open", ro, "--write-only"], r):
                for name in (secret, os.path.join(d, "symlink"), os.path.join(d, "hardlink"),
                             f"/proc/self/fd/{fd}"):
                    assert open_errno(name) == errno.EPERM, name
                assert open_errno("secret", dir_fd=dfd) == errno.EPERM
                assert probe("uring-open", secret) == errno.EPERM
                assert open_errno(ro) == 0
                assert open_errno(ro, os.O_WRONLY) == errno.EPERM
                assert open_errno(ro, os.O_RDWR | os.O_APPEND) == errno.EPERM
                assert open_errno(ro, os.O_RDONLY | os.O_TRUNC) == errno.EPERM
                try:
                    os.truncate(ro, 0)
                    raise AssertionError("truncate() by name was let through")
                except PermissionError:
                    pass
                assert open_errno(other, os.O_RDWR) == 0
            assert open(secret).read() == "data\n" and open(ro).read() == "data\n"
            assert open_errno(secret) == 0
        finally:
            os.close(fd)
            os.close(dfd)
    hooks = [e["hook"] for e in r.events]
    assert hooks == ["file_open"] * 9 + ["path_truncate"], hooks
    # The path as the kernel sees it: the symlink's target, the hard link's own name.
    hard = os.path.join(d, "hardlink")
    assert [e["path"] for e in r.events] == [secret, secret, hard, secret, secret, secret] + \
        [ro] * 4
    assert len({(e["dev"], e["ino"]) for e in r.events[:6]}) == 1
    assert r.counts == {f"deny-open {secret}": 6, f"deny-open write-only {ro}": 4}


def as_uid(uid):
    return lambda: os.setuid(uid)


def test_scope_by_uid_and_cgroup():
    require_lsm()
    cg = f"/sys/fs/cgroup/ebt-lsm-{uuid.uuid4().hex[:8]}"
    os.mkdir(cg)

    def in_cgroup():
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write("0")
    try:
        with tmpdir() as d:
            f = os.path.join(d, "f")
            with open(f, "w") as fh:
                fh.write("x")
            os.chmod(f, 0o644)
            r = Result()
            with policy(["--deny-open", f, "--uid", "65534"], r):
                assert probe("open", f, "r", preexec_fn=as_uid(65534)) == errno.EPERM
                assert probe("open", f, "r") == 0
            assert [e["uid"] for e in r.events] == [65534]
            with policy(["--deny-open", f, "--cgroup", cg], r):
                assert probe("open", f, "r", preexec_fn=in_cgroup) == errno.EPERM
                assert probe("open", f, "r") == 0
            assert len(r.events) == 1 and r.events[0]["comm"] == "lsmprobe"
    finally:
        lib.wait_for(lambda: not open(os.path.join(cg, "cgroup.procs")).read(), what="empty cg")
        os.rmdir(cg)


def test_audit_reports_and_denies_nothing_from_a_policy_file():
    require_lsm()
    with tmpdir() as d:
        f, pol = os.path.join(d, "f"), os.path.join(d, "policy")
        with open(f, "w") as fh:
            fh.write("x")
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        with open(pol, "w") as fh:
            fh.write(f"# audit test\ndeny-open {f}\ndeny-connect 127.0.0.1:{port}\n")
        r = Result()
        try:
            with policy(["--audit", "-f", pol], r):
                assert open_errno(f) == 0
                assert probe("sendto", "127.0.0.1", port) == 0
            assert sink.recv(16) == b"x"
        finally:
            sink.close()
    assert [(e["action"], e["hook"], e["source"]) for e in r.events] == [
        ("audit", "file_open", f"{pol}:2"), ("audit", "socket_sendmsg", f"{pol}:3")]
    assert r.counts == {f"deny-open {f}": 1, f"deny-connect 127.0.0.1:{port}": 1}


def test_a_denial_stands_with_a_second_policy_either_order():
    """Two policies at once: one denying f, one auditing f and g. Whichever was attached first,
    f stays denied and g allowed. (The kernel runs the newest BPF LSM program first and stops at
    the first that returns non-zero, so the audit one sees f only when it was started last.)"""
    require_lsm()
    with tmpdir() as d:
        f, g = os.path.join(d, "f"), os.path.join(d, "g")
        open(f, "w").close()
        open(g, "w").close()
        for audit_last in (True, False):
            deny = Tracer(["lsm-block", "--deny-open", f]) if audit_last else None
            r = Result()
            try:
                with policy(["--audit", "--deny-open", f, "--deny-open", g], r):
                    if not audit_last:
                        deny = Tracer(["lsm-block", "--deny-open", f])
                    assert open_errno(f) == errno.EPERM
                    assert open_errno(g) == 0
            finally:
                deny.stop()
            # Not the other ebpftrace's own open of f, which learns what the kernel calls it.
            seen = [(e["action"], e["path"]) for e in r.events if e["pid"] == os.getpid()]
            assert seen == ([("audit", f)] if audit_last else []) + [("audit", g)], seen
        assert open_errno(f) == 0


def overlay_dir():
    """A writable overlayfs directory (tests/vm's /var/tmp): there stat's device is the upper
    layer's while the kernel checks the overlay's own, so only the learned identity matches."""
    out = subprocess.run(["stat", "-f", "-c", "%T", "/var/tmp"], capture_output=True).stdout
    if out.strip() != b"overlayfs":
        raise lib.Unsupported("needs an overlayfs /var/tmp (tests/vm has one)")
    return "/var/tmp"


def test_overlayfs_file_by_the_identity_the_kernel_gives_it():
    """On overlayfs stat's (device, inode) is not what the hooks see: the rule must still hold.
    A --deny-open of the same file also denies its exec, as exec opens the file first."""
    require_lsm()
    with tmpdir(overlay_dir()) as d:
        f, g = copy_true(d, "t"), copy_true(d, "u")
        st = os.stat(f)
        r = Result()
        with policy(["--deny-exec", f, "--deny-open", g], r):
            assert exec_errno([f]) == errno.EPERM
            assert probe("mmap-exec", f) == errno.EPERM
            assert exec_errno([g]) == errno.EPERM
            assert open_errno(f) == 0
    assert [e["hook"] for e in r.events] == ["bprm_check_security", "mmap_file", "file_open"]
    kernel_id = (r.events[0]["dev"], r.events[0]["ino"])
    stat_id = (f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", st.st_ino)
    assert kernel_id != stat_id, (kernel_id, stat_id)


def test_policy_gone_after_sigint_and_sigkill():
    require_lsm()
    with tmpdir() as d:
        f = os.path.join(d, "f")
        open(f, "w").close()
        for sig in (signal.SIGINT, signal.SIGKILL):
            t = Tracer(["lsm-block", "--deny-open", f])
            assert open_errno(f) == errno.EPERM
            t.proc.send_signal(sig)
            t.proc.wait(timeout=30)
            lib.wait_for(lambda: open_errno(f) == 0, what=f"open allowed after {sig.name}")
            assert_nothing_loaded()


def test_table_output():
    require_lsm()
    with tmpdir() as d:
        f = os.path.join(d, "f")
        open(f, "w").close()
        t = Tracer(["lsm-block", "--deny-open", f])
        assert open_errno(f) == errno.EPERM
        rc, out, err = t.stop()
    lines = out.decode().splitlines()
    assert rc == 0, err
    assert lines[0].split() == ["PID", "PPID", "UID", "COMM", "ACTION", "HOOK", "TARGET", "RULE"]
    row = lines[1].split()
    assert row[0] == str(os.getpid()) and row[4:7] == ["deny", "file_open", f], row
    assert lines[-2].split() == ["MATCHES", "RULE", "SOURCE"]
    assert lines[-1].split() == ["1", "deny-open", f, "command", "line"]


def test_metrics_count_decisions_per_rule_and_action():
    require_lsm()
    from test_metrics import Served, promtool_check, samples, value
    socks, (p1, p2) = listener(socket.AF_INET)
    try:
        with Served(["lsm-block", "--quiet", "--deny-connect", f"127.0.0.1:{p1}",
                     "--deny-connect", f"127.0.0.1:{p2}"]) as s:
            for _ in range(3):
                assert probe("connect", "127.0.0.1", p1) == errno.EPERM
            assert probe("connect", "127.0.0.2", p1) == 0
            text = s.scrape()
    finally:
        for sock in socks:
            sock.close()
    promtool_check(text)
    smp = samples(text)
    name = "ebpftrace_lsm_block_decisions_total"
    assert value(smp, name, rule=f"deny-connect 127.0.0.1:{p1}", action="deny",
                 hook="socket_connect") == 3, text
    assert not [k for k in smp if k[0] == name and ("rule", f"deny-connect 127.0.0.1:{p2}")
                in k[1]], text
