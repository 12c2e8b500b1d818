#!/usr/bin/env python
import threading
from lwquic.quicpro import Client
def make_request(request_number):
    # Each thread creates its own client instance
    client = Client(
        remote_address=("127.0.0.1", 9090),
        timeout=5,
        event_loop_max_workers=4,
        demo_mode=True
    )
    # Pass a unique query parameter for each request
    response = client.request("GET", "https://example.com", params={"q": f"test-{request_number}"})
    print(f"Response #{request_number} - Status Code: {response.status_code}, Content: {response.content}")
    client.close()
threads = []
num_requests = 5  # Adjust the number of parallel requests
# Start multiple threads for parallel requests
for i in range(1, num_requests + 1):
    t = threading.Thread(target=make_request, args=(i,))
    threads.append(t)
    t.start()
# Wait for all threads to complete
for t in threads:
    t.join()
