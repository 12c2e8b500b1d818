#!/usr/bin/env python3
"""Seeds for fuzz/fuzz_conn_early.c: python3 tests/data/resume/gen_fuzz_corpus.py fuzz/corpus/conn_early"""
import os, sys

def v(n):
    if n < 64: return bytes([n])
    if n < 16384: return bytes([0x40 | n >> 8, n & 0xff])
    if n < 1 << 30: return (0x80000000 | n).to_bytes(4, 'big')
    return (0xc000000000000000 | n).to_bytes(8, 'big')

def stream(sid, data, off=None, fin=False):
    t = 0x0a | (0x04 if off is not None else 0) | (1 if fin else 0)
    return bytes([t]) + v(sid) + (v(off) if off is not None else b'') + v(len(data)) + data

seeds = {}
# 0: 0-RTT frames to the server
seeds['early_stream'] = b'\x00' + stream(4, b'GET /a\r\n', fin=True)
seeds['early_stream_off'] = b'\x00' + stream(0, b'more', off=7, fin=True)
seeds['early_stream_conflict'] = b'\x00' + stream(0, b'XXXXXXX', fin=True)
seeds['early_many'] = b'\x00' + b''.join(stream(4 * i, b'GET /%d\r\n' % i, fin=True) for i in range(1, 40))
seeds['early_ping_pad'] = b'\x00' + b'\x01' + b'\x00' * 50
seeds['early_ack'] = b'\x00' + b'\x02\x00\x00\x00\x00'
seeds['early_crypto'] = b'\x00' + b'\x06\x00\x04abcd'
seeds['early_new_token'] = b'\x00' + b'\x07\x04abcd'
seeds['early_handshake_done'] = b'\x00' + b'\x1e'
seeds['early_max_data'] = b'\x00' + b'\x10' + v(1 << 40) + b'\x12' + v(1000) + b'\x13' + v(5)
seeds['early_reset'] = b'\x00' + b'\x04' + v(8) + v(3) + v(100)
seeds['early_stop'] = b'\x00' + b'\x05' + v(0) + v(9)
seeds['early_uni'] = b'\x00' + stream(2, b'uni data', fin=True)
seeds['early_server_stream'] = b'\x00' + stream(1, b'wrong side')
seeds['early_beyond_limit'] = b'\x00' + stream(4 * 200, b'x')
seeds['early_close'] = b'\x00' + b'\x1c' + v(0x0a) + v(0) + v(3) + b'bye'
seeds['early_app_close'] = b'\x00' + b'\x1d' + v(7) + v(2) + b'no'
seeds['early_datagram'] = b'\x00' + b'\x31' + v(4) + b'dgrm'
seeds['early_big_offset'] = b'\x00' + stream(0, b'z', off=(1 << 62) - 2)
seeds['early_new_cid'] = b'\x00' + b'\x18' + v(1) + v(0) + b'\x08' + b'\x11' * 8 + b'\x22' * 16
seeds['early_path_challenge'] = b'\x00' + b'\x1a' + b'\x33' * 8
seeds['early_truncated'] = b'\x00' + b'\x0a\x00\x40'
# 1: then a raw datagram
seeds['raw_short'] = b'\x01' + stream(0, b'x') + b'\x40' + b'\x00' * 30
seeds['raw_0rtt_header'] = b'\x01' + stream(0, b'x') + bytes([0xd0, 0, 0, 0, 1, 8]) + b'\x01' * 8 + b'\x08' + b'\x02' * 8 + b'\x40\x20' + b'\x00' * 40
seeds['raw_long_garbage'] = b'\x01' + stream(0, b'x') + bytes([0xc3, 0, 0, 0, 1]) + os.urandom(0) + b'\x00' * 60
# 2: tokens
seeds['token_new_form'] = b'\x02' + b'\x4e' + b'\x00' * 65
seeds['token_new_form_ones'] = b'\x02' + b'\x4e' + b'\xff' * 65
seeds['token_retry_form'] = b'\x02' + b'\x52' + b'\x00' * 109
seeds['token_short'] = b'\x02' + b'\x4e'
seeds['token_long'] = b'\x02' + b'\x4e' * 900
seeds['token_empty'] = b'\x02'
seeds['token_other'] = b'\x02' + b'foreign-server-token'
# 3: 1-RTT frames to the client
seeds['client_new_token'] = b'\x03' + b'\x07' + v(66) + b'\x4e' + b'\x01' * 65
seeds['client_new_token_twice'] = b'\x03' + (b'\x07' + v(5) + b'hello') * 2
seeds['client_new_token_empty'] = b'\x03' + b'\x07\x00'
seeds['client_new_token_huge_len'] = b'\x03' + b'\x07' + v(5000) + b'abc'
seeds['client_new_token_big'] = b'\x03' + b'\x07' + v(900) + b'\x5a' * 900
seeds['client_stream'] = b'\x03' + stream(0, b'response', fin=True)
seeds['client_handshake_done'] = b'\x03' + b'\x1e\x1e'
seeds['client_ping'] = b'\x03' + b'\x01'

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for k, b in seeds.items():
    with open(os.path.join(out, k), 'wb') as f:
        f.write(b)
print(len(seeds), 'seeds')
