import threading
import time

import pytest

import lwquic


def test_submit_results_and_exceptions():
    with lwquic.EventLoop(4) as loop:
        futs = [loop.submit(lambda x: x * x, i) for i in range(100)]
        assert [f.result(5) for f in futs] == [i * i for i in range(100)]
        with pytest.raises(ZeroDivisionError):
            loop.submit(lambda: 1 / 0).result(5)


def test_runs_in_parallel_and_nested_waits():
    with lwquic.EventLoop(4) as loop:
        t0 = time.time()
        futs = [loop.submit(time.sleep, 0.2) for _ in range(4)]
        for f in futs:
            f.result(5)
        assert time.time() - t0 < 0.6
        inner = loop.submit(lambda: loop.submit(lambda: 7).result(5))
        assert inner.result(5) == 7


def test_run_forever_stop_and_use_after_close():
    loop = lwquic.EventLoop(2)
    t = threading.Thread(target=loop.run_forever)
    t.start()
    assert loop.submit(lambda: "ran").result(5) == "ran"
    loop.stop()
    t.join(5)
    assert not t.is_alive()
    with pytest.raises(lwquic.Closed):
        loop.submit(lambda: None)
    loop.close()
    loop.close()
