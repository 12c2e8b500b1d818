#!/usr/bin/env python3
"""The interop runner's per-test checks (docs/interop.md), over `tshark -T json` of the relay's pcaps.

usage: verify.py TEST RUNDIR      RUNDIR holds sim/trace_node_{left,right}.pcap, logs/{client,server}/keys.log,
                                  www/, downloads/ and expected.txt (one expected file name per line).
Prints "pass", "fail: <why>" or "unsupported: <why>" and exits 0 / 1 / 127.
"""
import json
import os
import socket
import struct
import subprocess
import sys

SERVER_IPS = {"193.167.100.100", "fd00:cafe:cafe:100::100"}
V1, V2 = 0x00000001, 0x6B3343CF
INITIAL, ZERO_RTT, HANDSHAKE, RETRY, ONE_RTT, VN = "initial", "0rtt", "handshake", "retry", "1rtt", "vn"
V1_TYPES = {0: INITIAL, 1: ZERO_RTT, 2: HANDSHAKE, 3: RETRY}
V2_TYPES = {1: INITIAL, 2: ZERO_RTT, 3: HANDSHAKE, 0: RETRY}


class Fail(Exception):
    pass


def walk(obj, key, out):
    """Every value of `key` anywhere below obj (tshark nests frames and TLS under the QUIC layer)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                if isinstance(v, list):
                    out.extend(v)
                else:
                    out.append(v)
            else:
                walk(v, key, out)
    elif isinstance(obj, list):
        for v in obj:
            walk(v, key, out)
    return out


def first(obj, key, default=None):
    v = walk(obj, key, [])
    return v[0] if v else default


def hexlen(s):
    if not s:
        return 0
    return len(s.replace(":", "")) // 2


def num(s, default=0):
    if s is None:
        return default
    try:
        return int(s, 0) if isinstance(s, str) and s.startswith("0x") else int(s)
    except ValueError:
        return default


class QPacket:
    """One QUIC packet (a layer of a datagram)."""

    def __init__(self, layer):
        self.layer = layer
        self.long = first(layer, "quic.header_form") == "1"
        self.version = num(first(layer, "quic.version"), None) if self.long else None
        if not self.long:
            self.type = ONE_RTT
        elif self.version == 0:
            self.type = VN
        elif self.version == V2:
            self.type = V2_TYPES.get(num(first(layer, "quic.long.packet_type_v2"), -1))
        else:
            self.type = V1_TYPES.get(num(first(layer, "quic.long.packet_type"), -1))
        self.scid = first(layer, "quic.scid")
        self.dcid = first(layer, "quic.dcid")
        self.pn = num(first(layer, "quic.packet_number"), -1)
        self.key_phase = first(layer, "quic.key_phase")
        self.token = first(layer, "quic.token")
        self.retry_token = first(layer, "quic.retry_token")
        self.decrypt_failed = bool(walk(layer, "quic.decryption_failed", []))

    def fields(self, key):
        return walk(self.layer, key, [])

    def payload_len(self):
        p = first(self.layer, "quic.payload")
        if p is None:
            p = first(self.layer, "quic.remaining_payload")
        if p is None:
            p = first(self.layer, "quic.protected_payload")
        return hexlen(p)


class Datagram:
    def __init__(self, layers):
        ip = layers.get("ip") or layers.get("ipv6") or {}
        self.v6 = "ipv6" in layers
        self.src = first(ip, "ipv6.src" if self.v6 else "ip.src")
        self.dst = first(ip, "ipv6.dst" if self.v6 else "ip.dst")
        self.from_server = self.src in SERVER_IPS
        if self.v6:
            tc = num(first(ip, "ipv6.tclass"), 0)
            self.ecn = tc & 3
        else:
            self.ecn = num(first(ip, "ip.dsfield.ecn"), 0)
        udp = layers.get("udp", {})
        self.sport = num(first(udp, "udp.srcport"))
        self.dport = num(first(udp, "udp.dstport"))
        self.udp_payload = num(first(udp, "udp.length")) - 8
        self.time = float(first(layers.get("frame", {}), "frame.time_epoch", "0"))
        q = layers.get("quic", [])
        self.packets = [QPacket(x) for x in (q if isinstance(q, list) else [q])]

    def tuple(self):
        return (self.src, self.sport, self.dst, self.dport)


def reduce_pcap(pcap, out, keep_v4_from_server=False):
    """Copies the datagrams tshark needs for the long-header checks: QUIC long headers (and, for the ipv6
    test, anything the server sent over IPv4). A 10 MiB transfer shrinks from ~15,000 records to a few."""
    with open(pcap, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return pcap
    res = [data[:24]]
    off = 24
    while off + 16 <= len(data):
        n = struct.unpack_from("<I", data, off + 8)[0]
        rec = data[off:off + 16 + n]
        pkt = rec[16:]
        off += 16 + n
        if not pkt:
            continue
        v6 = pkt[0] >> 4 == 6
        ihl = 40 if v6 else (pkt[0] & 15) * 4
        if len(pkt) <= ihl + 8:
            continue
        first = pkt[ihl + 8]
        src = socket.inet_ntop(socket.AF_INET6, pkt[8:24]) if v6 else socket.inet_ntop(socket.AF_INET, pkt[12:16])
        if first & 0x80 or (keep_v4_from_server and not v6 and src in SERVER_IPS):
            res.append(rec)
    with open(out, "wb") as f:
        f.write(b"".join(res))
    return out


def raw_times(pcap, from_server, short_only=True):
    """Timestamps of datagrams (short-header only by default) in one direction, straight from the pcap."""
    with open(pcap, "rb") as f:
        data = f.read()
    times = []
    off = 24
    while off + 16 <= len(data):
        sec, nsec, n = struct.unpack_from("<III", data, off)
        pkt = data[off + 16:off + 16 + n]
        off += 16 + n
        if not pkt:
            continue
        v6 = pkt[0] >> 4 == 6
        ihl = 40 if v6 else (pkt[0] & 15) * 4
        if len(pkt) <= ihl + 8:
            continue
        src = socket.inet_ntop(socket.AF_INET6, pkt[8:24]) if v6 else socket.inet_ntop(socket.AF_INET, pkt[12:16])
        if (src in SERVER_IPS) == from_server and not (short_only and pkt[ihl + 8] & 0x80):
            times.append(sec + nsec / 1e9)
    return times


def load(pcap, keylog, ports):
    cmd = ["tshark", "-n", "-r", pcap, "--disable-protocol", "http3", "-T", "json", "--no-duplicate-keys",
           "-J", "frame ip ipv6 udp quic"]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    for p in ports:
        cmd += ["-d", "udp.port==%d,quic" % p]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
    if not out.strip():
        return []
    return [Datagram(p["_source"]["layers"]) for p in json.loads(out)]


def keylog_for(run):
    for side in ("client", "server"):
        k = os.path.join(run, "logs", side, "keys.log")
        try:
            with open(k, encoding="ascii", errors="replace") as f:
                if "SERVER_HANDSHAKE_TRAFFIC_SECRET" in f.read():
                    return k
        except OSError:
            pass
    return None


# Tests whose checks read only long-header packets (plus raw datagram facts): tshark gets reduced traces.
LONG_ONLY = {"handshake", "transfer", "longrtt", "chacha20", "multiplexing", "retry", "resumption", "http3",
             "blackhole", "handshakeloss", "transferloss", "handshakecorruption", "transfercorruption", "ipv6",
             "v2", "goodput", "crosstraffic"}


class Run:
    def __init__(self, run, test=None):
        self.dir = run
        self.keylog = keylog_for(run)
        ports = [443, 4433]
        traces = []
        for side in ("left", "right"):
            pcap = os.path.join(run, "sim", "trace_node_%s.pcap" % side)
            if test in LONG_ONLY and os.path.exists(pcap):
                pcap = reduce_pcap(pcap, os.path.join(run, "sim", "long_%s.pcap" % side), test == "ipv6")
            traces.append(load(pcap, self.keylog, ports))
        self.left, self.right = traces

    def packets(self, trace, from_server=None, ptype=None):
        for d in trace:
            if from_server is not None and d.from_server != from_server:
                continue
            for p in d.packets:
                if ptype is None or p.type == ptype:
                    yield d, p


def check_files(run):
    with open(os.path.join(run, "expected.txt"), encoding="utf-8") as f:
        expected = [x for x in f.read().split("\n") if x]
    dl = os.path.join(run, "downloads")
    got = []
    for root, _, files in os.walk(dl):
        for name in files:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                got.append(os.path.relpath(full, dl))
    if sorted(got) != sorted(expected):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        # the position in the request list names the connection of a multiconnect run
        raise Fail("downloaded files differ: %d missing (%s), %d unexpected (%s)"
                   % (len(missing), " ".join("#%d %s" % (expected.index(m) + 1, m[:20]) for m in missing[:3]),
                      len(extra), " ".join(extra[:3])))
    for name in expected:
        with open(os.path.join(run, "www", name), "rb") as a, open(os.path.join(dl, name), "rb") as b:
            if a.read() != b.read():
                raise Fail("file %s differs from the served one" % name[:40])


def count_handshakes(r):
    return len({p.scid for _, p in r.packets(r.right, True, INITIAL)})


def check_handshakes(r, n):
    got = count_handshakes(r)
    if got != n:
        raise Fail("expected %d handshake(s), saw %d distinct server Initial SCIDs" % (n, got))


def check_v1(r):
    versions = {p.version for _, p in r.packets(r.right, True, INITIAL)}
    if versions != {V1}:
        raise Fail("server Initial versions %s, wanted only 0x1" % sorted(hex(v) for v in versions if v is not None))


def need_keylog(r):
    if not r.keylog:
        raise Unsupported("no valid keylog (SERVER_HANDSHAKE_TRAFFIC_SECRET)")


class Unsupported(Exception):
    pass


def t_handshake(r):
    check_v1(r)
    if any(True for _ in r.packets(r.left, None, RETRY)) or any(True for _ in r.packets(r.right, None, RETRY)):
        raise Fail("a Retry packet in the trace")
    check_handshakes(r, 1)


def t_transfer(r):
    check_handshakes(r, 1)
    check_v1(r)


def client_hellos(r):
    """ClientHello transmissions: client Initials whose CRYPTO starts at offset 0. A ClientHello split over
    two packets (large key shares) is one transmission, although tshark shows the message in the second."""
    starts = typed = 0
    for _, p in r.packets(r.left, False, INITIAL):
        offs = [num(x) for x in p.fields("quic.crypto.offset")]
        starts += 0 in offs
        typed += "1" in p.fields("tls.handshake.type")
    return starts if starts else typed


def t_longrtt(r):
    t_transfer(r)
    hellos = client_hellos(r)
    if hellos < 2:
        raise Fail("%d ClientHello transmission(s); a PTO retransmission was expected" % hellos)


def t_chacha20(r):
    t_transfer(r)
    suites = set()
    for _, p in r.packets(r.left, False, INITIAL):
        if "1" in p.fields("tls.handshake.type"):
            suites |= {num(s) for s in p.fields("tls.handshake.ciphersuite")}
    if suites != {0x1303}:
        raise Fail("client offered cipher suites %s, wanted only 0x1303" % sorted(hex(s) for s in suites))


def t_multiplexing(r):
    need_keylog(r)
    t_transfer(r)
    vals = [num(v) for _, p in r.packets(r.right, True, HANDSHAKE)
            for v in p.fields("tls.quic.parameter.initial_max_streams_bidi")]
    if not vals:
        raise Fail("initial_max_streams_bidi not found in the server's Handshake packets")
    if max(vals) > 1000:
        raise Fail("server allows %d bidirectional streams at once (must be <= 1000)" % max(vals))


def t_retry(r):
    """As the runner: every Retry carries a token; walking the client's Initials in order, the first one
    with a Retry token must not reuse a packet number of the tokenless ones before it."""
    t_transfer(r)
    retries = [p for _, p in r.packets(r.left, True, RETRY)]
    if not retries:
        raise Fail("no Retry packet from the server")
    if any(not p.retry_token for p in retries):
        raise Fail("a Retry packet without a token")
    tokens = {p.retry_token.replace(":", "") for p in retries}
    highest = -1
    for _, p in r.packets(r.left, False, INITIAL):
        if not p.token:
            highest = max(highest, p.pn)
            continue
        if p.pn <= highest:
            raise Fail("the first token-bearing Initial reuses packet number %d (tokenless ones reached %d)"
                       % (p.pn, highest))
        if p.token.replace(":", "") in tokens:
            return
    raise Fail("no client Initial carries the Retry token")


def hs_by_scid(r):
    groups = {}
    order = []
    for _, p in r.packets(r.right, True, HANDSHAKE):
        if p.scid not in groups:
            groups[p.scid] = []
            order.append(p.scid)
        groups[p.scid].append(p)
    return order, groups


def t_resumption(r):
    need_keylog(r)
    check_v1(r)
    check_handshakes(r, 2)
    order, groups = hs_by_scid(r)
    if len(order) != 2:
        raise Fail("server Handshake packets with %d SCIDs, wanted 2" % len(order))
    has_cert = [any("11" in p.fields("tls.handshake.type") for p in groups[s]) for s in order]
    if not has_cert[0]:
        raise Fail("first connection carried no Certificate")
    if has_cert[1]:
        raise Fail("second connection carried a Certificate: not resumed with a PSK")


def t_zerortt(r):
    check_v1(r)
    check_handshakes(r, 2)
    zero = sum(p.payload_len() for _, p in r.packets(r.left, False, ZERO_RTT))
    one = sum(p.payload_len() for _, p in r.packets(r.left, False, ONE_RTT))
    if zero == 0:
        raise Fail("no 0-RTT payload from the client")
    if one > 5000:
        raise Fail("client sent %d bytes of 1-RTT payload (0-RTT %d), at most 5000 allowed" % (one, zero))


def t_keyupdate(r):
    need_keylog(r)
    t_transfer(r)
    if not any(p.key_phase in ("1", "True") for _, p in r.packets(r.left, False, ONE_RTT)):
        raise Fail("no client 1-RTT packet with key phase 1")
    if not any(p.key_phase in ("1", "True") for _, p in r.packets(r.right, True, ONE_RTT)):
        raise Fail("no server 1-RTT packet with key phase 1")


def ecn_side(trace, from_server, who):
    """As the runner: every QUIC datagram of that side marked, with one ECT codepoint throughout and no CE,
    and at least one of its ACKs carrying ECN counts."""
    marks = [d.ecn for d in trace if d.from_server == from_server and not d.v6 and d.packets]
    if not any(m in (1, 2) for m in marks):
        raise Fail("%s never marked ECT(0)/ECT(1)" % who)
    if 3 in marks:
        raise Fail("%s sent CE-marked packets" % who)
    if 0 in marks:
        raise Fail("%s sent %d of its %d datagrams unmarked" % (who, marks.count(0), len(marks)))
    if 1 in marks and 2 in marks:
        raise Fail("%s mixed ECT(0) and ECT(1)" % who)
    if not any(d.packets and d.packets[0].fields("quic.ack.ect0_count")
               for d in trace if d.from_server == from_server):
        raise Fail("%s sent no ACK with ECN counts" % who)


def t_ecn(r):
    need_keylog(r)
    t_handshake(r)
    ecn_side(r.left, False, "client")
    ecn_side(r.right, True, "server")


def t_amplification(r):
    need_keylog(r)
    t_transfer(r)
    top = 0
    for _, p in r.packets(r.right, True, HANDSHAKE):
        # the runner reads the packet's first CRYPTO frame only
        offs, lens = p.fields("quic.crypto.offset"), p.fields("quic.crypto.length")
        if offs and lens:
            top = max(top, num(offs[0]) + num(lens[0]))
    if top < 7500:
        raise Fail("server Handshake CRYPTO reached %d bytes; the 9-certificate chain needs >= 7500" % top)
    allowance = 0
    for d in r.right:
        if not d.packets or d.packets[0].type is None:
            raise Fail("a datagram of unknown packet type in the amplification walk")
        if any(p.type == VN for p in d.packets):
            raise Fail("a Version Negotiation packet in the trace")
        if not d.from_server:
            if d.packets[0].type == HANDSHAKE:
                return
            if d.packets[0].type == INITIAL:
                allowance += 4 * d.udp_payload
        else:
            if d.udp_payload >= allowance:
                raise Fail("server sent %d bytes with %d of 3x (4x tolerance) allowance left" % (d.udp_payload, allowance))
            allowance -= d.udp_payload
    raise Fail("no client Handshake packet ended the amplification walk")


def multi(n):
    def t(r):
        check_v1(r)
        check_handshakes(r, n)
    return t


def t_ipv6(r):
    t_transfer(r)
    n4 = sum(1 for d in r.right if d.from_server and not d.v6 and d.packets)
    if n4:
        raise Fail("server sent %d QUIC datagrams over IPv4" % n4)


def t_v2(r):
    if not any(p.version == V1 for _, p in r.packets(r.left, False, INITIAL)):
        raise Fail("client Initials carry no v1")
    if not any(p.version == V2 for _, p in r.packets(r.right, True, INITIAL)):
        raise Fail("server Initials never use v2")
    bad = [p.version for _, p in r.packets(r.left, None, HANDSHAKE)] + \
          [p.version for _, p in r.packets(r.right, None, HANDSHAKE)]
    if not bad or any(v != V2 for v in bad):
        raise Fail("Handshake packets not all v2 (%s)" % sorted({hex(v) for v in bad if v is not None}))


def path_rule(r):
    """As the runner, over the server's datagrams in the server-side trace: each change of destination
    (back to an old one too) opens with a PATH_CHALLENGE in its first QUIC packet, there are at least as
    many distinct challenges as changes, and each is answered by a PATH_RESPONSE that opens a client datagram
    in the client-side trace. Ours also wants two paths at least."""
    last = None
    changes = 0
    challenges = []
    seen = set()
    for d in r.right:
        if not d.from_server or not d.packets:
            continue
        t = (d.dst, d.dport)
        seen.add(t)
        first_pcs = d.packets[0].fields("quic.path_challenge.data")
        if last is not None and t != last:
            changes += 1
            if not first_pcs:
                raise Fail("first server packet to %s:%d after a path change has no PATH_CHALLENGE" % t)
        last = t
        challenges += [x for x in first_pcs if x not in challenges]
    if len(seen) < 2:
        raise Fail("the server sent to only %d address(es)" % len(seen))
    if len(challenges) < changes:
        raise Fail("%d path changes, only %d distinct PATH_CHALLENGEs" % (changes, len(challenges)))
    responses = {x for d in r.left if not d.from_server and d.packets
                 for x in d.packets[0].fields("quic.path_response.data")}
    missing = [c for c in challenges if c not in responses]
    if missing:
        raise Fail("%d PATH_CHALLENGE(s) never answered" % len(missing))
    if any(p.decrypt_failed for _, p in r.packets(r.right)):
        raise Fail("tshark could not decrypt some packets after the path change (inconclusive with tshark 4.0)")


def t_rebind_port(r):
    need_keylog(r)
    t_transfer(r)
    path_rule(r)


def t_rebind_addr(r):
    need_keylog(r)
    # the addresses the server sent to (the relay's own rewriting of client sources proves nothing)
    ips = {d.dst for d in r.right if d.from_server and d.packets}
    if len(ips) < 2:
        raise Fail("the server sent to only one client address")
    t_rebind_port(r)


def t_migration(r):
    need_keylog(r)
    t_transfer(r)
    path_rule(r)
    tuples = {}
    for d in r.left:
        if d.from_server or not d.packets:
            continue
        t = d.tuple()
        if t not in tuples:
            tuples[t] = d.packets[0].dcid
    if len(set(tuples.values())) < len(tuples):
        raise Fail("the client reused a DCID on a new path")
    last = dcid = None
    for d in r.left:
        if d.from_server or not d.packets:
            continue
        t = (d.src, d.sport)
        if last is not None and t != last and d.packets[0].dcid == dcid:
            raise Fail("first client packet from %s:%d after migrating kept DCID %s" % (t[0], t[1], dcid))
        if t != last:
            last, dcid = t, d.packets[0].dcid


def goodput_kbps(run, size):
    """The runner's measure: file bits over the time from the first to the last server 1-RTT packet in the
    client-side trace."""
    times = raw_times(os.path.join(run, "sim", "trace_node_left.pcap"), True)
    if len(times) < 2 or times[-1] == times[0]:
        raise Fail("no server 1-RTT packets")
    return 8 * size / (times[-1] - times[0]) / 1000


def t_goodput(r):
    t_transfer(r)
    size = sum(os.path.getsize(os.path.join(r.dir, "www", f)) for f in os.listdir(os.path.join(r.dir, "www")))
    r.measured = goodput_kbps(r.dir, size)


CHECKS = {
    "handshake": t_handshake, "transfer": t_transfer, "longrtt": t_longrtt, "chacha20": t_chacha20,
    "multiplexing": t_multiplexing, "retry": t_retry, "resumption": t_resumption, "zerortt": t_zerortt,
    "http3": t_transfer, "blackhole": t_transfer, "keyupdate": t_keyupdate, "ecn": t_ecn,
    "amplificationlimit": t_amplification, "handshakeloss": multi(50), "transferloss": t_transfer,
    "handshakecorruption": multi(50), "transfercorruption": t_transfer, "ipv6": t_ipv6, "v2": t_v2,
    "rebind-port": t_rebind_port, "rebind-addr": t_rebind_addr, "connectionmigration": t_migration,
    "goodput": t_goodput, "crosstraffic": t_goodput,
}


def verify(test, run, measured=None):
    """"pass", "fail: why" or "unsupported: why"; a measurement's value goes into measured["value"]."""
    try:
        check_files(run)
        r = Run(run, test)
        CHECKS[test](r)
        if measured is not None and hasattr(r, "measured"):
            measured["value"] = r.measured
    except Fail as e:
        return "fail: %s" % e
    except Unsupported as e:
        return "unsupported: %s" % e
    return "pass"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        sys.stderr.write(__doc__)
        return 2
    v = verify(sys.argv[1], sys.argv[2])
    print(v)
    return 0 if v == "pass" else 127 if v.startswith("unsupported") else 1


if __name__ == "__main__":
    sys.exit(main())
