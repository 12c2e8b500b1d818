"""Per-call overhead of the binding: one C call (lwq_msg_strerror) through ctypes and through a CPython
extension (bench/app_ext.c, when built), and the calls the message client makes per request."""
import ctypes
import sys
import timeit

sys.path.insert(0, "python")
from lwquic import _native as n  # noqa: E402

N = 200000
f = n.msg_strerror
t_ctypes = timeit.timeit(lambda: f(2), number=N) / N
t_noop = timeit.timeit(lambda: None, number=N) / N
print("python lambda call:            %6.0f ns" % (t_noop * 1e9))
print("ctypes call (1 int arg):       %6.0f ns" % (t_ctypes * 1e9))
tag, ptr, ln, code = ctypes.c_uint64(), n.c_u8p(), ctypes.c_size_t(), ctypes.c_uint64()
try:
    import lwq_bench_ext
    g = lwq_bench_ext.msg_strerror
    t_ext = timeit.timeit(lambda: g(2), number=N) / N
    print("C extension call (1 int arg):  %6.0f ns" % (t_ext * 1e9))
except ImportError:
    print("C extension not built (python3-dev missing)")
