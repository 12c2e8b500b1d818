#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_conn_path.c: records [control][u16 length][1-RTT payload].
control: bits 0-1 source address (0 = the handshake's, 1 = new port, 2 = new address, 3 = same),
bits 2-3 ECN codepoint, bits 4-6 clock step (x5 ms), bit 7 the client migrates there first.
usage: python3 tests/data/conn_path/mkcorpus.py fuzz/corpus/conn_path"""
import os
import struct
import sys


def v(x):
    if x < 0x40:
        return bytes([x])
    if x < 0x4000:
        return struct.pack(">H", 0x4000 | x)
    if x < 0x40000000:
        return struct.pack(">I", 0x80000000 | x)
    return struct.pack(">Q", 0xC000000000000000 | x)


def rec(ctl, payload):
    return bytes([ctl]) + struct.pack(">H", len(payload)) + payload


ping = v(0x01)
stream = v(0x0a) + v(0) + v(5) + b"world"  # STREAM id 0, len, no offset
chal = v(0x1a) + b"chal0001"
resp = v(0x1b) + b"resp0001"
pad = b"\x00" * 1100
ack_ecn = v(0x03) + v(0) + v(0) + v(0) + v(0) + v(1) + v(0) + v(0)
ack_ecn_ce = v(0x03) + v(1) + v(0) + v(0) + v(1) + v(2) + v(0) + v(5)
new_cid = v(0x18) + v(9) + v(0) + bytes([8]) + b"\x11" * 8 + b"\x22" * 16

ECT0, ECT1, CE = 0x08, 0x04, 0x0C
seeds = {
    "same_path_ping": rec(0x00, ping),
    "rebind_port_stream": rec(0x01, stream),
    "rebind_addr_stream": rec(0x02, stream),
    "probe_only": rec(0x01, chal + pad),
    "probe_small": rec(0x02, chal),
    "probe_then_move": rec(0x01, chal + pad) + rec(0x01, stream),
    "move_and_back": rec(0x01, stream) + rec(0x70, ping) + rec(0x00, stream),
    "move_twice": rec(0x01, stream) + rec(0x02, ping) + rec(0x01, ping),
    "move_timeout": rec(0x01, stream) + rec(0x70, b"") * 6 + rec(0x70, ping),
    "bogus_response": rec(0x00, resp),
    "response_new_path": rec(0x02, resp + pad),
    "challenge_and_response": rec(0x01, chal + resp + stream),
    "ecn_ect0": rec(0x00 | ECT0, ping) * 4,
    "ecn_ect1": rec(0x00 | ECT1, ping) * 2,
    "ecn_ce": rec(0x00 | CE, stream) + rec(CE, ping),
    "ecn_mixed_paths": rec(0x01 | ECT0, stream) + rec(0x02 | CE, ping) + rec(0x03 | ECT1, ping),
    "ack_ecn": rec(0x00, ack_ecn),
    "ack_ecn_ce": rec(0x00, ack_ecn_ce),
    "ack_ecn_decrease": rec(0x00, ack_ecn_ce) + rec(0x10, ack_ecn),
    "client_migrates": rec(0x81, ping) + rec(0x31, ping),
    "client_migrates_addr": rec(0x82, stream) + rec(0x72, ping),
    "client_migrate_new_cid": rec(0x00, new_cid) + rec(0x81, stream),
    "new_cid_then_move": rec(0x00, new_cid) + rec(0x01, stream) + rec(0x01, chal),
    "padding_new_path": rec(0x02, pad),
    "empty_records": rec(0x01, b"") * 3,
    "slow_clock": rec(0x71, stream) + rec(0x72, stream) + rec(0x70, stream),
    "all_ecn_new_path": b"".join(rec(0x01 | (e << 2), ping) for e in range(4)),
    "big_challenge_dgram": rec(0x02, chal + pad + pad[:80]),
    "three_paths_probe": rec(0x01, chal) + rec(0x02, chal) + rec(0x03, chal),
    "truncated": bytes([0x01, 0x00]),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(len(seeds), "seeds")
