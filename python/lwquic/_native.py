"""The C library through ctypes: finding liblwquic.so and the prototypes of the functions used."""
import ctypes
import os

c_u8p = ctypes.POINTER(ctypes.c_uint8)
c_size_p = ctypes.POINTER(ctypes.c_size_t)

NS = 1_000_000_000


def _find():
    env = os.environ.get("LWQUIC_LIB")
    if env:
        return env
    try:  # written by `make install`
        from ._libpath import PATH
        if os.path.exists(PATH):
            return PATH
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "liblwquic.so"),
                 os.path.join(here, "..", "..", "build", "lib", "liblwquic.so")):
        if os.path.exists(cand):
            return cand
    return "liblwquic.so"


lib = ctypes.CDLL(_find())

LWQ_ERR_AGAIN = -11
LWQ_ERR_CLOSED = -16
LWQ_ERR_TIMEOUT = -19
LWQ_ERR_RESET = -20
LWQ_ERR_LIMIT = -6

MSG_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_u8p, ctypes.c_size_t, ctypes.c_void_p)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
TASK_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
BODY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_u8p, ctypes.c_size_t)


class MsgsrvConfig(ctypes.Structure):
    _fields_ = [("listen", ctypes.c_char_p), ("cert_file", ctypes.c_char_p), ("key_file", ctypes.c_char_p),
                ("alpn", ctypes.c_char_p), ("handler", MSG_HANDLER), ("handler_ud", ctypes.c_void_p),
                ("max_message", ctypes.c_size_t), ("max_handlers", ctypes.c_size_t),
                ("max_buffered", ctypes.c_size_t), ("max_streams", ctypes.c_uint64),
                ("workers", ctypes.c_uint), ("handler_workers", ctypes.c_uint),
                ("log", LOG_FN), ("log_ud", ctypes.c_void_p), ("alloc", ctypes.c_void_p)]


class MsgsrvStats(ctypes.Structure):
    _fields_ = [("requests", ctypes.c_uint64), ("answered", ctypes.c_uint64), ("failed", ctypes.c_uint64),
                ("refused_busy", ctypes.c_uint64), ("refused_size", ctypes.c_uint64),
                ("handlers", ctypes.c_size_t), ("peak_handlers", ctypes.c_size_t),
                ("buffered", ctypes.c_size_t), ("peak_buffered", ctypes.c_size_t),
                ("connections", ctypes.c_size_t)]


class MsgcliConfig(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("server_name", ctypes.c_char_p), ("ca_file", ctypes.c_char_p),
                ("insecure", ctypes.c_int), ("alpn", ctypes.c_char_p), ("connect_timeout", ctypes.c_uint64),
                ("max_response", ctypes.c_size_t), ("workers", ctypes.c_uint), ("alloc", ctypes.c_void_p)]


class H3cliConfig(ctypes.Structure):
    _fields_ = [("ca_file", ctypes.c_char_p), ("insecure", ctypes.c_int), ("remote_address", ctypes.c_char_p),
                ("timeout", ctypes.c_uint64), ("max_body", ctypes.c_size_t),
                ("idle_timeout", ctypes.c_uint64), ("workers", ctypes.c_uint), ("enable_0rtt", ctypes.c_int),
                ("alloc", ctypes.c_void_p)]


