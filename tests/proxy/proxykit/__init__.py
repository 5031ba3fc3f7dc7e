"""Test support for the real-nginx proxy tests: test PKI, a recording TLS stand-in for Face,
a loopback DNS stub and a raw HTTP/1.1 client. Also used by benchmarks/proxy_bench.py."""
