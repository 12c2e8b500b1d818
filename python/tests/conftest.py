import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
BUILD = os.environ.get("LWQUIC_BUILD", os.path.join(REPO, "build"))
CERTS = os.path.join(REPO, "tests", "data", "certs")
CERT, KEY, CA = (os.path.join(CERTS, f) for f in ("server-ecdsa.pem", "server-ecdsa.key", "ca.pem"))


def free_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def h3server():
    """lwquic-server on a free port serving a directory with file.bin (300 kB) and data.json."""
    exe = os.path.join(BUILD, "bin", "lwquic-server")
    if not os.access(exe, os.X_OK):
        pytest.skip("lwquic-server not built")
    root = tempfile.mkdtemp(prefix="lwq-pytest-")
    data = bytes((i * 31 + i // 251) & 0xFF for i in range(300000))
    with open(os.path.join(root, "file.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(root, "data.json"), "w") as f:
        f.write('{"answer": 42}')
    port = free_port()
    p = subprocess.Popen([exe, "--cert", CERT, "--key", KEY, "--listen", "127.0.0.1:%d" % port, "--root", root, "-q"])
    time.sleep(0.3)
    yield {"port": port, "data": data, "root": root}
    p.kill()
    p.wait()
    shutil.rmtree(root)
