"""ebpftrace tcprtt on the running kernel: RTT histograms of TCP ping-pongs between two network
namespaces of ours (test_tcpstates' veth pair)."""
import subprocess

from lib import assert_usage_error, json_lines, run
from test_tcpstates import ADDRS, SERVER_PORT, netns_pair
import lib

ROUNDS = 50

ECHO = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
print('ready', flush=True)
a, _ = s.accept()
a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while a.recv(1):
    for _ in range(3):
        a.sendall(b'x')
"""

PING = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(int(sys.argv[3])):
    c.sendall(b'x')
    got = b''
    while len(got) < 3:
        got += c.recv(3 - len(got))
c.close()
"""


def ping_pong(cli, srv):
    """ROUNDS round trips from cli to srv over IPv4, one byte out and three back in segments of
    their own: the server receives ROUNDS data segments, and at most as many pure ACKs and a few
    of the handshake and the close; the client more (up to three times as many data segments)."""
    server = subprocess.Popen(["ip", "netns", "exec", srv, "python3", "-c", ECHO, ADDRS[4][1],
                               str(SERVER_PORT)], stdout=subprocess.PIPE)
    try:
        assert server.stdout.readline() == b"ready\n"
        subprocess.run(["ip", "netns", "exec", cli, "python3", "-c", PING, ADDRS[4][1],
                        str(SERVER_PORT), str(ROUNDS)], check=True, timeout=60)
        server.wait(timeout=20)
    finally:
        server.kill()
        server.wait()


def hists_by(by, extra=()):
    with netns_pair() as (cli, srv):
        t = lib.Tracer(["tcprtt", "--json", "--by", by] + list(extra))
        ping_pong(cli, srv)
        rc, out, err = t.stop()
    assert rc == 0, err
    return {h["key"][by]: h for h in json_lines(out, "hist")}


def check(h, unit="usecs", client=False):
    if client:
        assert h["count"] > 2 * ROUNDS + 5, h
    else:
        assert ROUNDS <= h["count"] <= 2 * ROUNDS + 5, h
    assert h["unit"] == unit and h["count"] == sum(b["count"] for b in h["buckets"]), h
    assert h["p50"] <= h["p99"] < (1000000 if unit == "usecs" else 1000), h


def test_by_remote_and_local_address():
    got = hists_by("raddr")
    check(got["198.51.100.1"])  # the server's samples
    check(got["198.51.100.2"], client=True)
    got = hists_by("laddr")
    check(got["198.51.100.2"])
    check(got["198.51.100.1"], client=True)


def test_by_port_in_milliseconds():
    check(hists_by("lport", ["-m"])[SERVER_PORT], "msecs")
    check(hists_by("rport")[SERVER_PORT], client=True)


METHODS = ("tp_btf", "tracepoint")


def test_each_method_samples_the_same():
    """tp_btf reads srtt and both ends from the socket; the tracepoint's perf event from its
    record: forced, each gives the same keys and counts, and -v names it."""
    methods = lib.usable_methods(METHODS, "tracepoint")
    for method in methods:
        got = hists_by("raddr", ["--method", method])
        check(got["198.51.100.1"])
        check(got["198.51.100.2"], client=True)
        check(hists_by("lport", ["--method", method])[SERVER_PORT])
    lib.assert_methods_forced_and_reported("tcprtt", methods)


def test_both_methods_at_once_give_identical_histograms():
    """Both read the same srtt at the same tracepoint hit: traced side by side, the histograms of
    our two addresses are the same to the bucket."""
    methods = lib.usable_methods(METHODS, "tracepoint")
    if len(methods) < 2:
        return  # the method left out is a skip of its own (usable_methods)
    with netns_pair() as (cli, srv):
        tracers = [lib.Tracer(["tcprtt", "--json", "--by", "raddr", "--method", m])
                   for m in methods]
        ping_pong(cli, srv)
        outs = []
        for t in tracers:
            rc, out, err = t.stop()
            assert rc == 0, err
            hists = {h["key"]["raddr"]: h for h in json_lines(out, "hist")}
            outs.append({a: hists[a]["buckets"] for a in ADDRS[4]})
    assert outs[0] == outs[1], outs


def test_intervals_print_a_histogram_each():
    p = run(["tcprtt", "--json", "0.3", "2"])
    assert p.returncode == 0, p.stderr
    hists = json_lines(p.stdout, "hist")
    assert len(hists) == 2 and all("key" not in h or h["key"] == {} for h in hists), hists


def test_bad_input_is_a_one_line_usage_error():
    assert_usage_error(["tcprtt", "--by", "foo"], r"invalid --by 'foo'")
    assert_usage_error(["tcprtt", "--count", "3"], r"--count does not apply")
    assert_usage_error(["tcprtt", "0"], r"invalid interval '0'")
    assert_usage_error(["tcprtt", "1", "2", "3"], r"unexpected argument '3'")
