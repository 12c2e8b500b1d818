"""The message protocol (one bidirectional stream per request): MessageServer and MessageClient."""
import asyncio
import concurrent.futures
import ctypes
import itertools
import logging
import threading
import time

from . import _native as n
from ._live import track
from .errors import Closed, ConnectionClosed, Error, StreamReset

log = logging.getLogger("lwquic")


def _bytes(v):
    if v is None:
        return None
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("a handler returns bytes, bytearray, str or None, not %s" % type(v).__name__)


class MessageServer:
    """Serves handler(data: bytes) -> bytes | bytearray | str | None on every request stream.

    Handlers run on a pool of handler_workers threads (never on a network thread); an exception is
    logged and the request's stream is reset with the handler-failure code; the server goes on."""

    def __init__(self, handler, host="127.0.0.1", port=4433, cert="cert.pem", key="key.pem", alpn="echo",
                 max_message=16 << 20, max_handlers=1024, max_streams=1000, workers=2, handler_workers=4):
        self._handler = handler
        self._cb = n.MSG_HANDLER(self._run)
        self._logcb = n.LOG_FN(lambda ud, line: log.warning("%s", line.decode(errors="replace")))
        cfg = n.MsgsrvConfig()
        n.msgsrv_config_init(ctypes.byref(cfg))
        self._listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        self._strs = [s.encode() for s in (self._listen, cert, key, alpn)]
        cfg.listen, cfg.cert_file, cfg.key_file, cfg.alpn = self._strs
        cfg.handler = self._cb
        cfg.max_message, cfg.max_handlers, cfg.max_streams = max_message, max_handlers, max_streams
        cfg.workers, cfg.handler_workers = workers, handler_workers
        cfg.log = self._logcb
        err = ctypes.create_string_buffer(512)
        h = ctypes.c_void_p()
        rv = n.msgsrv_new(ctypes.byref(h), ctypes.byref(cfg), err, len(err))
        if rv:
            msg = err.value.decode(errors="replace")
            if "cannot read" in msg:
                raise FileNotFoundError(msg)
            raise Error(msg, rv)
        self._h = h
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        track(self, 1)

    def _run(self, ud, data, length, reply):
        try:
            out = _bytes(self._handler(ctypes.string_at(data, length)))
        except Exception:
            log.exception("message handler failed")
            return -1
        if out is not None and n.msg_reply_set(reply, out, len(out)) != 0:
            log.error("handler answer of %d bytes exceeds the size limit", len(out))
            return -1
        return 0

    @property
    def port(self):
        """The bound port (useful with port=0)."""
        if self._h is None:
            raise Closed("server is closed", n.LWQ_ERR_CLOSED)
        return n.msgsrv_port(self._h)

    def stats(self):
        with self._lock:
            if self._h is None:
                raise Closed("server is closed", n.LWQ_ERR_CLOSED)
            st = n.MsgsrvStats()
            n.msgsrv_get_stats(self._h, ctypes.byref(st))
        return {k: getattr(st, k) for k, _ in n.MsgsrvStats._fields_}

    def wait(self, timeout=None):
        """Blocks until close() (from another thread or a signal handler)."""
        return self._stopped.wait(timeout)

    def close(self):
        with self._lock:
            h, self._h = self._h, None
        if h is not None:
            n.msgsrv_del(h)
        self._stopped.set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MessageClient:
    """One connection to a MessageServer; send(data) returns a concurrent.futures.Future[bytes].

    Any number of requests may be outstanding (those beyond the server's stream limit wait). One
    background thread completes futures in batches. Safe to use from many threads."""

    def __init__(self, host="127.0.0.1", port=4433, server_name=None, ca_file=None, insecure=False,
                 alpn="echo", connect_timeout=10.0, max_response=16 << 20):
        cfg = n.MsgcliConfig()
        n.msgcli_config_init(ctypes.byref(cfg))
        target = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        self._strs = [target.encode(), server_name.encode() if server_name else None,
                      ca_file.encode() if ca_file else None, alpn.encode()]
        cfg.server, cfg.server_name, cfg.ca_file, cfg.alpn = self._strs
        cfg.insecure = 1 if insecure else 0
        cfg.connect_timeout = int(connect_timeout * n.NS)
        cfg.max_response = max_response
        err = ctypes.create_string_buffer(512)
        h = ctypes.c_void_p()
        rv = n.msgcli_new(ctypes.byref(h), ctypes.byref(cfg), err, len(err))
        if rv:
            raise ConnectionClosed(err.value.decode(errors="replace"), rv)
        self._h = h
        self._lock = threading.Lock()
        self._futures = {}
        self._tags = itertools.count(1)
        self._stop = False
        self._thread = threading.Thread(target=self._complete, name="lwquic-message-client", daemon=True)
        self._thread.start()
        track(self, 0)

    def send(self, data, timeout=None):
        """Sends data (bytes or str) as one request; the future's result is the answer (bytes).
        timeout (seconds): the future fails with asyncio.TimeoutError when no answer came in time."""
        if isinstance(data, str):
            data = data.encode()
        elif not isinstance(data, bytes):
            data = bytes(data)
        fut = concurrent.futures.Future()
        fut.set_running_or_notify_cancel()  # in flight at once: cancel() says no, results always land
        tag = next(self._tags)
        with self._lock:
            if self._h is None:
                raise Closed("client is closed", n.LWQ_ERR_CLOSED)
            self._futures[tag] = fut
            rv = n.msgcli_send_tagged(self._h, data, len(data), int(timeout * n.NS) if timeout else 0, tag)
        if rv:
            self._futures.pop(tag, None)
            raise Error(n.errname(rv), rv)
        return fut

    def _complete(self):
        batch = (ctypes.c_void_p * 512)()
        tag, code, ptr, ln = ctypes.c_uint64(), ctypes.c_uint64(), n.c_u8p(), ctypes.c_size_t()
        reason = ctypes.c_char_p()
        rt, rp, rl, rc, rr = (ctypes.byref(x) for x in (tag, ptr, ln, code, reason))
        result, string_at, fdel = n.msg_future_result, ctypes.string_at, n.msg_future_del
        futures = self._futures
        h = self._h
        while not self._stop:
            k = n.msgcli_next_done(h, batch, 512, 100_000_000)
            if k < 0:  # the connection is gone and nothing is pending: later sends fail at once
                time.sleep(0.05)
                continue
            for i in range(k):
                f = batch[i]
                rv = result(f, rt, rp, rl, rc)
                fut = futures.pop(tag.value, None)
                if fut is None:
                    fdel(f)
                    continue
                if rv == 0:
                    data = string_at(ptr, ln.value)
                    fdel(f)
                    fut.set_result(data)
                    continue
                n.msg_future_error(f, None, rr)
                why = reason.value.decode(errors="replace")
                n.msg_future_del(f)
                if rv == n.LWQ_ERR_TIMEOUT:
                    exc = asyncio.TimeoutError(why)
                elif rv == n.LWQ_ERR_RESET:
                    exc = StreamReset(why, rv, code.value)
                elif rv == n.LWQ_ERR_CLOSED:
                    exc = ConnectionClosed(why, rv)
                else:
                    exc = Error("%s: %s" % (n.errname(rv), why), rv)
                fut.set_exception(exc)

    @property
    def pending(self):
        with self._lock:
            return 0 if self._h is None else n.msgcli_pending(self._h)

    @property
    def closed(self):
        with self._lock:
            return self._h is None or n.msgcli_closed(self._h, None, 0) == 1

    def close(self):
        """Closes the connection; futures still pending fail with ConnectionClosed. Twice is harmless."""
        with self._lock:
            h, self._h = self._h, None
        if h is None:
            return
        self._stop = True
        if self._thread is not threading.current_thread():
            self._thread.join()
        n.msgcli_del(h)
        left, self._futures = self._futures, {}
        for fut in left.values():
            if not fut.done():
                fut.set_exception(ConnectionClosed("the client was closed", n.LWQ_ERR_CLOSED))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
