"""quicpro's API on lwquic: Client, StreamPriority, PriorityLevel, SyncEventLoop.

    from lwquic.quicpro import Client, StreamPriority, PriorityLevel, SyncEventLoop

demo_mode=True does not simulate anything here: it is real TLS without certificate verification
(a warning says so). Certificates are verified by default, against cafile or the system bundle."""
import enum
import os
import warnings

from .http3 import HTTP3Client, Response
from .loop import EventLoop

__all__ = ["Client", "StreamPriority", "PriorityLevel", "SyncEventLoop", "Response"]


class PriorityLevel(enum.IntEnum):
    """RFC 9218 urgencies: 0 is the most urgent, 3 the default, 7 background."""
    CRITICAL = 0
    HIGH = 1
    MEDIUM = 3
    LOW = 5
    BACKGROUND = 7


class StreamPriority:
    def __init__(self, urgency=3, incremental=False):
        if not 0 <= int(urgency) <= 7:
            raise ValueError("urgency is 0..7")
        self.urgency = int(urgency)
        self.incremental = bool(incremental)

    @classmethod
    def from_priority_level(cls, level, incremental=False):
        return cls(int(PriorityLevel(level)), incremental)

    def __repr__(self):
        return "StreamPriority(urgency=%d, incremental=%s)" % (self.urgency, self.incremental)


class Client:
    def __init__(self, remote_address=None, timeout=5, event_loop_max_workers=4, certfile=None, keyfile=None,
                 cafile=None, demo_mode=False):
        for what, path in (("certfile", certfile), ("keyfile", keyfile), ("cafile", cafile)):
            if path is not None and not os.path.isfile(path):
                raise FileNotFoundError("%s %s: no such file" % (what, path))
        if demo_mode:
            warnings.warn("demo_mode=True: real TLS without certificate verification", stacklevel=2)
        self._timeout = timeout
        self._client = HTTP3Client(ca_file=cafile or os.environ.get("SSL_CERT_FILE"), insecure=demo_mode,
                                   remote_address=tuple(remote_address) if remote_address else None,
                                   timeout=timeout or 30)
        # certfile/keyfile name a client certificate; TLS client authentication is not implemented, so they
        # are only checked for existence.

    def request(self, method, url, params=None, headers=None, data=None, priority=None, json=None):
        if json is not None:
            import json as _json
            data = _json.dumps(json).encode()
            headers = dict(headers or {}, **{"content-type": "application/json"})
        prio = (priority.urgency, priority.incremental) if isinstance(priority, StreamPriority) else priority
        return self._client.request(method, url, headers=headers, body=data, priority=prio, params=params,
                                    timeout=self._timeout)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def put(self, url, **kw):
        return self.request("PUT", url, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)

    def options(self, url, **kw):
        return self.request("OPTIONS", url, **kw)

    def close(self):
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SyncEventLoop(EventLoop):
    """quicpro's SyncEventLoop over lwq_loop: schedule_task(fn, *args) -> Future, run_forever(), stop()."""

    def __init__(self, max_workers=4):
        super().__init__(max_workers)

    def schedule_task(self, fn, *args, **kwargs):
        return self.submit(fn, *args, **kwargs)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
