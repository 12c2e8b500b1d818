"""Checks a qlog file the way qvis reads it (its JSON-SEQ loader and draft-02 parser): the header
record has qlog_version, qlog_format "JSON-SEQ" and a trace with vantage_point and common_fields;
every event has a numeric time (non-decreasing), a name "category:event" and a data object; packet
events carry header.packet_type, header.packet_number, raw.length and frames with frame_type;
recovery:metrics_updated the fields of the congestion graph. usage: check_qvis.py FILE.sqlog [--h3]"""
import json
import sys

CATEGORIES = {"connectivity", "transport", "recovery", "security", "http"}


def fail(path, msg):
    sys.exit("%s: %s" % (path, msg))


def check(path, want_h3):
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    records = [r for r in raw.split("\x1e") if r.strip()]
    if not raw.startswith("\x1e") or len(records) < 5:
        fail(path, "not a JSON text sequence with events")
    try:
        recs = [json.loads(r) for r in records]
    except ValueError as e:
        fail(path, "a record is not JSON: %s" % e)
    head = recs[0]
    if head.get("qlog_version") != "0.3" or head.get("qlog_format") != "JSON-SEQ":
        fail(path, "header lacks qlog_version 0.3 / qlog_format JSON-SEQ")
    trace = head.get("trace")
    if not isinstance(trace, dict) or trace.get("vantage_point", {}).get("type") not in ("client", "server"):
        fail(path, "trace.vantage_point.type missing")
    common = trace.get("common_fields", {})
    if common.get("time_format") != "relative" or not isinstance(common.get("reference_time"), (int, float)):
        fail(path, "common_fields lacks time_format relative and a numeric reference_time")
    names = set()
    last = -1.0
    for i, ev in enumerate(recs[1:], 1):
        t, name, data = ev.get("time"), ev.get("name"), ev.get("data")
        if not isinstance(t, (int, float)) or t < last:
            fail(path, "event %d: time %r missing or going back" % (i, t))
        last = t
        if not isinstance(name, str) or name.split(":")[0] not in CATEGORIES or ":" not in name:
            fail(path, "event %d: name %r is not category:event" % (i, name))
        if not isinstance(data, dict):
            fail(path, "event %d: no data object" % i)
        names.add(name)
        if name in ("transport:packet_sent", "transport:packet_received"):
            h = data.get("header", {})
            if not isinstance(h.get("packet_type"), str) or not isinstance(h.get("packet_number"), int):
                fail(path, "event %d: header.packet_type/packet_number" % i)
            if not isinstance(data.get("raw", {}).get("length"), int):
                fail(path, "event %d: raw.length" % i)
            for fr in data.get("frames", []):
                if not isinstance(fr.get("frame_type"), str):
                    fail(path, "event %d: a frame without frame_type" % i)
        if name == "recovery:metrics_updated":
            for k in ("min_rtt", "smoothed_rtt", "congestion_window", "bytes_in_flight"):
                if not isinstance(data.get(k), (int, float)):
                    fail(path, "event %d: metrics_updated lacks %s" % (i, k))
        if name == "connectivity:connection_started":
            for k in ("src_ip", "dst_ip", "src_port", "dst_port"):
                if k not in data:
                    fail(path, "connection_started lacks %s" % k)
        if name == "http:frame_created" or name == "http:frame_parsed":
            if not isinstance(data.get("stream_id"), int) or not isinstance(data.get("frame", {}).get("frame_type"), str):
                fail(path, "event %d: http frame without stream_id / frame.frame_type" % i)
    need = {"connectivity:connection_started", "transport:parameters_set", "transport:packet_sent",
            "transport:packet_received", "recovery:metrics_updated"}
    if want_h3:
        need |= {"http:frame_created", "http:frame_parsed", "http:stream_type_set"}
    if need - names:
        fail(path, "missing events: %s" % ", ".join(sorted(need - names)))
    print("%s: %d events, qvis fields present" % (path, len(recs) - 1))


for arg in sys.argv[1:]:
    if not arg.startswith("--"):
        check(arg, "--h3" in sys.argv)
