"""The Python API's numbers: echo requests per second (1,000 concurrent on one connection; PyQuic's figure
is 0.95 s = 1,052 req/s), HTTP/3 GETs per second (1 and 8 threads), peak RSS of a client holding 10,000
outstanding futures (with "rss" last: only that, in a fresh process). Servers run in other processes.
usage: app_py.py BUILD CERT KEY CA WWW_PORT [rss]"""
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, "python")
import lwquic  # noqa: E402

build, cert, key, ca, www_port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])


def free_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def py_server(port, handler_src, extra=""):
    code = ("import sys, time; sys.path.insert(0, 'python'); import lwquic\n%s\n"
            "s = lwquic.MessageServer(handler, port=%d, cert=%r, key=%r%s)\nprint('up', flush=True)\ns.wait()\n"
            % (handler_src, port, cert, key, extra))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    p.stdout.readline()
    return p


def echo_rate(port, n, rounds):
    c = lwquic.MessageClient(port=port, server_name="localhost", ca_file=ca)
    [f.result() for f in [c.send(b"warm-up") for _ in range(n)]]
    rates = []
    for _ in range(rounds):
        t = time.perf_counter()
        futs = [c.send(b"x" * 32) for _ in range(n)]
        for f in futs:
            f.result()
        rates.append(n / (time.perf_counter() - t))
    c.close()
    return statistics.median(rates), min(rates), max(rates)


def report(name, r):
    print("%-58s %8.0f req/s (median; min %.0f, max %.0f)" % (name, r[0], r[1], r[2]))


def rss_case():
    port = free_port()
    ps = py_server(port, "def handler(d):\n    time.sleep(3)\n    return d", ", max_handlers=20000, handler_workers=64")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c = lwquic.MessageClient(port=port, server_name="localhost", ca_file=ca)
    futs = [c.send(b"x" * 32) for _ in range(10000)]
    time.sleep(1)
    pending = c.pending
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("%-58s %8.1f MB (%.1f MB before connecting; %d pending)" % (
        "client peak RSS with 10,000 outstanding futures", rss1 / 1024, rss0 / 1024, pending))
    c.close()
    ps.terminate()
    ps.wait()
    assert all(f.done() for f in futs)


if sys.argv[-1] == "rss":
    rss_case()
    sys.exit(0)

# 1. echo through the Python client: against the C echo server, and against a Python-handler server
port = free_port()
es = subprocess.Popen([os.path.join(build, "app-examples", "echo_server"), cert, key, "127.0.0.1:%d" % port],
                      stdout=subprocess.PIPE)
es.stdout.readline()
report("Python client, C echo server, 1,000 concurrent", echo_rate(port, 1000, 10))
report("Python client, C echo server, 20,000 concurrent", echo_rate(port, 20000, 3))
es.terminate()
es.wait()
port = free_port()
ps = py_server(port, "def handler(d): return d")
report("Python client, Python handler server, 1,000 concurrent", echo_rate(port, 1000, 10))
ps.terminate()
ps.wait()

# 2. HTTP/3 GETs per second from Python (a 1 kB file from lwquic-server)
url = "https://localhost:%d/1k" % www_port
for threads in (1, 8):
    c = lwquic.HTTP3Client(ca_file=ca)
    c.get(url)
    per = 2000 // threads
    t = time.perf_counter()

    def run():
        for _ in range(per):
            assert c.get(url).status_code == 200

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for x in ts:
        x.start()
    for x in ts:
        x.join()
    dt = time.perf_counter() - t
    print("%-58s %8.0f req/s (%d GETs, %d connection)" % ("HTTP3Client GETs, %d thread%s" % (threads, "s" * (threads > 1)),
                                                           per * threads / dt, per * threads, c.connections()))
    c.close()

