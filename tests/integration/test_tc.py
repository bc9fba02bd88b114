"""ebpftrace tc on the running kernel, with packets between two network namespaces the test makes.

Every packet goes over a veth pair whose ends are in two fresh namespaces, A and B, with addresses
from 198.51.100.0/24 and 2001:db8::/64; ebpftrace runs in B (`ip netns exec`) on B's end. The
host's own interfaces are never touched, and the namespaces are deleted after each test.

On this host (6.6+) ebpftrace attaches with TCX; in tests/vm (6.1) it falls back to a clsact qdisc
and cls_bpf filters, and the TCX-only tests say so and skip there. `--attach clsact` runs the
fallback on this host too.
"""
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import lib
from lib import BINARY, Tracer, assert_usage_error, helper, json_lines, wait_for
from test_metrics import free_port, promtool_check, samples, value

_ids = itertools.count()
A4, B4 = "198.51.100.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
# The VLAN sub-interfaces: a second /26 of the same documentation range.
VA4, VB4 = "198.51.100.65", "198.51.100.66"


def sh(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), capture_output=True, check=check, timeout=60, **kw)


class Pair:
    """Namespaces A and B joined by a veth pair (dev_a in A, dev_b in B), addresses set, up."""

    def __init__(self):
        n = f"{os.getpid() % 100000}x{next(_ids)}"
        self.ns_a, self.ns_b = f"ebtA{n}", f"ebtB{n}"
        self.dev_a, self.dev_b = f"eta{n}", f"etb{n}"
        sh("ip", "netns", "add", self.ns_a)
        try:
            sh("ip", "netns", "add", self.ns_b)
            self._link()
        except BaseException:
            self.close()
            raise

    def _link(self):
        sh("ip", "link", "add", self.dev_a, "netns", self.ns_a, "type", "veth", "peer", "name",
           self.dev_b, "netns", self.ns_b)
        for ns, dev, v4, v6 in ((self.ns_a, self.dev_a, A4, A6), (self.ns_b, self.dev_b, B4, B6)):
            sh("ip", "-n", ns, "addr", "add", v4 + "/26", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", v6 + "/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def add_vlan(self, vid):
        for ns, dev, addr in ((self.ns_a, self.dev_a, VA4), (self.ns_b, self.dev_b, VB4)):
            sh("ip", "-n", ns, "link", "add", "link", dev, "name", f"{dev}.v", "type", "vlan",
               "id", str(vid))
            sh("ip", "-n", ns, "addr", "add", addr + "/26", "dev", f"{dev}.v")
            sh("ip", "-n", ns, "link", "set", f"{dev}.v", "up")

    def static_neighbors(self):
        """Each end knows the other's MAC for good: no neighbor discovery packets at all."""
        macs = {}
        for ns, dev in ((self.ns_a, self.dev_a), (self.ns_b, self.dev_b)):
            link = sh("ip", "-n", ns, "-o", "link", "show", dev).stdout.decode()
            macs[ns] = re.search(r"link/ether ([0-9a-f:]+)", link).group(1)
        for ns, dev, peer, addrs in ((self.ns_a, self.dev_a, self.ns_b, (B4, B6)),
                                     (self.ns_b, self.dev_b, self.ns_a, (A4, A6))):
            for addr in addrs:
                sh("ip", "-n", ns, "neigh", "replace", addr, "lladdr", macs[peer], "nud",
                   "permanent", "dev", dev)

    def in_a(self, *cmd, **kw):
        return sh("ip", "netns", "exec", self.ns_a, *cmd, **kw)

    def in_b(self, *cmd, **kw):
        return sh("ip", "netns", "exec", self.ns_b, *cmd, **kw)

    def ping(self, dst, n, interval="0.01"):
        p = self.in_a("ping", "-q", "-c", str(n), "-i", interval, "-W", "2", dst, check=False)
        assert p.returncode == 0, p.stdout + p.stderr

    def tc_state(self):
        """What tc and bpftool show on B's device: the text to look for our programs in."""
        out = b""
        for d in ("ingress", "egress"):
            out += self.in_b("tc", "filter", "show", "dev", self.dev_b, d, check=False).stdout
        return (out + self.in_b("bpftool", "net", "show", "dev", self.dev_b).stdout).decode()

    def close(self):
        for ns in (self.ns_a, self.ns_b):
            sh("ip", "netns", "del", ns, check=False)


@contextlib.contextmanager
def pair():
    p = Pair()
    try:
        yield p
    finally:
        p.close()


class NsTracer(Tracer):
    """ebpftrace running in namespace ns, attached once started."""

    def __init__(self, ns, args):
        super().__init__(args, prefix=["ip", "netns", "exec", ns])

    @property
    def method(self):
        return re.search(rb"with (\w+)\.", self.stderr).group(1).decode()


def tc_events(p, args, action, type_="packet"):
    """The objects of `ebpftrace tc DEV_B --json ARGS` while action() runs, after a clean exit."""
    t = NsTracer(p.ns_b, ["tc", p.dev_b, "--json"] + args)
    action()
    rc, out, err = t.stop()
    assert rc == 0, err
    assert "ebpftrace_tc" not in p.tc_state()
    return json_lines(out, type_), err


def echo_requests(events, src, dst, icmp_type=8):
    return [e for e in events if e.get("icmp_type") == icmp_type and e.get("src") == src
            and e.get("dst") == dst]


def test_bad_interface_rule_or_options():
    assert_usage_error(["tc", "ebtnosuchdev0"], r"no network interface 'ebtnosuchdev0'")
    assert_usage_error(["tc", "lo", "--drop", "tcp:dport=http"], r"invalid --drop 'tcp:dport=http'")
    assert_usage_error(["tc", "lo", "--drop", "tcp:dprt=80"], r"invalid --drop")
    assert_usage_error(["tc", "lo", "--host", "198.51.100.0/33"], r"invalid --host")
    assert_usage_error(["tc", "lo", "--stats", "-w", "/dev/null"], r"two modes")
    assert_usage_error(["tc", "lo", "-p", "1"], r"do not apply to packets")
    assert_usage_error(["tc"], r"no DEV given")
    assert_usage_error(["tc", "lo", "--attach", "xdp"], r"invalid --attach 'xdp'")


def test_100_pings_are_100_echo_requests():
    with pair() as p:
        events, _ = tc_events(p, [], lambda: p.ping(B4, 100))
    requests = echo_requests(events, A4, B4)
    assert len(requests) == 100, len(requests)
    for e in requests:
        assert (e["ifname"], e["direction"], e["l3"], e["proto"]) == (p.dev_b, "ingress", "ipv4",
                                                                    "icmp")
        assert e["len"] == 98 and e["ttl"] == 64 and e["icmp_code"] == 0, e
    # Ingress only: B's replies are not there.
    assert not [e for e in events if e.get("src") == B4]


def test_100_ipv6_pings_both_directions():
    with pair() as p:
        events, _ = tc_events(p, ["--ingress", "--egress"], lambda: p.ping(B6, 100))
    requests = echo_requests(events, A6, B6, 128)
    replies = echo_requests(events, B6, A6, 129)
    assert len(requests) == 100 and len(replies) == 100, (len(requests), len(replies))
    assert {e["direction"] for e in requests} == {"ingress"}
    assert {e["direction"] for e in replies} == {"egress"}
    assert all(e["len"] == 118 and e["ttl"] == 64 and e["l3"] == "ipv6" for e in requests)


def stats_totals(rows):
    """The last report's rows (the one at exit: totals), by direction and protocol or flow."""
    protos = {(r["direction"], r["proto"]): (r["packets"], r["bytes"])
              for r in rows if r["type"] == "proto"}
    flows = {(r["src"], r["dst"], r["direction"]): (r["packets"], r["bytes"])
             for r in rows if r["type"] == "flow"}
    return protos, flows


def test_stats_count_exactly():
    with pair() as p:
        p.static_neighbors()
        # The IPv6 link-local chatter (router solicitations, MLD) is left out by --host.
        tracers = [NsTracer(p.ns_b, ["tc", p.dev_b, "--json", "--egress", "--ingress"] + args)
                   for args in (["--stats", "10", "--proto", "icmp"],
                                ["--stats", "--host", "2001:db8::/64"])]
        p.ping(B4, 100)
        p.ping(B6, 100)
        (rc4, out4, err4), (rc, out, err) = [t.stop() for t in tracers]
        assert "ebpftrace_tc" not in p.tc_state()
    assert rc4 == 0 and rc == 0, (err4, err)
    protos, flows = stats_totals(json_lines(out4))
    assert protos == {("ingress", "icmp"): (100, 9800), ("egress", "icmp"): (100, 9800)}, protos
    assert flows == {(A4, B4, "ingress"): (100, 9800), (B4, A4, "egress"): (100, 9800)}, flows
    protos, flows = stats_totals(json_lines(out))
    assert protos == {("ingress", "icmpv6"): (100, 11800), ("egress", "icmpv6"): (100, 11800)}
    assert flows == {(A6, B6, "ingress"): (100, 11800), (B6, A6, "egress"): (100, 11800)}, flows


SEND_FRAMES = """
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
head = bytes.fromhex(sys.argv[2]) + s.getsockname()[4]
for frame in sys.argv[3:]:
    s.send(head + bytes.fromhex(frame))
"""


def send_frames(p, frames):
    """Ethernet frames from A to B, as given after the MAC addresses (type first)."""
    link = p.in_b("ip", "-o", "link", "show", p.dev_b).stdout.decode()
    mac = re.search(r"link/ether ([0-9a-f:]+)", link).group(1).replace(":", "")
    p.in_a("python3", "-c", SEND_FRAMES, p.dev_a, mac, *[f.hex() for f in frames])


def ipv4(proto, payload, frag_off=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag_off, 64, proto, 0,
                       socket.inet_aton(A4), socket.inet_aton(B4)) + payload


def ipv6(next_header, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64,
                       socket.inet_pton(socket.AF_INET6, A6),
                       socket.inet_pton(socket.AF_INET6, B6)) + payload


ICMP_ECHO = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + b"ebpftrace"
UDP = struct.pack("!HHHH", 1111, 2222, 12, 0) + b"abcd"


def ext(next_header):
    """An 8-byte IPv6 options header (hop-by-hop or destination options) of padding."""
    return bytes([next_header, 0, 1, 4, 0, 0, 0, 0])


def test_vlan_tags_fragments_and_extension_headers():
    frames = {
        "vlan": b"\x81\x00" + struct.pack("!H", 100) + b"\x08\x00" + ipv4(1, ICMP_ECHO),
        "qinq": b"\x88\xa8" + struct.pack("!H", 200) + b"\x81\x00" + struct.pack("!H", 300) +
                b"\x08\x00" + ipv4(1, ICMP_ECHO),
        "frag4": b"\x08\x00" + ipv4(17, UDP, frag_off=185),
        "ext6": b"\x86\xdd" + ipv6(0, ext(60) + ext(17) + UDP),
        "frag6": b"\x86\xdd" + ipv6(44, bytes([17, 0, 0, 8 << 3, 0, 0, 0, 1]) + UDP),
        "deep6": b"\x86\xdd" + ipv6(60, ext(60) * 6 + ext(17) + UDP),
    }
    with pair() as p:
        events, _ = tc_events(p, [], lambda: send_frames(p, frames.values()))
    got = [e for e in events if e.get("src") in (A4, A6)]
    assert len(got) == len(frames), got
    vlan, qinq, frag4, ext6, frag6, deep6 = got
    assert (vlan["vlan"], vlan["proto"], vlan["icmp_type"]) == (100, "icmp", 8), vlan
    assert vlan["len"] == len(frames["vlan"]) + 12 and "vlan_inner" not in vlan, vlan
    assert (qinq["vlan"], qinq["vlan_inner"], qinq["dst"]) == (200, 300, B4), qinq
    assert frag4["fragment"] and frag4["proto"] == "udp" and "sport" not in frag4, frag4
    assert (ext6["proto"], ext6["sport"], ext6["dport"], ext6["ttl"]) == ("udp", 1111, 2222, 64)
    assert frag6["fragment"] and frag6["proto"] == "udp" and "dport" not in frag6, frag6
    assert deep6["truncated"] and "dport" not in deep6, deep6


def test_sample_one_in_ten_per_cpu():
    with pair() as p:
        events, _ = tc_events(p, ["--sample", "10", "--proto", "icmp"], lambda: p.ping(B4, 100))
    n = len(echo_requests(events, A4, B4))
    # The first packet on each CPU and every tenth after it: 10 on one CPU, at most 11 on two.
    assert 10 <= n <= 11, n


def read_capture(path):
    """(src, dst, length) of each packet of a capture file, as tcpdump reads it."""
    out = sh("tcpdump", "-nn", "-e", "-r", path).stdout.decode()
    rows = []
    for line in out.splitlines():
        m = re.search(r"length (\d+): ([\d.:a-f]+) > ([\d.:a-f]+):", line)
        assert m, line
        rows.append((m.group(2), m.group(3), int(m.group(1))))
    return rows, out


def test_capture_matches_the_log(tmp="/tmp"):
    path = os.path.join(tmp, f"ebpftrace-tc-test-{os.getpid()}.pcap")
    try:
        with pair() as p:
            writer = NsTracer(p.ns_b, ["tc", p.dev_b, "--proto", "icmp", "-w", path])
            logger = NsTracer(p.ns_b, ["tc", p.dev_b, "--proto", "icmp", "--json"])
            p.ping(B4, 20)
            rc, logged, err = logger.stop()
            assert rc == 0, err
            rc, out, err = writer.stop()
            assert rc == 0 and out == b"", err
            assert "ebpftrace_tc" not in p.tc_state()
        events = json_lines(logged, "packet")
        rows, text = read_capture(path)
        linktype = sh("tcpdump", "-r", path).stderr.decode()
    finally:
        if os.path.exists(path):
            os.unlink(path)
    logged = [(e["src"], e["dst"], e["len"]) for e in events]
    assert len(rows) == 20 and rows == logged, (rows, logged)
    assert text.count("ICMP echo request") == 20
    assert "link-type EN10MB" in linktype, linktype


def test_capture_both_directions_to_stdout():
    with pair() as p:
        t = NsTracer(p.ns_b, ["tc", p.dev_b, "--ingress", "--egress", "--proto", "icmp",
                              "-w", "-"])
        p.ping(B4, 10)
        rc, out, err = t.stop()
    assert rc == 0, err
    r = subprocess.run(["tcpdump", "-nn", "-r", "-"], input=out, capture_output=True)
    text = r.stdout.decode()
    assert "LINUX_SLL2" in r.stderr.decode(), r.stderr
    assert len(re.findall(r" In .*198\.51\.100\.1 > 198\.51\.100\.2: ICMP echo request", text)) \
        == 10, text
    assert len(re.findall(r" Out .*198\.51\.100\.2 > 198\.51\.100\.1: ICMP echo reply", text)) \
        == 10, text


def pcap_records(path):
    """(caplen, len, bytes) of each record of a pcap file (libpcap's own format)."""
    with open(path, "rb") as f:
        data = f.read()
    off, out = 24, []
    while off < len(data):
        _, _, caplen, length = struct.unpack_from("<IIII", data, off)
        out.append((caplen, length, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


SEND_BULK = """
import socket, sys
s = socket.create_connection((sys.argv[1], 9000))
s.sendall(b"x" * int(sys.argv[2]))
s.close()
"""


def test_capture_copies_gso_packets_whole(tmp="/tmp"):
    """A bulk TCP transfer: GSO packets of up to 64 KiB, each written whole, its last byte too,
    and the data frames cover the 8 MiB sent (Ethernet, IPv4 and TCP with timestamps: 66 bytes
    of headers). veth moves the 8 MiB faster than a reader on a loaded host empties -w's 8 MiB
    default ring (CI saw 4 lost), so the ring holds the whole transfer: what is tested is that
    each packet is copied whole, not how fast the reader is."""
    path = os.path.join(tmp, f"ebpftrace-tc-gso-{os.getpid()}.pcap")
    try:
        with pair() as p:
            server = subprocess.Popen(
                ["ip", "netns", "exec", p.ns_b, "python3", "-c",
                 "import socket\n"
                 "c, _ = socket.create_server(('198.51.100.2', 9000)).accept()\n"
                 "while c.recv(1 << 20): pass\n"])
            t = NsTracer(p.ns_b, ["tc", p.dev_b, "--proto", "tcp", "-w", path,
                                    "--ringbuf-size", "32M"])
            p.in_a("python3", "-c", SEND_BULK, B4, str(8 << 20))
            server.wait(timeout=30)
            rc, _, err = t.stop()
        assert rc == 0, err
        records = pcap_records(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    assert all(caplen == length for caplen, length, _ in records), \
        [(c, n) for c, n, _ in records if c != n][:10]
    big = [frame for _, length, frame in records if length > 9216]
    assert big, sorted({n for _, n, _ in records})
    assert all(frame.endswith(b"x" * 64) for frame in big)
    # The stream the data frames cover (sequence numbers: a retransmission covers nothing new).
    data = [(struct.unpack_from(">I", f, 38)[0], len(f) - 66) for _, _, f in records
            if f.endswith(b"x")]
    ends = [((seq - data[0][0]) % (1 << 32)) + n for seq, n in data]
    starts = [(seq - data[0][0]) % (1 << 32) for seq, _ in data]
    assert max(ends) - min(starts) == 8 << 20, (min(starts), max(ends))


def test_capture_ring_is_8m_unless_given():
    """-w's own default ring (8M, room for 128 GSO packets) gives way to --ringbuf-size, also to
    the common default's value: 1M given is 1M."""
    sizes = {}
    with pair() as p:
        for given in (None, "1M", "32M"):
            t = NsTracer(p.ns_b, ["tc", p.dev_b, "-w", "/dev/null"] +
                         (["--ringbuf-size", given] if given else []))
            sizes[given] = lib.ringbuf_sizes(t.proc.pid)
            rc, _, err = t.stop()
            assert rc == 0, err
    assert sizes == {None: [8 << 20], "1M": [1 << 20], "32M": [32 << 20]}, sizes


def tcp_out_segments(p):
    """Segments namespace A's TCP has sent: new ones (OutSegs) and retransmitted ones."""
    snmp = p.in_a("cat", "/proc/net/snmp").stdout.decode().splitlines()
    head, vals = [line.split() for line in snmp if line.startswith("Tcp:")]
    return int(vals[head.index("OutSegs")]) + int(vals[head.index("RetransSegs")])


CONNECT = """
import socket, sys
s = socket.socket()
s.settimeout(2.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except OSError as e:
    print("failed", e)
"""


SCRAPE = """
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10) as r:
    sys.stdout.write(r.read().decode())
"""


def scrape_in(p, port):
    """/metrics of an ebpftrace serving on 127.0.0.1:port in namespace B."""
    r = p.in_b("python3", "-c", SCRAPE, str(port), check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_metrics_count_100_pings_in_every_mode(tmp="/tmp"):
    path = os.path.join(tmp, f"ebpftrace-tc-metrics-{os.getpid()}.pcap")
    modes = {"log": ["--quiet"], "pcap": ["-w", path], "stats": ["--stats", "60", "--quiet"]}
    ports = {mode: free_port() for mode in modes}
    try:
        with pair() as p:
            p.static_neighbors()
            tracers = {mode: NsTracer(p.ns_b, ["tc", p.dev_b, "--ingress", "--egress",
                                               "--metrics", str(ports[mode])] + args)
                       for mode, args in modes.items()}
            p.ping(B4, 100)
            texts = {mode: scrape_in(p, ports[mode]) for mode in modes}
            for t in tracers.values():
                rc, _, err = t.stop()
                assert rc == 0, err
            assert "ebpftrace_tc" not in p.tc_state()
    finally:
        if os.path.exists(path):
            os.unlink(path)
    for mode, text in texts.items():
        promtool_check(text)
        smp = samples(text)
        for d in ("ingress", "egress"):
            got = [value(smp, f"ebpftrace_tc_{what}_total", direction=d, protocol="icmp")
                   for what in ("packets", "bytes")]
            assert got == [100, 9800], (mode, d, got, text)
        assert "# TYPE ebpftrace_tc_drops_total counter" in text, text


def test_drop_rule_blocks_one_port():
    with pair() as p:
        server = subprocess.Popen(
            ["ip", "netns", "exec", p.ns_b, "python3", "-c",
             "import socket, time\n"
             "ls = [socket.create_server(('198.51.100.2', port)) for port in (8080, 8081)]\n"
             "print('up', flush=True)\n"
             "time.sleep(30)"], stdout=subprocess.PIPE)
        try:
            assert server.stdout.readline() == b"up\n"
            port = free_port()
            t = NsTracer(p.ns_b, ["tc", p.dev_b, "--json", "--drop", "tcp:dport=8080",
                                  "--drop", "udp", "--metrics", str(port)])
            before = tcp_out_segments(p)
            blocked = p.in_a("python3", "-c", CONNECT, B4, "8080").stdout.decode()
            syns = tcp_out_segments(p) - before
            allowed = p.in_a("python3", "-c", CONNECT, B4, "8081").stdout.decode()
            scraped = samples(scrape_in(p, port))
            rc, out, err = t.stop()
        finally:
            server.kill()
            server.wait()
    assert rc == 0, err
    assert blocked.startswith("failed") and allowed.startswith("connected"), (blocked, allowed)
    drops = json_lines(out, "drop")
    assert drops == [{"type": "drop", "rule": "tcp:dport=8080", "packets": syns},
                     {"type": "drop", "rule": "udp", "packets": 0}], (drops, syns)
    assert value(scraped, "ebpftrace_tc_drops_total", rule="tcp:dport=8080") == syns, scraped
    assert ("ebpftrace_tc_drops_total", frozenset({("rule", "udp")})) in scraped, scraped
    assert syns >= 2
    logged = [e for e in json_lines(out, "packet") if e.get("dropped")]
    assert len(logged) == syns and all(e["dport"] == 8080 and e["tcp_flags"] == "SYN"
                                       for e in logged), logged


class Counter:
    """tests/helpers/tc_counter: another tool's program on B's ingress (TCX, or a cls_bpf filter
    of priority 10 under a clsact qdisc the test adds), counting IPv4 ICMP packets."""

    def __init__(self, p, how, add_qdisc=True):
        if how == "clsact" and add_qdisc:
            p.in_b("tc", "qdisc", "add", "dev", p.dev_b, "clsact")
        self.proc = subprocess.Popen(["ip", "netns", "exec", p.ns_b, helper("tc_counter"), how,
                                      p.dev_b], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        if self.proc.stdout.readline() != b"ready\n":
            rc, err = self.proc.wait(), self.proc.stderr.read()
            if rc == 3:
                raise lib.Unsupported(f"the kernel has no TCX (6.6+): {err!r}")
            raise AssertionError(f"tc_counter {how}: exit {rc}: {err!r}")

    def count(self):
        out, err = self.proc.communicate(b"", timeout=10)
        assert self.proc.returncode == 0, err
        return int(out)


def check_coexists_with_clsact(args):
    with pair() as p:
        counter = Counter(p, "clsact")
        events, err = tc_events(p, args + ["--proto", "icmp"], lambda: p.ping(B4, 30))
        seen = counter.count()
        filters = p.in_b("tc", "filter", "show", "dev", p.dev_b, "ingress").stdout.decode()
        qdiscs = p.in_b("tc", "qdisc", "show", "dev", p.dev_b).stdout.decode()
    assert len(echo_requests(events, A4, B4)) == 30
    assert seen == 30, seen  # ours let every packet on to the test's filter
    assert "test_tc_count" in filters and "ebpftrace" not in filters, filters
    assert "clsact" in qdiscs, qdiscs


def test_clsact_filter_of_others_survives():
    check_coexists_with_clsact([])


def test_clsact_fallback_keeps_qdisc_and_filter_of_others():
    check_coexists_with_clsact(["--attach", "clsact"])


def test_clsact_qdisc_we_added_is_removed():
    with pair() as p:
        events, _ = tc_events(p, ["--attach", "clsact", "--ingress", "--egress"],
                              lambda: p.ping(B4, 3))
        qdiscs = p.in_b("tc", "qdisc", "show", "dev", p.dev_b).stdout.decode()
    assert len(events) >= 6
    assert "clsact" not in qdiscs, qdiscs


def test_second_tcx_program_sees_every_packet():
    with pair() as p:
        counter = Counter(p, "tcx")
        try:
            t = NsTracer(p.ns_b, ["tc", p.dev_b, "--stats=60", "--json", "--top", "0"])
            p.ping(B4, 50)
            rc, out, err = t.stop()
            state = p.tc_state()
        finally:
            counted = counter.count()
    assert rc == 0, err
    ours = [r for r in json_lines(out, "proto") if r["proto"] == "icmp"]
    assert ours[-1]["packets"] == 50 and counted == 50, (ours, counted)
    assert "test_tc_count" in state and "ebpftrace_tc" not in state, state


def wait_exit(t, timeout=15):
    try:
        return t.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        t.kill()
        raise AssertionError("ebpftrace did not exit")


@contextlib.contextmanager
def attached(args=()):
    with pair() as p:
        t = NsTracer(p.ns_b, ["tc", p.dev_b, "--ingress", "--egress"] + list(args))
        try:
            assert "ebpftrace_tc" in p.tc_state()
            yield p, t
        finally:
            t.kill()


def check_signal_cleans_up(sig, args=()):
    with attached(args) as (p, t):
        t.proc.send_signal(sig)
        assert wait_exit(t) == 0, t.proc.stderr.read()
        state = p.tc_state()
        qdiscs = p.in_b("tc", "qdisc", "show", "dev", p.dev_b).stdout.decode()
    assert "ebpftrace_tc" not in state, state
    assert "clsact" not in qdiscs, qdiscs


def test_ctrl_c_and_sigterm_leave_nothing():
    for sig in (signal.SIGINT, signal.SIGTERM):
        check_signal_cleans_up(sig)


def test_ctrl_c_and_sigterm_leave_nothing_clsact():
    for sig in (signal.SIGINT, signal.SIGTERM):
        check_signal_cleans_up(sig, ["--attach", "clsact"])


def test_closed_pipe_leaves_nothing():
    with pair() as p:
        r, w = os.pipe()
        t = subprocess.Popen(["ip", "netns", "exec", p.ns_b, BINARY, "tc", p.dev_b], stdout=w,
                             stderr=subprocess.PIPE)
        os.close(w)
        head = subprocess.Popen(["head", "-1"], stdin=r, stdout=subprocess.PIPE)
        os.close(r)
        err = b""
        while b"Tracing" not in err:
            chunk = os.read(t.stderr.fileno(), 4096)
            assert chunk, err
            err += chunk
        deadline = time.monotonic() + 20
        while t.poll() is None and time.monotonic() < deadline:
            p.ping(B4, 2)
        assert t.wait(5) == 0
        assert head.stdout.read().split()[:2] == [b"TIME", b"IFACE"]
        head.wait()
        assert "ebpftrace_tc" not in p.tc_state()


def test_sigkill_leaves_nothing_with_tcx():
    with attached() as (p, t):
        if t.method != "tcx":
            raise lib.Unsupported("the kernel has no TCX (6.6+); SIGKILL on clsact is the next test")
        t.proc.kill()
        wait_exit(t)
        wait_for(lambda: "ebpftrace_tc" not in p.tc_state(), 5, "the TCX links to go")


def check_sigkill_then_cleanup(p, t):
    other = Counter(p, "clsact", add_qdisc=False)  # under the qdisc ebpftrace added
    other.count()
    t.proc.kill()
    wait_exit(t)
    left = p.tc_state()
    assert "ebpftrace_tc_in" in left and "ebpftrace_tc_eg" in left, left
    c = subprocess.run(["ip", "netns", "exec", p.ns_b, BINARY, "tc", p.dev_b, "--cleanup"],
                       capture_output=True, timeout=30)
    assert c.returncode == 0 and b"removed 2 filters of ours" in c.stderr, c.stderr
    after = p.tc_state()
    assert "ebpftrace_tc" not in after and "test_tc_count" in after, after


def test_sigkill_on_clsact_leaves_filters_that_cleanup_removes():
    with attached(["--attach", "clsact"]) as (p, t):
        check_sigkill_then_cleanup(p, t)


def test_interface_going_away():
    with attached() as (p, t):
        p.in_a("ip", "link", "del", p.dev_a)
        wait_exit(t)
        rc, _, err = t.wait()
        err = err.decode()
    assert rc == 1 and "went away" in err, (rc, err)
