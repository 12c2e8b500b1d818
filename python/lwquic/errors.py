"""Exceptions of the lwquic package."""


class Error(Exception):
    """A failed lwquic call: code is the library's LWQ_ERR_* value (negative), app_code the peer's
    application error code when a stream was reset, reason the text."""

    def __init__(self, message, code=0, app_code=0):
        super().__init__(message)
        self.code = code
        self.app_code = app_code
        self.reason = message


class ConnectionClosed(Error):
    """The connection is gone (closed by the peer, by us, or never established)."""


class StreamReset(Error):
    """The server reset the request's stream (app_code says why: handler failure, size, busy)."""


class Closed(Error):
    """The object was closed: calls after close() raise this."""
