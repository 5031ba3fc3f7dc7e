"""Test support for the real-nginx proxy tests: test PKI, a recording TLS stand-in for Face (it
also counts handshakes, resumed sessions and who closed each connection, and can close idle
connections itself), an inotify watch on nginx's temp directories and a raw HTTP/1.1 client.
Also used by benchmarks/proxy_bench.py."""
