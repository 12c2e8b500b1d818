"""The blocking HTTP/3 client: HTTP3Client.request(...) -> Response."""
import ctypes
import json as _json
import threading
import urllib.parse

from . import _native as n
from ._live import track
from .errors import Closed, ConnectionClosed, Error


class Response:
    """status_code, headers (dict, lowercase names; repeated names joined with ", "), header_list,
    content (bytes), text, json()."""

    def __init__(self, status, header_list, content, resumed=False, early_data=False):
        self.status_code = status
        self.header_list = header_list
        self.headers = {}
        for k, v in header_list:
            self.headers[k] = self.headers[k] + ", " + v if k in self.headers else v
        self.content = content
        self.resumed = resumed
        self.early_data = early_data

    @property
    def text(self):
        ctype = self.headers.get("content-type", "")
        charset = "utf-8"
        for part in ctype.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                charset = v.strip('"')
        return self.content.decode(charset, errors="replace")

    def json(self):
        return _json.loads(self.content)

    def __repr__(self):
        return "<Response [%d]>" % self.status_code


def with_params(url, params):
    """url with params (a dict or a list of pairs) appended to its query."""
    if not params:
        return url
    query = urllib.parse.urlencode(params, doseq=True)
    base, _, frag = url.partition("#")
    parts = urllib.parse.urlsplit(base)
    path = parts.path or "/"
    q = parts.query + "&" + query if parts.query else query
    out = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, q, ""))
    return out + ("#" + frag if frag else "")


class HTTP3Client:
    """Blocking HTTP/3 requests. One connection per origin, shared by every thread using this client and
    reopened (resuming the TLS session) after the server's GOAWAY or an idle close. Certificates are
    verified against ca_file or the system bundle unless insecure=True. remote_address ("host", port)
    connects there whatever the URL names (the URL still gives SNI and :authority). enable_0rtt: a resumed
    connection sends its first request in 0-RTT when the method is safe (GET, HEAD, OPTIONS)."""

    def __init__(self, ca_file=None, insecure=False, remote_address=None, timeout=30.0, max_body=64 << 20,
                 idle_timeout=None, workers=1, enable_0rtt=False):
        cfg = n.H3cliConfig()
        n.h3cli_config_init(ctypes.byref(cfg))
        remote = None
        if remote_address:
            host, port = remote_address
            remote = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
        self._strs = [ca_file.encode() if ca_file else None, remote.encode() if remote else None]
        cfg.ca_file, cfg.remote_address = self._strs
        cfg.insecure = 1 if insecure else 0
        cfg.timeout = int(timeout * n.NS)
        cfg.max_body = max_body
        if idle_timeout:
            cfg.idle_timeout = int(idle_timeout * n.NS)
        cfg.workers = workers
        cfg.enable_0rtt = 1 if enable_0rtt else 0
        h = ctypes.c_void_p()
        rv = n.h3cli_new(ctypes.byref(h), ctypes.byref(cfg))
        if rv:
            raise Error(n.errname(rv), rv)
        self._h = h
        self._cv = threading.Condition()
        self._active = 0
        track(self, 0)

    def request(self, method, url, headers=None, body=None, priority=None, timeout=None, params=None):
        """priority: None, an urgency 0..7, or (urgency, incremental). Redirects are not followed."""
        url = with_params(url, params)
        hl = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        arr = (n.H3Header * max(1, len(hl)))()
        keep = []
        for i, (k, v) in enumerate(hl):
            kb, vb = str(k).encode(), str(v).encode()
            keep += [kb, vb]
            arr[i].name, arr[i].value = kb, vb
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = bytes(body)
        urgency, incremental = -1, 0
        if isinstance(priority, tuple):
            urgency, incremental = priority[0], int(bool(priority[1]))
        elif priority is not None:
            urgency = int(priority)
        req = n.H3Request(method.upper().encode(), url.encode(), arr, len(hl), body, len(body) if body else 0,
                          urgency, incremental, int(timeout * n.NS) if timeout else 0, n.BODY_FN(), None)
        resp = n.H3Response()
        err = ctypes.create_string_buffer(512)
        with self._cv:
            if self._h is None:
                raise Closed("client is closed", n.LWQ_ERR_CLOSED)
            self._active += 1
            h = self._h
        try:
            rv = n.h3cli_request_run(h, ctypes.byref(req), ctypes.byref(resp), err, len(err))
            if rv:
                msg = err.value.decode(errors="replace")
                if rv == n.LWQ_ERR_TIMEOUT:
                    raise TimeoutError(msg)
                if rv == n.LWQ_ERR_CLOSED:
                    raise ConnectionClosed(msg, rv)
                raise Error(msg, rv)
            hdrs = [(resp.headers[i].name.decode(errors="replace"), resp.headers[i].value.decode(errors="replace"))
                    for i in range(resp.header_count)]
            content = ctypes.string_at(resp.body, resp.body_len) if resp.body_len else b""
            out = Response(resp.status, hdrs, content, bool(resp.resumed), bool(resp.early_data))
            n.h3cli_response_free(ctypes.byref(resp))
            return out
        finally:
            with self._cv:
                self._active -= 1
                self._cv.notify_all()

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def connections(self):
        with self._cv:
            return 0 if self._h is None else n.h3cli_connections(self._h)

    def close(self):
        """Waits for requests in progress, closes every connection. Twice is harmless."""
        with self._cv:
            h, self._h = self._h, None
            while self._active:
                self._cv.wait()
        if h is not None:
            n.h3cli_del(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
