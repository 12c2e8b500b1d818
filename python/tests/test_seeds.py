"""The seeds' shapes: lwquic.pyquic and lwquic.quicpro."""
import asyncio
import concurrent.futures
import json

import pytest

from conftest import CA, CERT, KEY
from lwquic.pyquic import PyQuicClient, PyQuicServer
from lwquic.quicpro import Client, PriorityLevel, StreamPriority, SyncEventLoop


def json_processor(data):
    return json.dumps({"echo": json.loads(data.decode()), "processed": True}).encode()


def test_pyquic_fluent_server_and_client():
    server = PyQuicServer().with_host("127.0.0.1").with_port(0).with_cert(CERT).with_key(KEY) \
        .with_handler(json_processor).start()
    client = PyQuicClient().with_host("127.0.0.1").with_port(server.port).insecure().start()
    futs = [client.send_message(json.dumps({"i": i})) for i in range(10)]
    assert all(isinstance(f, concurrent.futures.Future) for f in futs)
    assert [json.loads(f.result()) for f in futs] == [{"echo": {"i": i}, "processed": True} for i in range(10)]
    client.close()
    server.stop()


def test_pyquic_timeout_and_verified_start():
    import time

    def slow(data):
        time.sleep(0.5)
        return data

    server = PyQuicServer().with_port(0).with_cert(CERT).with_key(KEY).with_handler(slow).start()
    client = PyQuicClient().with_port(server.port).with_server_name("localhost").with_ca_file(CA).start()
    with pytest.raises(asyncio.TimeoutError):
        client.send_message("Hello", timeout=0.1).result()
    client.close()
    with pytest.raises(Exception):
        PyQuicClient().with_port(server.port).start()  # not trusted without insecure()
    server.stop()


def test_quicpro_priority_mapping():
    assert StreamPriority.from_priority_level(PriorityLevel.HIGH).urgency == 1
    assert StreamPriority.from_priority_level(PriorityLevel.LOW).urgency == 5
    with pytest.raises(ValueError):
        StreamPriority(8)


def test_quicpro_client(h3server):
    with pytest.warns(UserWarning):
        client = Client(remote_address=("127.0.0.1", h3server["port"]), timeout=5, event_loop_max_workers=4,
                        demo_mode=True)
    r = client.request("GET", "https://example.com/file.bin", params={"q": "test"},
                       priority=StreamPriority.from_priority_level(PriorityLevel.HIGH))
    assert r.status_code == 200 and r.content == h3server["data"]
    client.close()
    with Client(remote_address=("127.0.0.1", h3server["port"]), timeout=5, cafile=CA) as c:
        assert c.get("https://localhost/data.json").json() == {"answer": 42}
    with pytest.raises(FileNotFoundError) as e:
        Client(remote_address=("127.0.0.1", 1), certfile="/nonexistent/c.pem")
    assert "/nonexistent/c.pem" in str(e.value)


def test_sync_event_loop():
    import threading
    loop = SyncEventLoop(max_workers=4)
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    f = loop.schedule_task(lambda a, b: a + b, 2, 3)
    assert f.result(5) == 5
    loop.stop()
    t.join(5)
    assert not t.is_alive()
