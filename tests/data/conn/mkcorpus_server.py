#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_conn_server: [u16 length | 0x8000 to the client][datagram] records."""
import os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/conn_server"
os.makedirs(out, exist_ok=True)

def rec(d, to_client=False):
    return struct.pack(">H", len(d) | (0x8000 if to_client else 0)) + d

def long_hdr(first, version, dcid, scid, rest):
    return bytes([first]) + struct.pack(">I", version) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + rest

def pad(d, n=1200):
    return d + b"\0" * max(0, n - len(d))

dcid, scid = b"\x11" * 8, b"\x22" * 4
initial = long_hdr(0xc3, 1, dcid, scid, b"\x00" + b"\x44\xa0" + b"\x00\x00\x00\x01" + b"\x55" * 1100)
seeds = {
    "initial_garbage": rec(pad(initial)),
    "initial_short": rec(initial[:600]),
    "initial_twice": rec(pad(initial)) + rec(pad(initial)),
    "initial_token": rec(pad(long_hdr(0xc3, 1, dcid, scid, b"\x05token" + b"\x44\xa0" + b"\x01" * 1100))),
    "initial_dcid_short": rec(pad(long_hdr(0xc3, 1, b"\x01\x02", scid, b"\x00\x44\xa0" + b"\x01" * 1100))),
    "vn_grease": rec(pad(long_hdr(0xc0, 0x1a2a3a4a, dcid, scid, b""))),
    "vn_small": rec(long_hdr(0xc0, 0x0a0a0a0a, dcid, scid, b"x" * 10)),
    "handshake_unknown": rec(pad(long_hdr(0xe3, 1, dcid, scid, b"\x44\xa0" + b"\x02" * 900), 950)),
    "zero_rtt": rec(pad(long_hdr(0xd3, 1, dcid, scid, b"\x44\xa0" + b"\x02" * 900))),
    "retry_to_server": rec(long_hdr(0xf0, 1, dcid, scid, b"tok" + b"\x00" * 16)),
    "short_unknown": rec(b"\x41" + b"\x33" * 8 + b"\x00" * 40),
    "short_tiny": rec(b"\x41" + b"\x33" * 8 + b"\x00" * 10),
    "fixed_bit_zero": rec(pad(b"\x03" + initial[1:])),
    "empty": rec(b""),
    "to_client_garbage": rec(b"\x41" + b"\x00" * 60, True),
    "to_client_vn": rec(long_hdr(0x80, 0, scid, dcid, struct.pack(">II", 0x1a2a3a4a, 2)), True),
    "to_client_retry": rec(long_hdr(0xf5, 1, scid, b"\x99" * 8, b"retrytoken" + b"\x00" * 16), True),
    "to_client_initial": rec(pad(long_hdr(0xc1, 1, scid, b"\x99" * 8, b"\x00\x44\xa0" + b"\x03" * 1100)), True),
    "coalesced": rec(pad(initial[:300] + long_hdr(0xe1, 1, dcid, scid, b"\x40\x20" + b"\x04" * 32))),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(len(seeds), "seeds in", out)
