"""lwq_loop, the synchronous thread-pool event loop: schedule a task, get a future, run, stop."""
import concurrent.futures
import ctypes
import itertools
import threading

from . import _native as n
from ._live import track
from .errors import Closed, Error


class EventLoop:
    """A pool of max_workers threads (the C loop's workers). submit(fn, *args) returns a
    concurrent.futures.Future; run_forever() blocks until stop(); stop() cancels the tasks not
    started (their futures are cancelled) and lets running ones finish."""

    def __init__(self, max_workers=4):
        h = ctypes.c_void_p()
        rv = n.loop_new(ctypes.byref(h), max_workers, None)
        if rv:
            raise Error(n.errname(rv), rv)
        self._h = h
        self._lock = threading.Lock()
        self._tasks = {}
        self._ids = itertools.count(1)
        self._cb = n.TASK_FN(self._run)
        self._stopped = False
        track(self, 1)

    def _run(self, arg):
        with self._lock:
            item = self._tasks.pop(arg, None)
        if item is None:
            return None
        fut, fn, args, kwargs = item
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as e:  # the future carries it
                fut.set_exception(e)
        return None

    def submit(self, fn, *args, **kwargs):
        fut = concurrent.futures.Future()
        with self._lock:
            if self._h is None or self._stopped:
                raise Closed("event loop is stopped", n.LWQ_ERR_CLOSED)
            tid = next(self._ids)
            self._tasks[tid] = (fut, fn, args, kwargs)
            rv = n.loop_post(self._h, self._cb, tid)
            if rv:
                del self._tasks[tid]
                raise Error(n.errname(rv), rv)
        return fut

    def run_forever(self):
        with self._lock:
            h = self._h
        if h is not None and not self._stopped:
            n.loop_run(h)

    def stop(self):
        with self._lock:
            if self._h is None or self._stopped:
                return
            self._stopped = True
            h = self._h
        n.loop_stop(h)
        with self._lock:
            left, self._tasks = self._tasks, {}
        for fut, *_ in left.values():
            fut.cancel()

    def close(self):
        """stop(), then joins the threads and frees the loop. Twice is harmless."""
        self.stop()
        with self._lock:
            h, self._h = self._h, None
        if h is not None:
            n.loop_del(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
