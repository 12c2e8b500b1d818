#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_conn_frames: [u16 length][frames] records, one 1-RTT packet each."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/conn_frames"
os.makedirs(out, exist_ok=True)

def v(x):
    if x < 64: return bytes([x])
    if x < 16384: return struct.pack(">H", 0x4000 | x)
    if x < 1 << 30: return struct.pack(">I", 0x80000000 | x)
    return struct.pack(">Q", 0xC000000000000000 | x)

def stream(sid, off, data, fin=False):
    t = 0x08 | 0x02 | (0x04 if off else 0) | (0x01 if fin else 0)
    return v(t) + v(sid) + (v(off) if off else b"") + v(len(data)) + data

def rec(*frames):
    p = b"".join(frames)
    return struct.pack(">H", len(p)) + p

ack = lambda largest, delay=0, first=0, extra=b"", n=0: v(2) + v(largest) + v(delay) + v(n) + v(first) + extra
seeds = {
    "ping": rec(v(1)),
    "padding": rec(b"\0" * 40),
    "ack": rec(ack(3, 10, 3)),
    "ack_ranges": rec(ack(10, 0, 1, v(2) + v(1) + v(0) + v(0), 2)),
    "ack_unsent": rec(ack(100000)),
    "ack_ecn": rec(v(3) + v(2) + v(0) + v(0) + v(2) + v(1) + v(0) + v(0)),
    "stream": rec(stream(0, 0, b"hello world", True)),
    "stream_ooo": rec(stream(4, 100, b"later")) + rec(stream(4, 0, b"x" * 100)),
    "stream_uni": rec(stream(2, 0, b"uni", True)),
    "stream_server_id": rec(stream(1, 0, b"not yours")),
    "stream_limit": rec(stream(4 * 9, 0, b"too many")),
    "stream_flow": rec(stream(0, 20000, b"beyond")),
    "stream_final_change": rec(stream(8, 0, b"abc", True)) + rec(stream(8, 0, b"abcdef", True)),
    "reset": rec(v(4) + v(0) + v(7) + v(5)),
    "reset_then_data": rec(v(4) + v(12) + v(1) + v(3)) + rec(stream(12, 0, b"abcd")),
    "stop_sending": rec(stream(0, 0, b"q")) + rec(v(5) + v(0) + v(9)),
    "stop_uni_peer": rec(v(5) + v(2) + v(1)),
    "max_data": rec(v(0x10) + v(1 << 20)),
    "max_stream_data": rec(v(0x11) + v(0) + v(99999)),
    "max_streams": rec(v(0x12) + v(50)) + rec(v(0x13) + v(1 << 60)),
    "blocked": rec(v(0x14) + v(10) + v(0x15) + v(0) + v(10) + v(0x16) + v(3) + v(0x17) + v(3)),
    "new_cid": rec(v(0x18) + v(1) + v(0) + bytes([8]) + b"ABCDEFGH" + b"T" * 16),
    "new_cid_retire": rec(v(0x18) + v(5) + v(3) + bytes([8]) + b"IJKLMNOP" + b"U" * 16),
    "new_cid_many": b"".join(rec(v(0x18) + v(i) + v(0) + bytes([8]) + bytes([i]) * 8 + bytes([i]) * 16) for i in range(1, 9)),
    "retire_cid": rec(v(0x19) + v(1)) + rec(v(0x19) + v(0)),
    "retire_unknown": rec(v(0x19) + v(99)),
    "path_challenge": rec(v(0x1a) + b"12345678"),
    "path_response": rec(v(0x1b) + b"12345678"),
    "close": rec(v(0x1c) + v(0xa) + v(8) + v(3) + b"bye"),
    "close_app": rec(v(0x1d) + v(77) + v(2) + b"ok"),
    "handshake_done": rec(v(0x1e)),
    "crypto": rec(v(6) + v(0) + v(4) + b"\x04\x00\x00\x00"),
    "crypto_far": rec(v(6) + v(1 << 20) + v(1) + b"x"),
    "new_token": rec(v(7) + v(3) + b"tok"),
    "datagram": rec(v(0x31) + v(3) + b"dgm"),
    "unknown_type": rec(v(0x40) + b"zz"),
    "long_type": rec(b"\x40\x01"),
    "truncated_stream": rec(b"\x0b\x00"),
    "empty": rec(b""),
    "mixed": rec(ack(2) + stream(0, 0, b"mixed", False) + v(0x10) + v(70000) + v(1)),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(len(seeds), "seeds in", out)
