"""Pure: what the proxy's nginx configuration is rendered from, and its validation.

`ProxySettings` is the contract between the stack configuration (infra/config/proxy.py) and the renderer
(components/proxy_config.py); `LocalRun` is what `proxy serve`
may change. Every value that ends up in nginx.conf is checked here, so no value can inject syntax.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field

DEFAULT_LISTEN_PORT = 8080
DEFAULT_HEALTH_PORT = 8081
# Where stock nginx images (Debian and Alpine based) keep the system CA bundle.
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

# Container Apps ingress gives up on a request after 240 s; every proxy timeout stays below it.
INGRESS_TIMEOUT_SECONDS = 240
# Ranges a workload-profiles Container Apps environment reserves for its own infrastructure; its
# ingress may connect to the app from them rather than from the apps subnet (learn.microsoft.com/
# azure/container-apps/custom-virtual-networks, "Subnet address range restrictions").
CONTAINER_APPS_PLATFORM_CIDRS: tuple[str, ...] = (
    "100.100.0.0/17", "100.100.128.0/19", "100.100.160.0/19", "100.100.192.0/19",
)
# Trusted ranges may together cover at most this many addresses per family (a /8): anything wider
# would let clients outside the platform choose their own rate-limit key.
MAX_TRUSTED_PREFIXLEN = 8
# Idle time after which the proxy closes a pooled connection to Face itself. Face's front end
# does not document its own idle timeout; the proxy stays well below the common front-end values
# (60 s and up; Azure Load Balancer 4 min) and inside the 15-30 s Microsoft suggests for clients
# of private endpoints, so Face never closes a connection the pool is about to reuse.
DEFAULT_UPSTREAM_IDLE_MS = 30_000
MAX_UPSTREAM_IDLE_MS = 59_000
DEFAULT_MEMORY = "1Gi"
_MEMORY_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)Gi$")
GIB = 1024 ** 3
KIB = 1024
MIB = 1024 ** 2

# Defaults and inclusive bounds of the rendered settings (the stack config imports them; its own
# bounds may be narrower, never wider: tests/unit/test_config_bounds.py).
DEFAULT_CPU = 0.5
CPU_RANGE = (0.25, 16)
DEFAULT_CONCURRENT_REQUESTS = 50
CONCURRENT_REQUESTS_RANGE = (1, 10_000)
DEFAULT_RATE_LIMIT_PER_SECOND = 10
RATE_LIMIT_PER_SECOND_RANGE = (1, 100_000)
DEFAULT_RATE_LIMIT_BURST = 20
RATE_LIMIT_BURST_RANGE = (0, 100_000)
DEFAULT_MAX_BODY_BYTES = 8 * MIB
MAX_BODY_BYTES_RANGE = (KIB, 256 * MIB)
DEFAULT_CLIENT_TIMEOUT_SECONDS = 60
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 120
TIMEOUT_RANGE = (1, INGRESS_TIMEOUT_SECONDS - 1)

# Chunked bodies are read whole into one memory buffer of this many bytes per allowed body byte
# (plus CHUNKED_BUFFER_SLACK): the buffer holds the chunk framing too, and a body that does not
# fit would be spooled to disk. The ingress re-frames what it forwards as `SIZE CRLF DATA CRLF`
# without extensions, at worst 6 bytes per byte (1-byte chunks), so nothing it sends spills.
CHUNKED_BUFFER_FACTOR = 6
CHUNKED_BUFFER_SLACK = 64 * KIB

# The replica memory model the limits are derived from (docs/proxy.md, "Limits"). Worst cases
# per unit, measured and rounded up on nginx 1.22 (tests/proxy/test_memory_bound.py):
# what one worker holds with no traffic (code, zones, configuration, OpenSSL contexts);
WORKER_BASE_BYTES = 16 * MIB
# one in-flight request: client body buffer 64k, response buffers 16k + 8x16k, header buffers
# up to 1k + 4x8k, the pooled TLS connection to Face and the request's memory pools;
REQUEST_BYTES = 320 * KIB
# one open client connection with no request in flight (idle keep-alive or a half-sent head:
# header buffers up to 1k + 4x8k and the connection's structures).
CONNECTION_BYTES = 40 * KIB
# Share of the replica's memory the proxy may use whatever the request mix; the rest is headroom
# for the allocator, the kernel's socket buffers and the container runtime.
MEMORY_SHARE = 0.5
# nginx never needs more slots than this per worker (file descriptors stay far below limits).
MAX_WORKER_CONNECTIONS = 16_384

# Container Apps sends SIGTERM to a replica it stops (scale-in, new revision) and SIGKILL after
# the template's terminationGracePeriodSeconds (default 30 s; learn.microsoft.com, Template
# terminationGracePeriodSeconds). The proxy asks for 60 s and bounds its own drain well below.
TERMINATION_GRACE_PERIOD_SECONDS = 60
WORKER_SHUTDOWN_TIMEOUT_SECONDS = 45
# How long a client may take to send a request head (headers are small; the ingress sends them
# at once). Shorter than client_timeout_seconds, which bounds the gaps inside a body.
MAX_CLIENT_HEADER_TIMEOUT_SECONDS = 10
UPSTREAM_HOST_MODES: tuple[str, ...] = ("client", "account")

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Characters allowed in a filesystem path written into nginx.conf (no spaces, quotes, ; { } $ \).
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*$")


@dataclass(frozen=True)
class ProxySettings:
    """Everything the rendered configuration depends on."""

    face_host: str
    allow_options: bool = False
    rate_limit_per_second: int = DEFAULT_RATE_LIMIT_PER_SECOND
    rate_limit_burst: int = DEFAULT_RATE_LIMIT_BURST
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    trusted_proxy_cidrs: tuple[str, ...] = field(default_factory=tuple)
    client_timeout_seconds: int = DEFAULT_CLIENT_TIMEOUT_SECONDS
    upstream_timeout_seconds: int = DEFAULT_UPSTREAM_TIMEOUT_SECONDS
    listen_port: int = DEFAULT_LISTEN_PORT
    health_port: int = DEFAULT_HEALTH_PORT
    ca_bundle: str = DEFAULT_CA_BUNDLE
    # The private endpoint's fixed private IPv4 address (group `account`, the member that serves
    # `face_host`): the proxy connects there, SNI and certificate name stay `face_host`. Required.
    upstream_address: str = ""
    # Host header sent to Face: "client" (the Host the client sent, unchanged) or "account"
    # (face_host).
    upstream_host: str = "client"
    # The replica's vCPUs and the scale rule's concurrency: worker count and pool size follow them.
    cpu: float = DEFAULT_CPU
    concurrent_requests: int = DEFAULT_CONCURRENT_REQUESTS
    # How long a pooled connection to Face may stay idle (not a config key; tests shorten it).
    upstream_idle_ms: int = DEFAULT_UPSTREAM_IDLE_MS
    # The replica's memory (proxyMemory, e.g. "1Gi"): every buffer and connection limit follows it.
    memory: str = DEFAULT_MEMORY


@dataclass(frozen=True)
class LocalRun:
    """What ``liveness-infra proxy serve`` may change in the shipped configuration.

    Only where nginx listens, the upstream address (``face_address`` replaces the private
    endpoint's IP; SNI and certificate name stay the account hostname, Host follows the mode),
    which CA bundle verifies the upstream, and where the pid and temp files go. Addresses are
    ``IP:PORT`` (``[v6]:PORT`` for IPv6).
    """

    listen: str
    health_listen: str
    face_address: str
    ca_bundle: str
    runtime_dir: str


class ProxyConfigError(ValueError):
    """A setting cannot be rendered; the message names the field, the value and what is expected."""

    def __init__(self, name: str, received: object, expected: str):
        self.name = name
        self.received = received
        self.expected = expected
        super().__init__(f"{name}: received {received!r}; expected {expected}")


# --------------------------------------------------------------------------------------------
# Validation: everything that ends up in nginx.conf is checked, so no value can inject syntax.


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProxyConfigError(name, value, f"an integer from {low} to {high}")
    return value


def _check_path(name: str, value: object) -> str:
    if not isinstance(value, str) or not _SAFE_PATH.match(value) or "/../" in value + "/":
        raise ProxyConfigError(
            name, value, "an absolute path of letters, digits and . _ / + - (no '..', no spaces)")
    return value


def check_hostname(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HOSTNAME.match(value):
        raise ProxyConfigError(name, value, "a lower-case DNS hostname such as "
                               "'myaccount.cognitiveservices.azure.com'")
    return value


def split_host_port(name: str, value: object, *, allow_hostname: bool) -> tuple[str, int]:
    """``HOST:PORT`` / ``[V6]:PORT`` -> (host, port); host is an IP (or a hostname if allowed)."""
    expected = "HOST:PORT with an IP address" + (" or hostname" if allow_hostname else "") + \
        " (IPv6 as [ADDR]:PORT) and a port from 1 to 65535"
    if not isinstance(value, str):
        raise ProxyConfigError(name, value, expected)
    match = re.match(r"^\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})$", value) or \
        re.match(r"^([^:\[\]]+):([0-9]{1,5})$", value)
    if not match:
        raise ProxyConfigError(name, value, expected)
    host, port = match.group(1), int(match.group(2))
    if not 1 <= port <= 65535:
        raise ProxyConfigError(name, value, expected)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not allow_hostname or not _HOSTNAME.match(host):
            raise ProxyConfigError(name, value, expected) from None
    return host, port


def _format_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_trusted_proxy_cidrs(name: str, values: object) -> list[str]:
    """CIDR ranges, each narrower than /0, together covering at most a /8 per address family (the
    renderer and the stack configuration check the same rule, so a stack file fails before rendering)."""
    if isinstance(values, str) or not isinstance(values, (tuple, list)):
        raise ProxyConfigError(name, values, "a list of CIDR ranges such as ['10.0.0.0/23']")
    out: list[str] = []
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ProxyConfigError(name, value, "a CIDR range such as '10.0.0.0/23'") from None
        if not isinstance(value, str) or network.prefixlen == 0:
            # Trusting everyone would let any client pick its own rate-limit key.
            raise ProxyConfigError(name, value, "a CIDR range narrower than /0 (the ingress's subnet)")
        out.append(str(network))
        networks.append(network)
    v4 = ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv4Network))
    v6 = ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv6Network))
    for covered, bits in ((sum(n.num_addresses for n in v4), 32), (sum(n.num_addresses for n in v6), 128)):
        if covered > 2 ** (bits - MAX_TRUSTED_PREFIXLEN):
            raise ProxyConfigError(
                name, list(values), f"ranges that together cover at most a /{MAX_TRUSTED_PREFIXLEN} "
                "(the ingress's subnet and the platform ranges); wider lets clients pick their key")
    return out


def check_upstream_address(name: str, value: object) -> str:
    expected = "the private endpoint's IPv4 address, e.g. '10.40.2.4' (unicast, not loopback)"
    try:
        address = ipaddress.IPv4Address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or address.is_unspecified or address.is_multicast or \
            address.is_loopback or address.is_link_local or address.is_reserved or \
            str(address) == "255.255.255.255":
        raise ProxyConfigError(name, value, expected)
    return str(address)


def worker_count(settings: ProxySettings) -> int:
    """One nginx worker per vCPU of the replica (at least one): not `auto`, which counts the host's."""
    return max(1, math.ceil(settings.cpu))


def memory_bytes(name: str, memory: object) -> int:
    """`1Gi`, `0.5Gi` -> bytes (the Container Apps notation proxyMemory uses)."""
    match = _MEMORY_SIZE.match(memory) if isinstance(memory, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ProxyConfigError(name, memory, "a size in Gi such as '1Gi' or '0.5Gi'")
    return int(float(match.group(1)) * GIB)


def chunked_body_bytes(settings: ProxySettings) -> int:
    """The memory buffer one chunked body is read into (never a temp file)."""
    return CHUNKED_BUFFER_FACTOR * settings.max_body_bytes + CHUNKED_BUFFER_SLACK


@dataclass(frozen=True)
class ProxyLimits:
    """Every count limit of the rendered configuration, derived from the replica's size."""

    worker_connections: int      # connection slots per worker (client and upstream sides)
    requests_total: int          # requests in flight at once on the replica (all workers)
    requests_per_client: int     # ... from one client IP
    chunked_total: int           # chunked bodies buffered at once on the replica
    chunked_per_client: int      # ... from one client IP
    pool: int                    # idle pooled connections to Face each worker keeps
    budget_bytes: int            # MEMORY_SHARE of proxyMemory


def proxy_limits(settings: ProxySettings) -> ProxyLimits:
    """Split MEMORY_SHARE of the replica's memory, after each worker's base, into half for
    buffered chunked bodies, a quarter for requests in flight and a quarter for open connections;
    each count is its share divided by the worst case of one unit. Raise ProxyConfigError (naming
    the settings) where the split cannot hold one chunked body or the scale rule's concurrency."""
    workers = worker_count(settings)
    budget = int(memory_bytes("memory", settings.memory) * MEMORY_SHARE)
    usable = budget - workers * WORKER_BASE_BYTES
    body = chunked_body_bytes(settings)
    chunked_total = max(0, usable // 2) // body
    requests_total = max(0, usable // 4) // REQUEST_BYTES
    connections_total = max(0, usable // 4) // CONNECTION_BYTES
    if chunked_total < 1:
        need = math.ceil((2 * body + workers * WORKER_BASE_BYTES) / MEMORY_SHARE / GIB * 4) / 4
        largest = max(0, (max(0, usable // 2) - CHUNKED_BUFFER_SLACK) // CHUNKED_BUFFER_FACTOR)
        raise ProxyConfigError(
            "max_body_bytes", settings.max_body_bytes,
            f"at most {largest} with memory {settings.memory} (a chunked body's buffer, 6 x the cap, "
            f"must fit in a quarter of it), or memory of at least {need:g}Gi")
    if requests_total < settings.concurrent_requests:
        raise ProxyConfigError(
            "concurrent_requests", settings.concurrent_requests,
            f"at most {requests_total}, the requests in flight memory {settings.memory} carries "
            f"({REQUEST_BYTES // KIB} KiB each in an eighth of it)")
    pool = max(1, requests_total // workers)
    per_worker = min(MAX_WORKER_CONNECTIONS, connections_total // workers + pool)
    return ProxyLimits(
        worker_connections=per_worker,
        requests_total=requests_total,
        # An eighth of the replica, or the scale rule's target if larger (what a replica is sized
        # to carry), but never more than half: the rest always stays for other clients.
        requests_per_client=max(4, requests_total // 8,
                                min(settings.concurrent_requests, requests_total // 2)),
        chunked_total=chunked_total,
        chunked_per_client=max(1, chunked_total // 4),
        pool=pool,
        budget_bytes=budget,
    )


def pool_size(settings: ProxySettings) -> int:
    """Idle connections each worker keeps to Face: as many as requests a worker can carry at once
    (its share of requests_total), so a burst far above the scale rule's target reuses
    connections instead of opening and closing TLS sessions."""
    return proxy_limits(settings).pool


def client_header_timeout(settings: ProxySettings) -> int:
    return min(MAX_CLIENT_HEADER_TIMEOUT_SECONDS, settings.client_timeout_seconds)


def validate(settings: ProxySettings) -> None:
    """Raise :class:`ProxyConfigError` for the first setting that cannot be rendered safely."""
    check_hostname("face_host", settings.face_host)
    check_upstream_address("upstream_address", settings.upstream_address)
    if settings.upstream_host not in UPSTREAM_HOST_MODES:
        raise ProxyConfigError("upstream_host", settings.upstream_host,
                               "'client' (the Host the client sent) or 'account' (face_host)")
    if isinstance(settings.cpu, bool) or not isinstance(settings.cpu, (int, float)) or \
            not CPU_RANGE[0] <= settings.cpu <= CPU_RANGE[1]:
        raise ProxyConfigError("cpu", settings.cpu, f"the replica's vCPUs, from {CPU_RANGE[0]} to {CPU_RANGE[1]}")
    _check_int("concurrent_requests", settings.concurrent_requests, *CONCURRENT_REQUESTS_RANGE)
    _check_int("upstream_idle_ms", settings.upstream_idle_ms, 100, MAX_UPSTREAM_IDLE_MS)
    if not isinstance(settings.allow_options, bool):
        raise ProxyConfigError("allow_options", settings.allow_options, "true or false")
    _check_int("rate_limit_per_second", settings.rate_limit_per_second, *RATE_LIMIT_PER_SECOND_RANGE)
    _check_int("rate_limit_burst", settings.rate_limit_burst, *RATE_LIMIT_BURST_RANGE)
    _check_int("max_body_bytes", settings.max_body_bytes, *MAX_BODY_BYTES_RANGE)
    check_trusted_proxy_cidrs("trusted_proxy_cidrs", settings.trusted_proxy_cidrs)
    _check_int("client_timeout_seconds", settings.client_timeout_seconds, *TIMEOUT_RANGE)
    _check_int("upstream_timeout_seconds", settings.upstream_timeout_seconds, *TIMEOUT_RANGE)
    _check_int("listen_port", settings.listen_port, 1, 65535)
    _check_int("health_port", settings.health_port, 1, 65535)
    if settings.listen_port == settings.health_port:
        raise ProxyConfigError("health_port", settings.health_port,
                               f"a port other than listen_port ({settings.listen_port})")
    _check_path("ca_bundle", settings.ca_bundle)
    memory_bytes("memory", settings.memory)
    proxy_limits(settings)


def validate_local(local: LocalRun) -> None:
    split_host_port("listen", local.listen, allow_hostname=False)
    split_host_port("health_listen", local.health_listen, allow_hostname=False)
    if local.listen == local.health_listen:
        raise ProxyConfigError("health_listen", local.health_listen, "an address other than listen")
    split_host_port("face_address", local.face_address, allow_hostname=False)
    _check_path("ca_bundle", local.ca_bundle)
    _check_path("runtime_dir", local.runtime_dir)
