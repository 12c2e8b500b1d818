#!/usr/bin/env python3
"""Generate the seed corpora of fuzz/fuzz_qpack_*.c from the QPACK offline-interop files.

usage: scripts/gen_qpack_corpus.py [SHARED_DIR]   (default ../shared); writes fuzz/corpus/qpack_*/
"""
import os
import random
import struct
import sys

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
enc_dir = os.path.join(shared, "vectors/qifs/encoded/qpack-05")
qif_dir = os.path.join(shared, "vectors/qifs/qifs")
CAPS = [0, 64, 220, 256, 512, 4096]


def out_dir(name):
    d = os.path.join("fuzz/corpus", name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress-"):  # crashers found by fuzzing stay
            os.unlink(os.path.join(d, f))
    return d


def records(path):
    data = open(path, "rb").read()
    off = 0
    while off + 12 <= len(data):
        sid, n = struct.unpack(">QI", data[off:off + 12])
        yield sid, data[off + 12:off + 12 + n]
        off += 12 + n


def decoder_seed(path, cap, blocked, limit=None):
    """Record file -> op language of fuzz_qpack_decoder.c."""
    out = bytearray([CAPS.index(cap), blocked, 1])
    for i, (sid, body) in enumerate(records(path)):
        if limit is not None and i >= limit:
            break
        if sid == 0:
            out += bytes([0]) + struct.pack(">H", len(body)) + body
        else:
            out += bytes([(sid % 64) << 2 | 1]) + struct.pack(">H", len(body)) + body
        out += bytes([3])
    return bytes(out)


def main():
    d = out_dir("qpack_decoder")
    n = 0
    for enc in ("ls-qpack", "nghttp3"):
        for name in ("netbsd", "netbsd-hq"):
            for t in (0, 256, 512, 4096):
                for s, a in ((0, 0), (100, 1)):
                    p = os.path.join(enc_dir, enc, "%s.out.%d.%d.%d" % (name, t, s, a))
                    seed = decoder_seed(p, t, s, limit=12)
                    open(os.path.join(d, "%s-%s-%d-%d-%d" % (enc, name, t, s, a)), "wb").write(seed)
                    n += 1
    open(os.path.join(d, "rfc9204-appendix-b"), "wb").write(
        decoder_seed(os.path.join(enc_dir, "examples/examples.out.220.100.1"), 220, 100))
    open(os.path.join(d, "draft-examples"), "wb").write(
        decoder_seed(os.path.join(enc_dir, "draft-examples.out"), 256, 100))
    # Blocked, then unblocked; then cancelled; malformed sections and instructions.
    hand = {
        "blocked-then-insert": bytes([5, 2, 0]) + b"\x05\x00\x03\x02\x80\x10" + b"\x00\x00\x08\x3f\xe1\x1f\x41\x61\x01\x62" + b"\x03",
        "blocked-cancel": bytes([5, 2, 0]) + b"\x05\x00\x03\x02\x80\x10" + b"\x06\x03",
        "too-many-blocked": bytes([5, 1, 0]) + b"\x05\x00\x03\x02\x80\x10" + b"\x09\x00\x03\x02\x80\x10",
        "bad-huffman": bytes([5, 0, 0]) + b"\x01\x00\x05\x00\x00\x51\x81\xff",
        "eos-in-string": bytes([5, 0, 0]) + b"\x01\x00\x07\x00\x00\x51\x84\xff\xff\xff\xfc",
        "capacity-over": bytes([5, 0, 0]) + b"\x00\x00\x03\x3f\xe2\x1f",
        "insert-no-room": bytes([1, 0, 0]) + b"\x00\x00\x0a\x3f\x21\x45\x61\x62\x63\x64\x65\x00",
        "big-literal": bytes([5, 0, 0]) + b"\x00\x00\x0c\x3f\xe1\x1f\x5f\xff\xff\xff\xff\x0f\x61\x62\x63",
        "section-limit": bytes([5, 0, 2]) + b"\x01\x00\x0a\x00\x00\x2f\x7f\x61\x62\x63\x64\x65\x66",
        "dup-and-post-base": bytes([5, 4, 0]) + b"\x00\x00\x0b\x3f\xe1\x1f\xc0\x87\x61\x62\x63\x64\x65\x66\x00" +
                             b"\x05\x00\x05\x04\x81\x10\x11\x80",
    }
    for k, v in hand.items():
        open(os.path.join(d, k), "wb").write(v)
        n += 1

    d = out_dir("qpack_decstream")
    rnd = random.Random(9204)
    seeds = {
        "ack-after-encode": bytes([4, 3, 0x08, 0x0a, 0x01, 0x01, 0x81]),
        "ici-then-ack": bytes([4, 3, 0x08, 0x08, 0x01, 0x01, 0x01, 0x01, 0x02, 0x81, 0x81]),
        "cancel": bytes([4, 3, 0x10, 0x01, 0x01, 0x42]),
        "ack-unknown": bytes([4, 3, 0x01, 0x01, 0x85]),
        "ici-zero": bytes([4, 3, 0x08, 0x01, 0x01, 0x00]),
        "ici-too-big": bytes([4, 3, 0x08, 0x01, 0x01, 0x3f]),
        "split-int": bytes([4, 3, 0x08, 0x01, 0x01, 0xff, 0x01, 0x01, 0x80]),
        "overflow": bytes([4, 3, 0x01, 0x0b]) + b"\xff" * 10 + b"\x01",
        "no-table": bytes([0, 0, 0x08, 0x0a, 0x01, 0x01, 0x81]),
    }
    for i in range(16):
        b = bytearray([rnd.randrange(5), rnd.randrange(8)])
        for _ in range(rnd.randrange(4, 24)):
            if rnd.random() < 0.6:
                b.append(rnd.randrange(0, 256) & ~1)
            else:
                body = bytes(rnd.choice([0x80 | rnd.randrange(8), 0x40 | rnd.randrange(8), rnd.randrange(1, 4)])
                             for _ in range(rnd.randrange(1, 4)))
                b += bytes([1, len(body)]) + body
        seeds["random-%02d" % i] = bytes(b)
    for k, v in seeds.items():
        open(os.path.join(d, k), "wb").write(v)

    d = out_dir("qpack_roundtrip")
    for name in ("netbsd", "fb-req", "fb-resp"):
        blocks = open(os.path.join(qif_dir, name + ".qif"), "rb").read().split(b"\n\n")[:6]
        for cap in range(5):
            b = bytearray([cap, 2, 0x55 if cap % 2 else 0xff])
            for blk in blocks:
                lines = [l.split(b"\t", 1) for l in blk.split(b"\n") if b"\t" in l][:15]
                b.append(len(lines))
                for nm, val in lines:
                    nm, val = nm[:63], val[:63]
                    b += bytes([1 if nm in (b"cookie", b"authorization") else 0, len(nm)]) + nm
                    b += bytes([len(val)]) + val
            open(os.path.join(d, "%s-%d" % (name, cap)), "wb").write(bytes(b))


main()
