"""Pure: the proxy's JSON access log: the fields of each line and how nginx writes them.

One JSON object per request on stdout (the `liveness_json` log format that
components/proxy_config.py renders), never headers with credentials, cookies or bodies.
components/monitoring_queries.py reads these fields as `entry.<json key>`.
"""

from __future__ import annotations

# The access log is buffered in each worker and written at most this many seconds after a request
# ends, when the buffer is full, and when the worker stops (graceful or fast): one write(2) per
# buffer instead of one per request, 6-12 % of the proxy's CPU per request (docs/proxy.md#benchmark).
ACCESS_LOG_FLUSH_SECONDS = 1
# The buffer: no larger than PIPE_BUF (4096 bytes on Linux), the most a write to the container's
# stdout pipe carries atomically, so lines of two workers sharing the pipe never interleave.
ACCESS_LOG_BUFFER_BYTES = 4096

LOG_FORMAT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    # (json key, nginx variable, quoted). Never headers with credentials, cookies or bodies.
    ("time", "$time_iso8601", True),
    ("request_id", "$request_id", True),
    ("ingress_request_id", "$http_x_request_id", True),
    ("client_ip", "$remote_addr", True),
    ("peer_ip", "$realip_remote_addr", True),
    ("method", "$request_method", True),
    ("target", "$request_uri", True),
    ("protocol", "$server_protocol", True),
    ("status", "$status", False),
    ("request_length", "$request_length", False),
    ("bytes_sent", "$bytes_sent", False),
    ("body_bytes_sent", "$body_bytes_sent", False),
    ("request_time", "$request_time", False),
    ("upstream_addr", "$upstream_addr", True),
    ("upstream_status", "$upstream_status", True),
    ("upstream_connect_time", "$upstream_connect_time", True),
    ("upstream_response_time", "$upstream_response_time", True),
    ("rate_limit", "$limit_req_status", True),
)


def log_format() -> str:
    """The `liveness_json` format: one JSON object per request, the fields above in order."""
    parts = [f'"{key}":' + (f'"{var}"' if quoted else var) for key, var, quoted in LOG_FORMAT_FIELDS]
    return "{" + ",".join(parts) + "}"
