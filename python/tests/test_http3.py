import threading

import pytest

import lwquic
from conftest import CA


def url(srv, path):
    return "https://localhost:%d%s" % (srv["port"], path)


def test_get_post_head_and_json(h3server):
    with lwquic.HTTP3Client(ca_file=CA) as c:
        r = c.request("GET", url(h3server, "/file.bin"), params={"q": "test"}, priority=(1, True))
        assert r.status_code == 200 and r.content == h3server["data"]
        assert c.request("HEAD", url(h3server, "/file.bin")).content == b""
        assert c.request("GET", url(h3server, "/missing")).status_code == 404
        r = c.request("POST", url(h3server, "/echo"), body=b"posted", headers={"X-Test": "1"})
        assert r.status_code == 200 and r.content == b"posted"
        r = c.get(url(h3server, "/data.json"))
        assert r.json() == {"answer": 42} and r.text == '{"answer": 42}'
        assert c.connections() == 1


def test_threads_share_one_connection(h3server):
    c = lwquic.HTTP3Client(ca_file=CA)
    ok = []

    def run():
        for _ in range(5):
            ok.append(c.get(url(h3server, "/file.bin")).content == h3server["data"])

    ts = [threading.Thread(target=run) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert ok == [True] * 40
    assert c.connections() == 1
    c.close()
    c.close()
    with pytest.raises(lwquic.Closed):
        c.get(url(h3server, "/file.bin"))


def test_limits_and_errors(h3server):
    with lwquic.HTTP3Client(ca_file=CA, max_body=1000, remote_address=("127.0.0.1", h3server["port"])) as c:
        with pytest.raises(lwquic.Error) as e:
            c.get("https://localhost/file.bin")
        assert "max_body" in str(e.value)
    with lwquic.HTTP3Client(timeout=3) as c:  # the system bundle does not trust the test CA
        with pytest.raises(lwquic.Error):
            c.get(url(h3server, "/file.bin"))
        with pytest.raises(lwquic.Error) as e:
            c.get("https://no-such-host.invalid/")
        assert "resolve" in str(e.value)


def test_reconnect_after_idle_close_resumes(h3server):
    import time
    with lwquic.HTTP3Client(ca_file=CA, idle_timeout=2.0) as c:
        assert c.get(url(h3server, "/data.json")).resumed is False
        time.sleep(4.5)
        r = c.get(url(h3server, "/data.json"))
        assert r.json() == {"answer": 42} and r.resumed is True
        assert c.connections() >= 2
