"""Pure data of `liveness-infra smoke`: what was observed, what it means, and the exit code.

No sockets here. :mod:`infra.smoke.probe` fills the observation types; the ``smoke_judge_*``
modules turn observations into :class:`Verdict` values.

Exit code rule (docs/operations.md "Step 4"):

* ``0`` every check passed (warnings and skipped checks allowed);
* ``1`` at least one check failed: something answered, and answered wrongly. A definite wrong
  answer is the actionable fact, so it wins over unreachable parts;
* ``3`` nothing failed, but the proxy host (or the DNS servers asked) could not be reached.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREACHABLE = 3


class Outcome(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"  # works, but needs attention soon (expiry, latency)
    FAIL = "fail"
    UNREACHABLE = "unreachable"
    SKIP = "skip"  # could not be checked with what is known (e.g. --url without a stack)


class FailureClass(str, enum.Enum):
    """Microsoft's three troubleshooting classes (Step 4), plus the proxy forwarding too much."""

    CONNECT = "cannot connect"  # DNS, certificate, proxy availability
    FORBIDDEN = "403"  # not registered, or not routed through the proxy
    PARTIAL = "partial failure"  # a route does not reach Face
    EXPOSURE = "exposure"  # the proxy forwards what it must refuse, or OPTIONS against config


@dataclass(frozen=True)
class Verdict:
    """One check's result: what was seen, and when it failed, what to do about it."""

    check: str
    outcome: Outcome
    summary: str
    fix: str = ""
    failure_class: FailureClass | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "outcome": self.outcome.value, "summary": self.summary}
        if self.fix:
            out["fix"] = self.fix
        if self.failure_class is not None:
            out["failureClass"] = self.failure_class.value
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP response as received (body capped by the prober)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed_ms: float

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()


class ErrorKind(str, enum.Enum):
    CONNECT = "connect"  # TCP: refused, unreachable, timed out
    TLS = "tls"  # the TLS handshake failed (certificate not trusted, wrong name, expired)
    TIMEOUT = "timeout"  # connected, then no (complete) answer in time
    PROTOCOL = "protocol"  # not HTTP, connection closed mid-answer


@dataclass(frozen=True)
class HttpAttempt:
    """One request: the answer, or why there is none."""

    method: str
    target: str
    answer: HttpAnswer | None = None
    error: str = ""
    error_kind: ErrorKind | None = None


@dataclass(frozen=True)
class TlsObservation:
    """What the server presented for the host, judged apart from the handshake's own verdict."""

    connected: bool
    error: str = ""  # why no TLS session could be made at all (even without verification)
    reached: bool = False  # TCP connected, but the handshake itself failed (not TLS, alert, ...)
    names: tuple[str, ...] = ()  # subjectAltName DNS names (CN only when there is no SAN)
    subject: str = ""
    issuer: str = ""
    not_before: Any = None  # datetime, UTC
    not_after: Any = None  # datetime, UTC
    chain_ok: bool = False
    chain_error: str = ""  # the verifier's message when the chain does not verify
    protocol: str = ""


def exit_code(verdicts: Sequence[Verdict]) -> int:
    outcomes = {v.outcome for v in verdicts}
    if Outcome.FAIL in outcomes:
        return EXIT_FAILED
    if Outcome.UNREACHABLE in outcomes:
        return EXIT_UNREACHABLE
    return EXIT_OK


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]
