# PyQuic's "Custom Processing Handler" and "Multiple Concurrent Requests" snippets as one program. The
# import line is lwquic's; the client connects to 127.0.0.1 with .insecure() instead of example.com, and
# the server is stopped at the end (the snippets leave both out).
import json
import time
from lwquic.pyquic import PyQuicClient, PyQuicServer

def json_processor(data: bytes) -> bytes:
    try:
        # Parse incoming JSON
        request = json.loads(data.decode())
        
        # Process request
        response = {
            "echo": request,
            "timestamp": time.time(),
            "processed": True
        }
        
        # Return JSON response
        return json.dumps(response).encode()
    except Exception as e:
        return json.dumps({"error": str(e)}).encode()

server = (PyQuicServer()
    .with_handler(json_processor)
    .start())

client = PyQuicClient().with_host("127.0.0.1").insecure().start()

# Send multiple requests concurrently
futures = []
for i in range(10):
    fut = client.send_message(f"Request {i}")
    futures.append(fut)

# Collect all results
results = [fut.result() for fut in futures]
print(results)

futures = [client.send_message(json.dumps({"request": i})) for i in range(10)]
print([json.loads(f.result())["echo"] for f in futures])

client.close()
server.stop()
