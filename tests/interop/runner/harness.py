#!/usr/bin/env python3
"""The QUIC interop runner on loopback (docs/interop.md): for each (server, client, test) make the runner's
certificates and files, start the server endpoint, probe it with Version Negotiation, start lwquic-netsim
with the test's network, run the client endpoint under the test's timeout, then verify the relay's pcaps.

usage: harness.py --build BUILD [--out DIR] [--pairs S:C,...] [--tests T,...] [--quick] [--merge
                  [--allow-other-commit]] [--docs FILE] [--docs-only] [--tx-offload-off]
Results: DIR/results.tsv (server, client, test, pass|fail|unsupported, detail, commit, date) and
DIR/runs/<server>_<client>/<test>/. Each row records the commit of the checkout whose build ran it ("-dirty"
with uncommitted changes outside docs/) and the UTC time. --merge keeps the rows of results.tsv that this run
does not redo, so a matrix can be run pair by pair, and refuses rows of another commit unless
--allow-other-commit; --docs then regenerates the table and its counts from the merged rows (--docs-only:
from the rows alone, running nothing). Self-pairings (lwquic:lwquic) are a column of their own and never
counted as interop. Measurements (goodput, crosstraffic) run 5 times: mean ± sd. --tx-offload-off runs
everything in a network namespace whose loopback has tx checksum offload off, where UDP GSO sends fail with
EIO in the runner's containers (IPv4 loopback routed through a veth with tx checksum off; the harness says
whether this kernel still refuses GSO there).
Exit 1 when any result of this run is "fail" (or an implementation is not compliant), else 0.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import string
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
import verify  # noqa: E402

KiB, MiB = 1024, 1024 * 1024

# name: (abbreviation, server TESTCASE, client TESTCASE, file sizes, relay flags, timeout, extras)
TESTS = [
    ("handshake", "H", "handshake", "handshake", [1 * KiB], [], 60, {}),
    ("transfer", "DC", "transfer", "transfer", [2 * MiB, 3 * MiB, 5 * MiB], [], 60, {}),
    ("longrtt", "LR", "handshake", "handshake", [1 * KiB], ["--delay", "750"], 60, {}),
    ("chacha20", "C20", "chacha20", "chacha20", [3 * MiB], [], 60, {}),
    ("multiplexing", "M", "transfer", "transfer", [32] * 1999, [], 60, {}),
    ("retry", "S", "retry", "retry", [10 * KiB], [], 60, {}),
    ("resumption", "R", "resumption", "resumption", [5 * KiB, 10 * KiB], [], 60, {}),
    ("zerortt", "Z", "zerortt", "zerortt", [32] * 40, [], 60, {"longnames": True}),
    ("http3", "3", "http3", "http3", [5 * KiB, 10 * KiB, 500 * KiB], [], 60, {}),
    ("blackhole", "B", "transfer", "transfer", [10 * MiB], ["--blackhole", "5,2"], 60, {}),
    ("keyupdate", "U", "transfer", "keyupdate", [3 * MiB], [], 60, {}),
    ("ecn", "E", "ecn", "ecn", [100 * KiB], [], 60, {}),
    ("amplificationlimit", "A", "transfer", "transfer", [5 * KiB], ["--droplist-to-server", "2,3,4,5,6,7"], 60,
     {"chain": 9}),
    ("handshakeloss", "L1", "multiconnect", "multiconnect", [1 * KiB] * 50, ["--drop", "30,3"], 300, {}),
    ("transferloss", "L2", "transfer", "transfer", [2 * MiB], ["--drop", "2,3"], 60, {}),
    ("handshakecorruption", "C1", "multiconnect", "multiconnect", [1 * KiB] * 50, ["--corrupt", "30,3"], 300, {}),
    ("transfercorruption", "C2", "transfer", "transfer", [2 * MiB], ["--corrupt", "2,3"], 60, {}),
    ("ipv6", "6", "transfer", "transfer", [5 * KiB, 10 * KiB], [], 60, {"host": "server6"}),
    ("v2", "V2", "v2", "v2", [1 * KiB], [], 60, {}),
    ("rebind-port", "BP", "transfer", "transfer", [10 * MiB], ["--rebind", "1,5"], 60, {}),
    ("rebind-addr", "BA", "transfer", "transfer", [10 * MiB], ["--rebind", "1,5,addr"], 60, {}),
    ("connectionmigration", "CM", "connectionmigration", "transfer", [2 * MiB], [], 60,
     {"host": "server46", "preferred": True}),
    ("goodput", "G", "transfer", "transfer", [10 * MiB], [], 60, {"repeat": 5}),
    # the runner's iperf TCP cubic competitor is approximated by lwquic-netsim's own (--cross)
    ("crosstraffic", "C", "transfer", "transfer", [25 * MiB], ["--cross"], 180, {"repeat": 5}),
]
MEASURES = {"goodput", "crosstraffic"}
QUICK = ["handshake", "transfer", "retry", "resumption", "http3"]
IMPLS = ["lwquic", "quicgo", "ngtcp2"]
ALL_PAIRS = [("lwquic", "lwquic"), ("lwquic", "quicgo"), ("quicgo", "lwquic"), ("lwquic", "ngtcp2"),
             ("ngtcp2", "lwquic")]
QUICK_PAIRS = [("lwquic", "quicgo"), ("quicgo", "lwquic")]


def endpoint_cmd(impl, build):
    if impl == "lwquic":
        return ["bash", os.path.join(REPO, "interop", "run_endpoint.sh")], {"BIN": os.path.join(build, "bin")}
    script = os.path.join(HERE, "endpoint_%s.sh" % impl)
    return ["bash", script], {"PEER": os.path.join(build, "interop", "quicgo-peer")}


def free_port():
    """A UDP port free on 127.0.0.1 and ::1 alike."""
    for _ in range(200):
        p = random.randint(20000, 60000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", p))
                b.bind(("::1", p))
                return p
        except OSError:
            continue
    raise RuntimeError("no free UDP port")


def vn_probe(port, proc, deadline=10.0):
    """The simulator's wait for the server: 1207-byte datagrams of version WAIT until a VN comes back."""
    probe = bytes([0xC0]) + b"WAIT" + bytes([0, 0]) + bytes(1207 - 7)
    end = time.monotonic() + deadline
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        while time.monotonic() < end:
            if proc.poll() is not None:
                return False
            s.sendto(probe, ("127.0.0.1", port))
            try:
                data = s.recv(2048)
                if len(data) >= 5 and data[1:5] == b"\0\0\0\0":
                    return True
            except socket.timeout:
                pass
    return False