class H3Header(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class H3Request(ctypes.Structure):
    _fields_ = [("method", ctypes.c_char_p), ("url", ctypes.c_char_p), ("headers", ctypes.POINTER(H3Header)),
                ("header_count", ctypes.c_size_t), ("body", ctypes.c_char_p), ("body_len", ctypes.c_size_t),
                ("urgency", ctypes.c_int), ("incremental", ctypes.c_int), ("timeout", ctypes.c_uint64),
                ("on_body", BODY_FN), ("on_body_ud", ctypes.c_void_p)]


class H3Response(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("headers", ctypes.POINTER(H3Header)), ("header_count", ctypes.c_size_t),
                ("body", c_u8p), ("body_len", ctypes.c_size_t), ("resumed", ctypes.c_int),
                ("early_data", ctypes.c_int), ("alloc", ctypes.c_void_p)]


def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


vp = ctypes.c_void_p
strerror = _proto("lwq_strerror", ctypes.c_char_p, ctypes.c_int)
msg_strerror = _proto("lwq_msg_strerror", ctypes.c_char_p, ctypes.c_uint64)
msgsrv_config_init = _proto("lwq_msgsrv_config_init", None, ctypes.POINTER(MsgsrvConfig))
msgsrv_new = _proto("lwq_msgsrv_new", ctypes.c_int, ctypes.POINTER(vp), ctypes.POINTER(MsgsrvConfig),
                    ctypes.c_char_p, ctypes.c_size_t)
msgsrv_port = _proto("lwq_msgsrv_port", ctypes.c_uint16, vp)
msgsrv_get_stats = _proto("lwq_msgsrv_get_stats", None, vp, ctypes.POINTER(MsgsrvStats))
msgsrv_del = _proto("lwq_msgsrv_del", None, vp)
msg_reply_set = _proto("lwq_msg_reply_set", ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t)
msgcli_config_init = _proto("lwq_msgcli_config_init", None, ctypes.POINTER(MsgcliConfig))
msgcli_new = _proto("lwq_msgcli_new", ctypes.c_int, ctypes.POINTER(vp), ctypes.POINTER(MsgcliConfig),
                    ctypes.c_char_p, ctypes.c_size_t)
msgcli_send_tagged = _proto("lwq_msgcli_send_tagged", ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t,
                            ctypes.c_uint64, ctypes.c_uint64)
msgcli_next_done = _proto("lwq_msgcli_next_done", ctypes.c_int, vp, ctypes.POINTER(vp), ctypes.c_int,
                          ctypes.c_uint64)
msgcli_pending = _proto("lwq_msgcli_pending", ctypes.c_size_t, vp)
msgcli_closed = _proto("lwq_msgcli_closed", ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t)
msgcli_del = _proto("lwq_msgcli_del", None, vp)
msg_future_result = _proto("lwq_msg_future_result", ctypes.c_int, vp, ctypes.POINTER(ctypes.c_uint64),
                           ctypes.POINTER(c_u8p), c_size_p, ctypes.POINTER(ctypes.c_uint64))
msg_future_error = _proto("lwq_msg_future_error", ctypes.c_int, vp, ctypes.POINTER(ctypes.c_uint64),
                          ctypes.POINTER(ctypes.c_char_p))
msg_future_del = _proto("lwq_msg_future_del", None, vp)
h3cli_config_init = _proto("lwq_h3cli_config_init", None, ctypes.POINTER(H3cliConfig))
h3cli_new = _proto("lwq_h3cli_new", ctypes.c_int, ctypes.POINTER(vp), ctypes.POINTER(H3cliConfig))
h3cli_request_run = _proto("lwq_h3cli_request_run", ctypes.c_int, vp, ctypes.POINTER(H3Request),
                           ctypes.POINTER(H3Response), ctypes.c_char_p, ctypes.c_size_t)
h3cli_response_free = _proto("lwq_h3cli_response_free", None, ctypes.POINTER(H3Response))
h3cli_connections = _proto("lwq_h3cli_connections", ctypes.c_size_t, vp)
h3cli_del = _proto("lwq_h3cli_del", None, vp)
loop_new = _proto("lwq_loop_new", ctypes.c_int, ctypes.POINTER(vp), ctypes.c_uint, vp)
loop_del = _proto("lwq_loop_del", None, vp)
loop_run = _proto("lwq_loop_run", None, vp)
loop_stop = _proto("lwq_loop_stop", None, vp)
loop_post = _proto("lwq_loop_post", ctypes.c_int, vp, TASK_FN, vp)


def errname(rv):
    return strerror(rv).decode()
