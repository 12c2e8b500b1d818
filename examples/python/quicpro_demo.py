#!/usr/bin/env python
from lwquic.quicpro import Client
def main():
    # Initialize the client using demo mode (with simulated TLS handshake etc.)
    client = Client(
        remote_address=("127.0.0.1", 9090),
        timeout=5,
        event_loop_max_workers=4,
        demo_mode=True
    )
    
    # Send a GET request (query parameters can be passed)
    response = client.request("GET", "https://example.com", params={"q": "test"})
    
    # Print the response payload and status code
    print("Response Status Code:", response.status_code)
    print("Response Content:", response.content)
    
    client.close()
if __name__ == "__main__":
    main()
