"""The must-show check of --explain: a real fetch's trace, compared with that side's own qlog (which
the library writes independently of the explainer). Every line of the trace names its RFC section;
every frame type, transport parameter, TLS handshake message, HTTP/3 frame and stream type that
occurred (per the qlog) is explained; field sections and QPACK instructions are explained line by line.
Every packet the qlog declares lost is explained with the RFC 9002 rule that fired.
usage: check_explain.py SIDE TRACE QLOG [--lossy]   (SIDE: client or server)"""
import json
import re
import sys

side, trace_path, qlog_path = sys.argv[1:4]
errors = []
lines = [l.rstrip("\n") for l in open(trace_path, encoding="utf-8") if l.startswith(side + ": ")]
if len(lines) < 50:
    sys.exit("%s: only %d explained lines" % (trace_path, len(lines)))
RFC = re.compile(r" \[RFC \d+ §[0-9.]+[^\]]*\]$")
for l in lines:
    if not RFC.search(l):
        errors.append("no RFC section: " + l)
    if "does not decode" in l or "not decoded" in l:
        errors.append("undecoded: " + l)
text = "\n".join(lines)


def explained(pattern, what):
    if not re.search(pattern, text):
        errors.append("not explained: " + what)


recs = [json.loads(r) for r in open(qlog_path, encoding="utf-8").read().split("\x1e") if r.strip()][1:]
frames = set()
for ev in recs:
    if ev["name"] in ("transport:packet_sent", "transport:packet_received"):
        d = "-> sent" if ev["name"].endswith("sent") else "<- received"
        explained(r"%s %s packet, packet number %d," % (d, {"initial": "Initial", "handshake": "Handshake", "1RTT": "1-RTT",
                                                             "0RTT": "0-RTT"}[ev["data"]["header"]["packet_type"]],
                                                       ev["data"]["header"]["packet_number"]),
                  "%s packet %s" % (ev["name"], ev["data"]["header"]["packet_number"]))
        for fr in ev["data"].get("frames", []):
            frames.add(fr["frame_type"])
for ft in sorted(frames):
    explained(r"\n%s: +%s[ :(]" % (side, ft.upper()), "frame type " + ft)

# Transport parameters: each one this side sent that differs from its default (RFC 9000 §18.2) is
# explained with its value where this side sent it (its ClientHello or EncryptedExtensions).
DEFAULTS = {"max_idle_timeout": 0, "max_udp_payload_size": 65527, "initial_max_data": 0,
            "initial_max_stream_data_bidi_local": 0, "initial_max_stream_data_bidi_remote": 0,
            "initial_max_stream_data_uni": 0, "initial_max_streams_bidi": 0, "initial_max_streams_uni": 0,
            "ack_delay_exponent": 3, "max_ack_delay": 25, "active_connection_id_limit": 2,
            "disable_active_migration": False}
tp_seen = 0
for ev in recs:
    if ev["name"] != "transport:parameters_set":
        continue
    for k, v in ev["data"].items():
        if k == "owner" or DEFAULTS.get(k, None) == v:
            continue
        value = str(v).lower() if isinstance(v, bool) else str(v)
        if isinstance(v, bool):
            explained(r"transport parameter 0x[0-9a-f]+ %s" % k, "transport parameter %s (%s)" % (k, ev["data"]["owner"]))
        else:
            explained(r"transport parameter 0x[0-9a-f]+ %s[^=]* = %s \[" % (k, re.escape(value)),
                      "transport parameter %s = %s (%s)" % (k, value, ev["data"]["owner"]))
        tp_seen += 1
if tp_seen < 10:
    errors.append("too few transport parameters in the qlog: %d" % tp_seen)

# TLS: the full handshake as each side sees it, every message once at least.
for m in ("ClientHello", "ServerHello", "EncryptedExtensions", "Certificate", "CertificateVerify", "Finished",
          "NewSessionTicket"):
    explained(r"TLS %s \(\d+ bytes\)" % m, "TLS " + m)
for ext in ("cipher suites", "supported_groups", "key_share", "signature_algorithms", "supported_versions",
            "server_name", "ALPN: h3", "quic_transport_parameters", "certificate 0: .* valid "):
    explained(ext, "ClientHello/Certificate detail " + ext)

# HTTP/3: every frame the qlog saw created or parsed, the stream types, each HEADERS' field section.
h3 = set()
for ev in recs:
    if ev["name"] in ("http:frame_created", "http:frame_parsed"):
        h3.add(ev["data"]["frame"]["frame_type"])
    if ev["name"] == "http:stream_type_set":
        st = {"control": "0x0", "qpack_encode": "0x2", "qpack_decode": "0x3"}[ev["data"]["new"]]
        explained(r"HTTP/3 unidirectional stream %d, type %s" % (ev["data"]["stream_id"], st),
                  "stream %d type %s" % (ev["data"]["stream_id"], ev["data"]["new"]))
for ft in sorted(h3):
    explained(r"HTTP/3 %s frame" % ft.upper(), "HTTP/3 frame " + ft)
heads = text.count("HTTP/3 HEADERS frame")
if heads < 2 or text.count("QPACK field section prefix") != heads:
    errors.append("HEADERS frames %d but field sections %d" % (heads, text.count("QPACK field section prefix")))
if not re.search(r"QPACK (indexed|literal) field line", text):
    errors.append("no QPACK field line explained")
if not re.search(r"QPACK (Set Dynamic Table Capacity|Insert|Duplicate|Section Acknowledgment|Stream Cancellation|Insert Count Increment)", text):
    errors.append("no QPACK instruction explained")
# Loss decisions: one explained line per packet_lost event, citing the rule the library applied.
lost = [ev for ev in recs if ev["name"] == "recovery:packet_lost"]
for ev in lost:
    sect = "6.1.1" if ev["data"].get("trigger") == "reordering_threshold" else "6.1.2"
    epoch = {"initial": "Initial", "handshake": "Handshake", "1RTT": "1-RTT"}[ev["data"]["header"]["packet_type"]]
    explained(r"loss: %s packet %d declared lost: .*\[RFC 9002 §%s\]" % (epoch, ev["data"]["header"]["packet_number"], sect),
              "loss of %s packet %d (%s)" % (epoch, ev["data"]["header"]["packet_number"], ev["data"].get("trigger")))
if "--lossy" in sys.argv and len(lost) < 3:
    errors.append("a lossy run with %d packets declared lost" % len(lost))
if "--lossy" in sys.argv:
    print("%s: %d losses explained" % (trace_path, len(lost)))
explained(r"keys: Initial secrets", "Initial keys")
explained(r"keys: Handshake (read|write) keys installed", "Handshake keys")
explained(r"keys: 1-RTT (read|write) keys installed", "1-RTT keys")
explained(r"keys: Initial keys discarded", "Initial keys discarded")

if errors:
    print("\n".join(errors[:40]))
    sys.exit("%s: %d problems" % (trace_path, len(errors)))
print("%s: %d lines, %d frame types, %d transport parameters, %d HTTP/3 frame types explained with RFC sections"
      % (trace_path, len(lines), len(frames), tp_seen, len(h3)))
