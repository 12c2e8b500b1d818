"""lwquic from Python: a binding over the lwquic C library (ctypes, no third-party packages).

Native classes: MessageServer / MessageClient (one bidirectional stream per message, ALPN "echo"),
HTTP3Client (blocking HTTP/3 requests), EventLoop (the C thread-pool loop). The seeds' shapes live in
lwquic.pyquic (PyQuicServer, PyQuicClient) and lwquic.quicpro (Client, SyncEventLoop, ...)."""
from .errors import Closed, ConnectionClosed, Error, StreamReset
from .http3 import HTTP3Client, Response
from .loop import EventLoop
from .message import MessageClient, MessageServer

__all__ = ["MessageServer", "MessageClient", "HTTP3Client", "EventLoop", "Response", "Error", "ConnectionClosed",
           "StreamReset", "Closed"]
__version__ = "0.1.0"
