"""PyQuic's API on lwquic: PyQuicServer and PyQuicClient, as PyQuic documents them.

    from lwquic.pyquic import PyQuicClient, PyQuicServer
"""
import concurrent.futures
import os

from .message import MessageClient, MessageServer

__all__ = ["PyQuicServer", "PyQuicClient"]


class PyQuicServer:
    def __init__(self):
        self._host, self._port = "127.0.0.1", 4433
        self._cert, self._key = "cert.pem", "key.pem"
        self._handler = None
        self._server = None

    def with_host(self, host):
        self._host = host
        return self

    def with_port(self, port):
        self._port = int(port)
        return self

    def with_cert(self, cert):
        self._cert = cert
        return self

    def with_key(self, key):
        self._key = key
        return self

    def with_handler(self, fn):
        self._handler = fn
        return self

    def start(self):
        """Starts serving in the background (returns at once, self for chaining)."""
        if self._handler is None:
            raise ValueError("no handler: call with_handler(fn) first")
        self._server = MessageServer(self._handler, host=self._host, port=self._port, cert=self._cert, key=self._key)
        return self

    def start_and_wait(self):
        """Starts and blocks the calling thread until stop()."""
        self.start()
        self._server.wait()

    @property
    def port(self):
        return self._server.port

    def stop(self):
        if self._server is not None:
            self._server.close()


class PyQuicClient:
    def __init__(self):
        self._host, self._port = "127.0.0.1", 4433
        self._server_name = None
        self._insecure = False
        self._ca_file = os.environ.get("SSL_CERT_FILE")
        self._client = None

    def with_host(self, host):
        self._host = host
        return self

    def with_port(self, port):
        self._port = int(port)
        return self

    def with_server_name(self, server_name):
        self._server_name = server_name
        return self

    def with_ca_file(self, path):
        """Trust anchors (PEM) instead of the system bundle (an lwquic addition)."""
        self._ca_file = path
        return self

    def insecure(self, value=True):
        self._insecure = bool(value)
        return self

    def start(self):
        """Connects; raises lwquic.ConnectionClosed when it cannot."""
        self._client = MessageClient(self._host, self._port, server_name=self._server_name, ca_file=self._ca_file,
                                     insecure=self._insecure)
        return self

    def send_message(self, message, *, timeout=None) -> "concurrent.futures.Future[str]":
        """The future's result is the answer as str; a timeout raises asyncio.TimeoutError from result()."""
        if self._client is None:
            raise RuntimeError("client not started: call start() first")
        raw = self._client.send(message, timeout=timeout)
        out = concurrent.futures.Future()
        out.set_running_or_notify_cancel()

        def done(f):
            exc = f.exception()
            if exc is not None:
                out.set_exception(exc)
            else:
                out.set_result(f.result().decode("utf-8", errors="replace"))

        raw.add_done_callback(done)
        return out

    def close(self):
        if self._client is not None:
            self._client.close()
