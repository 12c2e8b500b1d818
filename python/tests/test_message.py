import asyncio
import threading
import time

import pytest

import lwquic
from conftest import CA, CERT, KEY


def handler(data):
    if data == b"raise":
        raise ValueError("boom")
    if data == b"none":
        return None
    if data == b"str":
        return "text answer"
    if data == b"bytearray":
        return bytearray(b"ba")
    if data.startswith(b"sleep"):
        time.sleep(0.5)
    return data


@pytest.fixture
def server():
    s = lwquic.MessageServer(handler, port=0, cert=CERT, key=KEY)
    yield s
    s.close()


def client(server, **kw):
    return lwquic.MessageClient(port=server.port, server_name="localhost", ca_file=CA, **kw)


def test_echo_and_return_types(server):
    with client(server) as c:
        assert c.send(b"hello").result(5) == b"hello"
        assert c.send("unicode \u00e9").result(5) == "unicode \u00e9".encode()
        assert c.send(b"none").result(5) == b""
        assert c.send(b"str").result(5) == b"text answer"
        assert c.send(b"bytearray").result(5) == b"ba"


def test_handler_exception_resets_stream_and_server_goes_on(server, caplog):
    with client(server) as c:
        with pytest.raises(lwquic.StreamReset) as e:
            c.send(b"raise").result(5)
        assert e.value.app_code == 1
        assert "handler failed" in str(e.value)
        assert c.send(b"after").result(5) == b"after"
    assert any("boom" in r.getMessage() or "boom" in str(r.exc_info) for r in caplog.records)


def test_timeout_raises_asyncio_timeout(server):
    with client(server) as c:
        t0 = time.time()
        with pytest.raises(asyncio.TimeoutError):
            c.send(b"sleep", timeout=0.1).result(5)
        assert time.time() - t0 < 0.45


def test_cancel_is_refused_and_results_still_land(server):
    with client(server) as c:
        f = c.send(b"sleep")
        assert f.cancel() is False
        assert f.result(5) == b"sleep"
        assert c.send(b"next").result(5) == b"next"


def test_thousand_concurrent_one_connection(server):
    with client(server) as c:
        futs = [c.send(b"msg %d" % i) for i in range(1000)]
        assert [f.result(30) for f in futs] == [b"msg %d" % i for i in range(1000)]
        assert c.pending == 0


def test_many_threads(server):
    c = client(server)
    bad = []

    def run(k):
        for i in range(100):
            m = b"t%d-%d" % (k, i)
            if c.send(m).result(30) != m:
                bad.append(m)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert bad == []
    c.close()


def test_close_twice_and_use_after_close(server):
    c = client(server)
    c.close()
    c.close()
    with pytest.raises(lwquic.Closed):
        c.send(b"x")
    server.close()
    server.close()
    with pytest.raises(lwquic.Closed):
        server.port


def test_server_close_fails_pending_with_reason():
    s = lwquic.MessageServer(handler, port=0, cert=CERT, key=KEY)
    c = lwquic.MessageClient(port=s.port, server_name="localhost", ca_file=CA)
    futs = [c.send(b"sleep") for _ in range(5)]
    time.sleep(0.1)
    s.close()
    for f in futs:
        with pytest.raises(lwquic.ConnectionClosed) as e:
            f.result(10)
        assert "shutting down" in str(e.value) and "0x5" in str(e.value)
    with pytest.raises(lwquic.ConnectionClosed):
        c.send(b"later").result(5)
    c.close()


def test_oversize_message():
    s = lwquic.MessageServer(handler, port=0, cert=CERT, key=KEY, max_message=1000)
    with lwquic.MessageClient(port=s.port, server_name="localhost", ca_file=CA) as c:
        with pytest.raises(lwquic.StreamReset) as e:
            c.send(b"x" * 5000).result(10)
        assert e.value.app_code == 2 and "size limit" in str(e.value)
    s.close()


def test_bad_input():
    with pytest.raises(FileNotFoundError) as e:
        lwquic.MessageServer(handler, port=0, cert="/nonexistent/cert.pem", key=KEY)
    assert "/nonexistent/cert.pem" in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        lwquic.MessageServer(handler, port=0, cert=CERT, key="/nonexistent/key.pem")
    assert "/nonexistent/key.pem" in str(e.value)
    t0 = time.time()
    with pytest.raises(lwquic.ConnectionClosed) as e:
        lwquic.MessageClient(host="no-such-host.invalid", port=4433, connect_timeout=2)
    assert "resolve" in str(e.value)
    with pytest.raises(lwquic.ConnectionClosed):
        lwquic.MessageClient(port=9, connect_timeout=2)
    assert time.time() - t0 < 8


def test_certificate_verified_by_default(server):
    with pytest.raises(lwquic.ConnectionClosed):
        lwquic.MessageClient(port=server.port, connect_timeout=3)
    with lwquic.MessageClient(port=server.port, insecure=True) as c:
        assert c.send(b"ok").result(5) == b"ok"
