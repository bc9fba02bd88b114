#!/bin/bash
# The cost of ebpftrace tc per packet: an iperf3 TCP bulk transfer across a veth pair between two
# fresh network namespaces (198.51.100.0/24), without anything, with ebpftrace tc in each mode on
# the receiving end's ingress, and with tcpdump -w on the same device. Root; prints one line per
# case: throughput, packets (skbs: GSO packets of up to 64 KiB) the receiving device took, the
# transfer's time per packet, and the run time of our BPF program per packet as the kernel counts
# it (BPF_ENABLE_STATS, held by this script only while it runs: the kernel turns the counting off
# again when the holder exits). The transfer's figures move with the machine's load; the
# program's run time does not.
#
#   bench/tc-cost.sh [SECONDS]   (default 5)
set -euo pipefail

secs=${1:-5}
bin=$(cd "$(dirname "$0")/.." && pwd)/build/ebpftrace
a=ebtbenchA$$ b=ebtbenchB$$ pcap=/tmp/ebpftrace-tc-bench-$$.pcap
cleanup() {
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -f "$pcap"
}
trap cleanup EXIT

# Run-time statistics of BPF programs, while this process holds the fd BPF_ENABLE_STATS returns.
python3 -c '
import ctypes, os, sys, time
attr = ctypes.create_string_buffer(16)  # type 0: BPF_STATS_RUN_TIME
fd = ctypes.CDLL(None, use_errno=True).syscall(321, 32, attr, 16)
if fd < 0:
    sys.exit("BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
while os.getppid() != 1:
    time.sleep(0.5)
' &
stats=$!
trap 'kill $stats 2>/dev/null; cleanup' EXIT

ip netns add "$a"
ip netns add "$b"
ip link add bencha netns "$a" type veth peer name benchb netns "$b"
ip -n "$a" addr add 198.51.100.1/24 dev bencha
ip -n "$b" addr add 198.51.100.2/24 dev benchb
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set bencha up
ip -n "$b" link set benchb up
ip netns exec "$b" iperf3 -s -D -1 -B 198.51.100.2 >/dev/null 2>&1 || true

rx_packets() {
	ip netns exec "$b" cat /sys/class/net/benchb/statistics/rx_packets
}

# One transfer with "$@" running in b (nothing when no arguments); prints the line.
measure() {
	local name=$1 pid="" before after bps
	shift
	ip netns exec "$b" iperf3 -s -D -1 -B 198.51.100.2 >/dev/null 2>&1
	if [ $# -gt 0 ]; then
		ip netns exec "$b" "$@" >/dev/null 2>/tmp/ebpftrace-tc-bench-$$.err &
		pid=$!
		sleep 1.5
	fi
	sleep 0.2
	before=$(rx_packets)
	bps=$(ip netns exec "$a" iperf3 -c 198.51.100.2 -t "$secs" -J |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
	after=$(rx_packets)
	prog=""
	if [ -n "$pid" ]; then
		prog=$(bpftool -j prog show name ebpftrace_tc_in 2>/dev/null || true)
		kill -INT "$pid"
		wait "$pid" || true
	fi
	python3 -c "
import json, sys
bps, pk, secs = float('$bps'), int('$after') - int('$before'), float('$secs')
progs = json.loads(sys.argv[2] or '[]')
runs = [p for p in (progs if isinstance(progs, list) else [progs]) if p.get('run_cnt')]
ours = ''.join(f' {p[\"run_time_ns\"] / p[\"run_cnt\"]:6.0f} ns/run ({p[\"run_cnt\"]} runs)'
               for p in runs[:1])
print(f'{sys.argv[1]:<36} {bps / 1e9:6.2f} Gbit/s {pk / secs / 1e3:7.1f} kpkt/s'
      f' {secs * 1e9 / pk:7.0f} ns/pkt{ours}')
" "$name" "$prog"
	sleep 0.5
}

measure "no tracing"
measure "ebpftrace tc (log)" "$bin" tc benchb
measure "ebpftrace tc --stats" "$bin" tc benchb --stats=60
measure "ebpftrace tc --drop udp:dport=53" "$bin" tc benchb --stats=60 --drop udp:dport=53
measure "ebpftrace tc --proto udp (no match)" "$bin" tc benchb --proto udp
measure "ebpftrace tc -w FILE" "$bin" tc benchb -w "$pcap"
measure "ebpftrace tc -w FILE --snaplen 128" "$bin" tc benchb -w "$pcap" --snaplen 128
measure "tcpdump -w FILE" tcpdump -i benchb -w "$pcap"
measure "tcpdump -w FILE -s 128" tcpdump -i benchb -s 128 -w "$pcap"