def slug(rng, n=None):
    if n:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))
    return "-".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
                    for _ in range(2))


class Certs:
    def __init__(self, root):
        self.root = root
        self.made = {}

    def get(self, chain):
        if chain not in self.made:
            d = os.path.join(self.root, "certs-%d" % chain)
            subprocess.run(["sh", os.path.join(HERE, "certs.sh"), d, str(chain)], check=True)
            self.made[chain] = d
        return self.made[chain]


def stop(proc, grace=3.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def spawn(cmd, env, log):
    f = open(log, "wb")
    p = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    f.close()
    return p


def base_env(extra):
    env = {k: v for k, v in os.environ.items() if k not in ("SSLKEYLOGFILE", "QLOGDIR", "TESTCASE", "ROLE")}
    env.update(extra)
    return env


def run_one(args, certs, srv, cli, test, rng, measured=None):
    name, abbr, srv_tc, cli_tc, sizes, relay_flags, timeout, extra = test
    run = os.path.join(args.out, "runs", "%s_%s" % (srv, cli), name)
    shutil.rmtree(run, ignore_errors=True)
    for sub in ("www", "downloads", "sim", "logs/server/qlog", "logs/client/qlog"):
        os.makedirs(os.path.join(run, sub), exist_ok=True)
    files = []
    for size in sizes:
        f = slug(rng, 250 if extra.get("longnames") else None)
        while f in files:
            f = slug(rng, 250 if extra.get("longnames") else None)
        files.append(f)
        with open(os.path.join(run, "www", f), "wb") as out:
            out.write(os.urandom(size))
    with open(os.path.join(run, "expected.txt"), "w", encoding="utf-8") as out:
        out.write("\n".join(files) + "\n")
    cdir = certs.get(extra.get("chain", 1))
    sport, rport = free_port(), free_port()
    s2port, r2port = (free_port(), free_port()) if extra.get("preferred") else (0, 0)
    h3_only = "ngtcp2" in (srv, cli)
    common = {"CERTS": cdir, "H3_ONLY": "1" if h3_only else ""}

    scmd, senv = endpoint_cmd(srv, args.build)
    senv.update(common)
    senv.update({"ROLE": "server", "TESTCASE": srv_tc, "WWW": os.path.join(run, "www"), "PORT": str(sport),
                 "LOGS": os.path.join(run, "logs", "server"),
                 "SSLKEYLOGFILE": os.path.join(run, "logs", "server", "keys.log"),
                 "QLOGDIR": os.path.join(run, "logs", "server", "qlog")})
    if s2port:
        senv.update({"PREFERRED_LISTEN": "[::]:%d" % s2port, "PREFERRED_ADDRESS": "127.0.0.1:%d" % r2port,
                     "PREFERRED_ADDRESS6": "[::1]:%d" % r2port})
    server = spawn(scmd, base_env(senv), os.path.join(run, "logs", "server", "output.txt"))
    relay = client = None
    try:
        if not vn_probe(sport, server):
            if server.poll() == 127:
                return "unsupported", "server: TESTCASE %s unsupported" % srv_tc
            return "fail", "server did not answer the Version Negotiation probe (exit %s)" % server.poll()
        rcmd = [os.path.join(args.build, "bin", "lwquic-netsim"), "--listen", str(rport), "--server", str(sport),
                "--left", os.path.join(run, "sim", "trace_node_left.pcap"),
                "--right", os.path.join(run, "sim", "trace_node_right.pcap")] + relay_flags
        if s2port:
            rcmd += ["--listen2", str(r2port), "--server2", str(s2port)]
        rlog = os.path.join(run, "sim", "output.txt")
        sim_start = time.monotonic()  # the runner's timeout covers the whole scenario, simulator included
        relay = spawn(rcmd, base_env({}), rlog)
        for _ in range(50):
            with open(rlog, "rb") as f:
                if b"relaying" in f.read():
                    break
            if relay.poll() is not None:
                return "fail", "relay did not start"
            time.sleep(0.05)
        host = extra.get("host", "server4")
        v4, v6 = "127.0.0.1:%d" % rport, "[::1]:%d" % rport
        resolve = "server=%s server4=%s server6=%s server46=%s" % (v4, v4, v6, v4)
        ccmd, cenv = endpoint_cmd(cli, args.build)
        cenv.update(common)
        cenv.update({"ROLE": "client", "TESTCASE": cli_tc, "DOWNLOADS": os.path.join(run, "downloads"),
                     "LOGS": os.path.join(run, "logs", "client"), "RESOLVE": resolve,
                     "SSLKEYLOGFILE": os.path.join(run, "logs", "client", "keys.log"),
                     "QLOGDIR": os.path.join(run, "logs", "client", "qlog"),
                     "REQUESTS": " ".join("https://%s:443/%s" % (host, f) for f in files)})
        client = spawn(ccmd, base_env(cenv), os.path.join(run, "logs", "client", "output.txt"))
        try:
            crc = client.wait(max(0.0, sim_start + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            stop(client, 1)
            return "fail", "timeout: %d s after the simulator started" % timeout
        elapsed = time.monotonic() - sim_start
        time.sleep(0.2)
        src = server.poll()
        if crc == 127 or src == 127:
            return "unsupported", "%s exited 127" % ("client" if crc == 127 else "server")
        if crc != 0:
            return "fail", "client exited %d after %.1f s" % (crc, elapsed)
    finally:
        for p in (client, relay, server):
            if p is not None:
                stop(p)
    v = verify.verify(name, run, measured)
    if v == "pass":
        return "pass", "%.1f s" % elapsed
    kind, _, why = v.partition(": ")
    return kind, why


def compliance(args, impl):
    """A random TESTCASE must make both roles exit 127 (the runner's pre-check)."""
    d = os.path.join(args.out, "compliance", impl)
    os.makedirs(d, exist_ok=True)
    cmd, env = endpoint_cmd(impl, args.build)
    ok = True
    for role in ("server", "client"):
        env2 = dict(env, ROLE=role, TESTCASE="x" + slug(random.Random()), WWW=d, DOWNLOADS=d, LOGS=d, CERTS=d,
                    PORT=str(free_port()), REQUESTS="https://server4:443/x")
        p = spawn(cmd, base_env(env2), os.path.join(d, role + ".txt"))
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            rc = stop(p)
        if rc != 127:
            print("compliance: %s as %s exited %s for an unknown TESTCASE (must be 127)" % (impl, role, rc))
            ok = False
    return ok


def checkout_commit():
    """The commit of this checkout, "-dirty" when tracked files outside docs/ differ from it."""
    def git(*a):
        return subprocess.run(["git", "-C", REPO] + list(a), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, check=False).stdout.strip()
    head = git("rev-parse", "--short=7", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs") else "")


# server, client, test, result, detail, commit, date
NCOLS = 7


def read_tsv(path):
    """Rows of NCOLS columns; rows written before commits were recorded get "" for commit and date."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 4:
                    rows.append(tuple((cols + [""] * NCOLS)[:NCOLS]))
    except OSError:
        pass
    return rows


def write_tsv(path, rows):
    """Rows in matrix order (pairs as given, tests as in TESTS), atomically."""
    order = {t[0]: i for i, t in enumerate(TESTS)}
    pairs = []
    for r in rows:
        if (r[0], r[1]) not in pairs:
            pairs.append((r[0], r[1]))
    rows = sorted(rows, key=lambda r: (pairs.index((r[0], r[1])), order.get(r[2], 99)))
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for r in rows:
            f.write("\t".join(x.replace("\t", " ").replace("\n", " ") for x in r) + "\n")
    os.replace(path + ".tmp", path)


def merge_rows(old, redo, commit, allow_other):
    """The old rows this run keeps; raises ValueError naming rows of another commit unless allowed."""
    kept = [r for r in old if (r[0], r[1], r[2]) not in redo]
    other = [r for r in kept if r[5] != commit]
    if other and not allow_other:
        raise ValueError("%d kept row(s) are of another commit (%s), this checkout is %s; rerun them or pass "
                         "--allow-other-commit" % (len(other), ", ".join(sorted({r[5] or "unrecorded" for r in other})),
                                                   commit))
    return kept


def counts(rows):
    return {k: sum(1 for r in rows if r[3] == k) for k in ("pass", "fail", "unsupported")}


def mean_sd(values):
    """"mean ± sd" of a measurement's repetitions (sample standard deviation)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return "%.0f ± %.0f" % (statistics.mean(values), sd)


MARK_BEGIN, MARK_END = "<!-- matrix:begin -->", "<!-- matrix:end -->"


def write_docs(path, results):
    """The matrix and its counts, both computed from the rows: peer pairings first, then the self-pairings in
    columns of their own, never counted as interop."""
    pairs = []
    for r in results:
        if (r[0], r[1]) not in pairs:
            pairs.append((r[0], r[1]))
    peer = [p for p in pairs if p[0] != p[1]]
    self_ = [p for p in pairs if p[0] == p[1]]
    cols = peer + self_
    sym = {"pass": "✓", "fail": "✗", "unsupported": "–"}
    head = ["%s → %s" % p for p in peer] + ["%s → %s (self)" % p for p in self_]
    lines = [MARK_BEGIN, "", "| test | " + " | ".join(head) + " |", "|---|" + "---|" * len(cols)]
    for t in TESTS:
        row = {(r[0], r[1]): r for r in results if r[2] == t[0]}
        if not row:
            continue
        cells = []
        for p in cols:
            r = row.get(p)
            cell = sym.get(r[3], " ") if r else " "
            if r and r[2] in MEASURES and r[3] == "pass" and " kbps" in r[4]:
                cell += " " + r[4].split(" kbps")[0]
            cells.append(cell)
        lines.append("| %s (%s) | " % (t[0], t[1]) + " | ".join(cells) + " |")
    interop = [r for r in results if r[0] != r[1]]
    own = [r for r in results if r[0] == r[1]]
    ci, co = counts(interop), counts(own)
    commits = sorted({r[5] or "unrecorded" for r in results})
    dates = sorted({r[6][:10] for r in results if r[6]})
    lines += ["", "Server → client. ✓ pass, ✗ fail, – unsupported (exit 127 or no keylog); goodput in kbps, mean ± sd "
              "of 5 runs. Counted from the rows: interop (%d peer pairings) %d passed, %d failed, %d unsupported; "
              "self-pairings (not interop) %d passed, %d failed, %d unsupported. Commit%s %s%s."
              % (len(peer), ci["pass"], ci["fail"], ci["unsupported"], co["pass"], co["fail"], co["unsupported"],
                 "s" if len(commits) > 1 else "", ", ".join(commits),
                 (", " + " to ".join([dates[0], dates[-1]] if len(dates) > 1 else dates)) if dates else ""),
              "", "Failures and their reasons:", ""]
    fails = ["- %s → %s %s: %s" % (r[0], r[1], r[2], r[4].replace("|", "/")) for r in results if r[3] == "fail"]
    lines += (fails or ["- none"]) + ["", "Unsupported (what the harness saw):", ""]
    unsup = ["- %s → %s %s: %s" % (r[0], r[1], r[2], r[4].replace("|", "/")) for r in results
             if r[3] == "unsupported"]
    lines += (unsup or ["- none"]) + ["", MARK_END]
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        text = ""
    if MARK_BEGIN in text and MARK_END in text:
        a, b = text.index(MARK_BEGIN), text.index(MARK_END) + len(MARK_END)
        text = text[:a] + "\n".join(lines) + text[b:]
    else:
        text += "\n" + "\n".join(lines) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run_case(args, certs, srv, cli, t, rng):
    """One case; a measurement runs t's "repeat" times (the runner's 5) and fails when any run fails."""
    n = t[7].get("repeat", 1)
    values = []
    for _ in range(n):
        m = {}
        r, why = run_one(args, certs, srv, cli, t, rng, m)
        if r != "pass":
            return r, why if n == 1 else "run %d of %d: %s" % (len(values) + 1, n, why)
        if "value" in m:
            values.append(m["value"])
    if values:
        return "pass", "%s kbps (%d runs: %s)" % (mean_sd(values), n, " ".join("%.0f" % v for v in values))
    return r, why


SIOCETHTOOL, ETHTOOL_STXCSUM, UDP_SEGMENT = 0x8946, 0x17, 103
# IPv4 loopback traffic of this namespace routed through a veth pair whose tx checksum offload is off (lo's
# is fixed on), as the runner's endpoint containers turn it off on their interface.
VETH_SETUP = """ip link set lo up
ip link add lwq0 type veth peer name lwq1
ip link set lwq0 up
ip link set lwq1 up
sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lwq1.rp_filter=0
sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.lwq1.accept_local=1
sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.lwq0.route_localnet=1 net.ipv4.conf.lwq1.route_localnet=1
ip route add 127.0.0.0/8 dev lwq0 table 100 src 127.0.0.1
ip rule add pref 10 iif lo lookup 100
ip rule add pref 100 lookup local
ip rule del pref 0"""


def tx_offload_off():
    """Sets up the namespace (VETH_SETUP, then tx checksum off on lwq0 as `ethtool -K lwq0 tx off` would)
    and says whether a UDP GSO send now fails with EIO, as it did in the runner's containers. Newer kernels
    segment in software instead; lwquic's fallback is then not reached here (tests/io/test_udp.c makes the
    kernel refuse GSO another way and checks the fallback). Returns the note for the rows."""
    import ctypes
    import errno
    import fcntl
    import struct
    subprocess.run(["sh", "-e", "-c", VETH_SETUP], check=True)
    ev = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, struct.pack("16sP", b"lwq0", ctypes.addressof(ev)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, 1000)
        try:
            s.sendto(bytes(3000), sink.getsockname())
        except OSError as e:
            if e.errno == errno.EIO:
                print("tx offload off: a UDP GSO send fails with EIO; lwquic falls back to plain sends", flush=True)
                return "tx offload off, GSO refused"
            raise
    print("tx offload off: this kernel (%s) still accepts UDP GSO sends (software segmentation), so lwquic's "
          "fallback does not run here" % os.uname().release, flush=True)
    return "tx offload off, GSO still accepted by the kernel"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out")
    ap.add_argument("--pairs")
    ap.add_argument("--tests")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--docs")
    ap.add_argument("--merge", action="store_true", help="keep results.tsv rows this run does not redo")
    ap.add_argument("--allow-other-commit", action="store_true", help="--merge may keep rows of another commit")
    ap.add_argument("--docs-only", action="store_true", help="regenerate --docs from the rows, run nothing")
    ap.add_argument("--tx-offload-off", action="store_true",
                    help="run in a network namespace whose loopback has tx checksum offload off")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if args.tx_offload_off and not os.environ.get("LWQ_HARNESS_NETNS"):
        unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
        env = dict(os.environ, LWQ_HARNESS_NETNS="1")
        return subprocess.run(unshare + [sys.executable] + sys.argv, env=env, check=False).returncode
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out or os.path.join(args.build, "interop-txoff" if args.tx_offload_off
                                                        else "interop"))
    os.makedirs(args.out, exist_ok=True)
    commit = checkout_commit()
    tsv = os.path.join(args.out, "results.tsv")
    # docs/interop-results.tsv: the rows behind the matrix, so a fresh checkout can --merge too
    docs_tsv = os.path.splitext(args.docs)[0] + "-results.tsv" if args.docs else None
    if args.docs_only:
        if not args.docs:
            ap.error("--docs-only needs --docs")
        write_docs(args.docs, read_tsv(docs_tsv))
        return 0
    offload_note = tx_offload_off() if args.tx_offload_off else None
    pairs = QUICK_PAIRS if args.quick else ALL_PAIRS
    if args.pairs:
        pairs = [tuple(p.split(":")) for p in args.pairs.split(",")]
    names = QUICK if args.quick else [t[0] for t in TESTS]
    if args.tests:
        names = args.tests.split(",")
    tests = [t for t in TESTS if t[0] in names]
    kept = []  # before anything runs: a refused merge costs nothing
    if args.merge:
        redo = {(s, c, t[0]) for s, c in pairs for t in tests}
        old = read_tsv(tsv) or (read_tsv(docs_tsv) if docs_tsv else [])
        try:
            kept = merge_rows(old, redo, commit, args.allow_other_commit)
        except ValueError as e:
            print("harness.py --merge: %s" % e, file=sys.stderr)
            return 2
    impls = sorted({x for p in pairs for x in p})
    if "quicgo" in impls:
        peer = os.path.join(args.build, "interop", "quicgo-peer")
        src = os.path.join(REPO, "tests", "interop", "quicgo", "peer.go")
        if not os.path.exists(peer) or os.path.getmtime(src) > os.path.getmtime(peer):
            subprocess.run(["sh", os.path.join(REPO, "tests", "interop", "build_peer.sh"),
                            os.path.join(args.build, "interop")], check=True, stdout=subprocess.DEVNULL)
    failed = False
    for impl in impls:
        if not compliance(args, impl):
            failed = True
            pairs = [p for p in pairs if impl not in p]
    rng = random.Random(args.seed)
    certs = Certs(os.path.join(args.out, "certs"))
    results = []
    for srv, cli in pairs:
        for t in tests:
            r, why = run_case(args, certs, srv, cli, t, rng)
            if offload_note:
                why += " (%s)" % offload_note
            results.append((srv, cli, t[0], r, why, commit, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
            write_tsv(tsv, kept + results)
            print("%-11s %-6s → %-6s %-20s %s" % (r, srv, cli, t[0], why), flush=True)
            failed |= r == "fail"
    write_tsv(tsv, kept + results)
    if args.docs:
        write_docs(args.docs, kept + results)
        write_tsv(docs_tsv, kept + results)
    n = {k: sum(1 for x in results if x[3] == k) for k in ("pass", "fail", "unsupported")}
    print("interop runner: %d passed, %d failed, %d unsupported (%s)" % (n["pass"], n["fail"], n["unsupported"], tsv))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
