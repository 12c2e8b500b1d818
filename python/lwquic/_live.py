"""Objects with C threads behind them are closed at interpreter exit (clients first), so that no C thread
calls into a finalizing interpreter."""
import atexit
import weakref

_live = [weakref.WeakSet(), weakref.WeakSet()]  # clients, then servers and loops


def track(obj, order):
    _live[order].add(obj)


@atexit.register
def _close_all():
    for group in _live:
        for obj in list(group):
            try:
                obj.close()
            except Exception:
                pass
