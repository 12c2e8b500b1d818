#!/usr/bin/env python
from lwquic.quicpro import Client
from lwquic.quicpro import StreamPriority
from lwquic.quicpro import PriorityLevel

def main():
    priority = StreamPriority.from_priority_level(PriorityLevel.HIGH)
    client = Client(remote_address=("127.0.0.1", 9090), timeout=5, event_loop_max_workers=4)
    response = client.request("GET", "https://example.com", params={"q": "test"}, priority=priority)
    print("Response:", response)
    client.close()

if __name__ == "__main__":
    main()
