"""The network side of `liveness-infra smoke`: TLS handshakes, HTTP requests, DNS look-ups.

Every call is bounded by the endpoint's timeout and never raises for network faults: it returns
an observation (:mod:`infra.smoke.model`) that the judge modules turn into verdicts.
``--resolve HOST:ADDR[:PORT]`` is honoured here: connections go to ADDR:PORT while SNI, the
certificate check and the Host header stay HOST, as a client resolving HOST would send them.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Sequence

from cryptography import x509
from cryptography.x509.oid import NameOID

from infra.dns import probe as dns_probe
from infra.dns.model import asuid_name, Reply, Server, Status, verification_name
from infra.dns.records import Chain
from infra.smoke.model import ErrorKind, HttpAnswer, HttpAttempt, TlsObservation

MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "liveness-infra-smoke/1"


@dataclass(frozen=True)
class Endpoint:
    """Where the proxy host is reached, and how its certificate is trusted."""

    host: str
    address: str | None = None  # --resolve: connect here instead of resolving host
    port: int = 443
    http_port: int = 80
    ca_file: str | None = None  # None: the system trust store
    timeout: float = 10.0

    @property
    def connect_host(self) -> str:
        return self.address or self.host


def verified_context(ca_file: str | None, check_hostname: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    else:
        context.load_default_certs()
    return context


def unverified_context() -> ssl.SSLContext:
    """TLS without certificate checks: only for looking behind a certificate already judged bad."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect(endpoint: Endpoint, port: int) -> socket.socket:
    return socket.create_connection((endpoint.connect_host, port), timeout=endpoint.timeout)


def _handshake(endpoint: Endpoint, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = _connect(endpoint, endpoint.port)
    try:
        return context.wrap_socket(raw, server_hostname=endpoint.host)
    except BaseException:
        raw.close()
        raise


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def observe_tls(endpoint: Endpoint) -> TlsObservation:
    """The certificate the host serves (read without verification), then the chain's verdict."""
    try:
        with _handshake(endpoint, unverified_context()) as tls:
            der = tls.getpeercert(binary_form=True)
            protocol = tls.version() or ""
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        return TlsObservation(connected=False, reached=True, error=_describe(exc))
    except OSError as exc:
        return TlsObservation(connected=False, error=_describe(exc))
    if not der:
        return TlsObservation(connected=False, error="the server presented no certificate")
    cert = x509.load_der_x509_certificate(der)
    chain_ok, chain_error = True, ""
    try:
        with _handshake(endpoint, verified_context(endpoint.ca_file, check_hostname=False)):
            pass
    except ssl.SSLCertVerificationError as exc:
        chain_ok, chain_error = False, exc.verify_message or str(exc)
    except (OSError, ssl.SSLError) as exc:
        chain_ok, chain_error = False, _describe(exc)
    return TlsObservation(
        connected=True, names=_names(cert), subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc, chain_ok=chain_ok, chain_error=chain_error, protocol=protocol)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def request(endpoint: Endpoint, method: str, target: str, *, headers: Sequence[tuple[str, str]] = (),
            body: bytes | None = None, scheme: str = "https",
            context: ssl.SSLContext | None = None) -> HttpAttempt:
    """One request on a new connection; the answer (body capped) or why there is none."""
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            endpoint.host, endpoint.port, timeout=endpoint.timeout,
            context=context or verified_context(endpoint.ca_file))
        port = endpoint.port
    else:
        conn = http.client.HTTPConnection(endpoint.host, endpoint.http_port, timeout=endpoint.timeout)
        port = endpoint.http_port
    # Connect to connect_host while Host/SNI stay endpoint.host: http.client has no public hook for
    # that; its connect() calls this instance attribute, which typeshed does not declare.
    conn._create_connection = lambda _addr, timeout, source: socket.create_connection(  # type: ignore[attr-defined]
        (endpoint.connect_host, port), timeout, source)
    all_headers = {"Host": endpoint.host, "User-Agent": USER_AGENT, "Accept": "application/json"}
    all_headers.update(dict(headers))
    started = time.monotonic()
    try:
        try:
            conn.connect()
        except ssl.SSLError as exc:
            return HttpAttempt(method, target, error=_describe(exc), error_kind=ErrorKind.TLS)
        except OSError as exc:
            return HttpAttempt(method, target, error=_describe(exc), error_kind=ErrorKind.CONNECT)
        try:
            conn.request(method, target, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read(MAX_BODY_BYTES)
        except (socket.timeout, TimeoutError):
            return HttpAttempt(method, target, error="no answer in time", error_kind=ErrorKind.TIMEOUT)
        except (http.client.HTTPException, OSError) as exc:
            return HttpAttempt(method, target, error=_describe(exc), error_kind=ErrorKind.PROTOCOL)
        elapsed = (time.monotonic() - started) * 1000
        answer = HttpAnswer(status=response.status, reason=response.reason, headers=tuple(response.getheaders()),
                            body=data, elapsed_ms=elapsed)
        return HttpAttempt(method, target, answer=answer)
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# DNS


@dataclass(frozen=True)
class DnsObservation:
    chain: Chain
    asuid: Reply
    azaiverify: Reply


def _txt(servers: Sequence[Server], name: str, timeout: float) -> Reply:
    reply = dns_probe.ask_first(servers, name, "TXT", timeout=timeout)
    if reply is None:
        return Reply(servers[0], name, "TXT", Status.UNREACHABLE, rcode="", detail="no server answered")
    return reply


def observe_dns(host: str, servers: Sequence[Server], timeout: float) -> DnsObservation:
    """The host's CNAME chain, ``asuid.<host>`` TXT and ``azaiverify.<host>`` TXT, as ``servers`` see them."""
    chain = dns_probe.follow_chain(host, servers, timeout=timeout)
    return DnsObservation(chain, _txt(servers, asuid_name(host), timeout),
                          _txt(servers, verification_name(host), timeout))
