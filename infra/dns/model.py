"""Pure: the vocabulary of a DNS check: servers, replies, statuses, verdicts, findings, and the
names and redaction every check shares. No sockets and no dnspython here.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

from infra.errors import shorten

VERIFICATION_LABEL = "azaiverify"
ASUID_LABEL = "asuid"
VERIFICATION_WINDOW = timedelta(hours=48)
WINDOW_WARNING = timedelta(hours=6)
WINDOW_CHECK = "48-hour window"
EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_UNREACHABLE = 3


class Role(str, enum.Enum):
    AUTHORITATIVE = "authoritative"  # found by discovery: must answer authoritatively
    PUBLIC = "public resolver"  # recursive resolver: what the rest of the internet sees
    NAMESERVER = "nameserver"  # named with --nameserver: asked exactly as given


@dataclass(frozen=True)
class Server:
    address: str
    port: int = 53
    role: Role = Role.NAMESERVER
    name: str | None = None  # the NS host name when found by discovery

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return host if self.port == 53 else f"{host}:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.endpoint})" if self.name else self.endpoint


class Status(str, enum.Enum):
    ANSWER = "answer"
    NXDOMAIN = "NXDOMAIN"
    NODATA = "NODATA"
    SERVFAIL = "SERVFAIL"
    REFUSED = "REFUSED"
    OTHER_RCODE = "rcode"
    REFERRAL = "referral"  # no answer, only a delegation: the server is not authoritative here
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # network error (connection refused, no route, ...)
    TRUNCATED = "truncated"  # truncated over UDP and the TCP retry failed
    BAD_REPLY = "bad reply"  # the reply could not be parsed


# Statuses that mean "no usable reply": the server could not be asked.
NOT_REACHED = frozenset({Status.TIMEOUT, Status.UNREACHABLE, Status.TRUNCATED, Status.BAD_REPLY})


@dataclass(frozen=True)
class Reply:
    """One query to one server, reduced to what the verdicts need."""

    server: Server
    qname: str
    rdtype: str
    status: Status
    rcode: str = "NOERROR"
    authoritative: bool = False  # AA flag
    transport: str = "udp"
    # TXT: tuple of the record's character strings (bytes); A/AAAA/NS: text; SOA: serial as text.
    records: tuple = ()
    cname_chain: tuple[str, ...] = ()  # CNAME targets followed inside the answer, in order
    soa_owner: str | None = None  # owner of the SOA in the authority section (negative answers)
    soa_serial: int | None = None
    referral_zone: str | None = None
    referral_ns: tuple[str, ...] = ()
    glue: tuple[tuple[str, str], ...] = ()  # (name, address) from the additional section
    detail: str = ""
    elapsed_ms: float = 0.0

    @property
    def reached(self) -> bool:
        return self.status not in NOT_REACHED


class State(str, enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # serves something other than the code
    MISSING = "missing"  # serves nothing usable at the name
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class ServerVerdict:
    server: Server
    state: State
    summary: str
    notes: tuple[str, ...] = ()
    transport: str = "udp"
    elapsed_ms: float = 0.0


class Level(str, enum.Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    message: str


def normalize_name(name: str) -> str:
    """Lower-case, no trailing dot."""
    return name.strip().rstrip(".").lower()


def verification_name(host: str) -> str:
    return f"{VERIFICATION_LABEL}.{normalize_name(host)}"


def asuid_name(host: str) -> str:
    return f"{ASUID_LABEL}.{normalize_name(host)}"


def privatelink_name(face_host: str) -> str:
    """`<sub>.cognitiveservices.azure.com` -> `<sub>.privatelink.cognitiveservices.azure.com`."""
    first, _, rest = normalize_name(face_host).partition(".")
    return f"{first}.privatelink.{rest}" if rest else first


def validate_hostname(value: str, flag: str) -> str | None:
    """None when ``value`` is a usable DNS host name, else why not (for a UserError)."""
    name = normalize_name(value)
    if not name:
        return f"{flag}: received an empty host name; expected a DNS name like liveness.contoso.com"
    try:
        ipaddress.ip_address(name)
        return f"{flag}: received the IP address {value!r}; expected a DNS name like liveness.contoso.com"
    except ValueError:
        pass
    if len(name) > 253:
        return f"{flag}: received a name of {len(name)} characters; expected at most 253"
    labels = name.split(".")
    if len(labels) < 2:
        return f"{flag}: received {shorten(value)}; expected a fully qualified name with a domain, like liveness.contoso.com"
    for label in labels:
        if not label or len(label) > 63:
            return f"{flag}: received {shorten(value)}; every dot-separated label must be 1-63 characters"
        if label.startswith("-") or label.endswith("-") or not all(c.isalnum() or c in "-_" for c in label):
            return (f"{flag}: received {shorten(value)}; labels may contain letters, digits and hyphens "
                    f"(not at either end); offending label {label!r}")
    return None


def redact(value: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    n = len(value)
    keep = 4 if n >= 16 else 2 if n >= 8 else 0
    shown = value[:keep] + "…" if keep else "…"
    return f"{shown} ({n} chars)"


def txt_value(strings: Sequence[bytes]) -> str:
    """A TXT record's value: its character strings joined without separator."""
    return b"".join(strings).decode("utf-8", errors="backslashreplace")


# Comparing a served value with the code (the TXT verdict and the asuid check both use it).
def describe_difference(expected: str, served: str) -> tuple[bool, str]:
    """How ``served`` differs from ``expected``: (is_near_miss, description without secrets).

    A near miss is a value that becomes the code after removing quotes or whitespace or after
    changing case: the usual copy/paste accidents in DNS provider consoles.
    """
    reasons: list[str] = []
    s = served
    if s != s.lstrip():
        reasons.append("leading whitespace")
    if s != s.rstrip():
        reasons.append("trailing whitespace")
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        reasons.append("has surrounding quotes")
        s = s[1:-1].strip()
    if s == expected:
        return True, "near miss: " + ", ".join(reasons)
    compact = "".join(s.split())
    if compact != s and compact == expected:
        reasons.append("whitespace inside the value")
        return True, "near miss: " + ", ".join(reasons)
    if compact.lower() == expected.lower():
        if compact != s:
            reasons.append("whitespace inside the value")
        reasons.append("matches case-insensitively only")
        return True, "near miss: " + ", ".join(reasons)
    if expected in s:
        before = s.index(expected)
        after = len(s) - before - len(expected)
        return False, (f"contains the code plus extra text ({before} chars before, {after} after)"
                       + (f"; also {', '.join(reasons)}" if reasons else ""))
    if s and expected.startswith(s):
        return False, f"truncated: served only the first {len(s)} of {len(expected)} chars"
    position = next((i for i, (a, b) in enumerate(zip(s, expected)) if a != b), min(len(s), len(expected)))
    text = (f"served value differs at char {position + 1} "
            f"(served {len(served)} chars, expected {len(expected)})")
    if reasons:
        text += f"; also {', '.join(reasons)}"
    return False, text
