"""Pure: what DNS replies mean for Microsoft's domain verification.

No sockets and no dnspython here. :mod:`infra.dnscheck.probe` turns DNS messages into :class:`Reply`
values; this module turns replies into per-server verdicts, findings and the exit code of
`liveness-infra dns check`.

Exit code rule (documented in docs/dns-verification.md):

* ``0`` every queried server was reached and serves the code exactly at ``azaiverify.<host>``
  (and at least one server was queried);
* ``1`` at least one server that answered serves something else or nothing: a wrong or
  near-miss value, NXDOMAIN, NODATA, SERVFAIL, REFUSED, or a server that should be
  authoritative and is not (lame). A definite wrong answer is the actionable fact, so it wins
  over unreachable servers;
* ``3`` no server answered wrongly, but at least one server could not be asked (timeout, network
  error, truncated reply with no working TCP fallback, unparsable reply), or discovery could
  not find any server to ask.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

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


@dataclass
class Report:
    """Everything one `dns check` round found; rendered as text or JSON by the command."""

    host: str
    record: str
    code_redacted: str
    verdicts: list[ServerVerdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    zone: str | None = None
    discovery_failed: bool = False

    @property
    def window_closed(self) -> bool:
        """Microsoft's 48-hour window for this code is over: no record can verify it any more."""
        return any(f.check == WINDOW_CHECK and f.level is Level.ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        if self.window_closed:
            return EXIT_MISMATCH  # serving a dead code is not "live", whatever the servers answer
        return exit_code(self.verdicts, self.discovery_failed)


# --------------------------------------------------------------------------------------------
# names and secrets


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


# --------------------------------------------------------------------------------------------
# comparing a served value with the code


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


def judge_txt(reply: Reply, expected: str) -> ServerVerdict:
    """The verdict for one server's answer to ``azaiverify.<host> TXT``."""
    server = reply.server

    def verdict(state: State, summary: str, notes: Iterable[str] = ()) -> ServerVerdict:
        return ServerVerdict(server, state, summary, tuple(notes), reply.transport, reply.elapsed_ms)

    notes: list[str] = []
    if reply.transport == "tcp":
        notes.append("UDP reply was truncated; answered over TCP")
    if reply.cname_chain:
        notes.append("the name is a CNAME to " + " -> ".join(reply.cname_chain)
                     + "; Microsoft expects the TXT record at the name itself")

    if not reply.reached:
        label = {
            Status.TIMEOUT: "no reply (timeout)",
            Status.UNREACHABLE: "could not be reached",
            Status.TRUNCATED: "reply truncated over UDP and the TCP retry failed",
            Status.BAD_REPLY: "reply could not be parsed",
        }[reply.status]
        return verdict(State.UNREACHABLE, label + (f": {reply.detail}" if reply.detail else ""), notes)

    lame_statuses = (Status.ANSWER, Status.NODATA, Status.NXDOMAIN, Status.REFERRAL)
    if server.role is Role.AUTHORITATIVE and reply.status in lame_statuses and not reply.authoritative:
        what = (f"referral to {reply.referral_zone}" if reply.status is Status.REFERRAL
                else f"{reply.status.value} without the authoritative (AA) flag")
        return verdict(State.MISSING, f"lame: does not serve the zone authoritatively ({what})", notes)

    if reply.status is Status.NXDOMAIN:
        return verdict(State.MISSING, "NXDOMAIN: the name does not exist", notes)
    if reply.status is Status.NODATA:
        return verdict(State.MISSING, "NODATA: the name exists but has no TXT record", notes)
    if reply.status is Status.SERVFAIL:
        return verdict(State.MISSING, "SERVFAIL: the server failed to answer (zone not loaded, DNSSEC "
                                      "failure or broken delegation)", notes)
    if reply.status is Status.REFUSED:
        summary = "REFUSED: the server does not serve this zone"
        if server.role is Role.AUTHORITATIVE:
            summary += " (lame delegation)"
        return verdict(State.MISSING, summary, notes)
    if reply.status is Status.OTHER_RCODE:
        return verdict(State.MISSING, f"{reply.rcode}: no answer", notes)
    if reply.status is Status.REFERRAL:
        return verdict(State.MISSING, f"referral to {reply.referral_zone}: the server has no answer itself", notes)

    records = [tuple(r) for r in reply.records]
    if not records:
        return verdict(State.MISSING, "no TXT record at the name (only a CNAME)" if reply.cname_chain
                       else "NODATA: no TXT record", notes)
    values = [txt_value(r) for r in records]
    for strings in records:
        if len(strings) > 1:
            notes.append(f"a value is split into {len(strings)} strings; joined as TXT semantics require")
    if expected in values:
        others = [v for v in values if v != expected]
        if others:
            shown = ", ".join(redact(v) for v in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            notes.append(f"{len(others)} other TXT record(s) at the name: {shown} "
                         f"(harmless for verification, but remove stale codes)")
        return verdict(State.OK, "serves the code exactly", notes)
    descriptions = []
    near = False
    for value in values:
        is_near, text = describe_difference(expected, value)
        near = near or is_near
        descriptions.append(f"{redact(value)}: {text}")
    count = f"{len(values)} TXT records, none is the code" if len(values) > 1 else "serves a different value"
    summary = ("near miss: " if near else "") + count
    return verdict(State.WRONG, summary, descriptions + notes)


def exit_code(verdicts: Sequence[ServerVerdict], discovery_failed: bool = False) -> int:
    states = {v.state for v in verdicts}
    if State.WRONG in states or State.MISSING in states:
        return EXIT_MISMATCH
    if discovery_failed or not verdicts or State.UNREACHABLE in states:
        return EXIT_UNREACHABLE
    return EXIT_OK


def agreement(verdicts: Sequence[ServerVerdict]) -> tuple[int, int]:
    """(servers serving the code, servers asked)."""
    return sum(v.state is State.OK for v in verdicts), len(verdicts)


# --------------------------------------------------------------------------------------------
# the other checks


def judge_delegation(zone: str, parent_zone: str | None, parent_ns: Iterable[str],
                     apex_ns: Iterable[str], soa_replies: Sequence[Reply]) -> list[Finding]:
    """Delegation from the parent versus the zone's own NS set, lame servers and stale serials."""
    check = "delegation"
    findings: list[Finding] = []
    parent_set = {normalize_name(n) for n in parent_ns}
    apex_set = {normalize_name(n) for n in apex_ns}
    if not parent_set:
        findings.append(Finding(check, Level.INFO, f"could not read the delegation of {zone} from its parent "
                                                   f"zone{f' {parent_zone}' if parent_zone else ''}"))
    elif apex_set:
        only_parent = sorted(parent_set - apex_set)
        only_apex = sorted(apex_set - parent_set)
        if not only_parent and not only_apex:
            findings.append(Finding(check, Level.OK, f"{parent_zone or 'parent'} delegates {zone} to the "
                                                     f"same {len(parent_set)} name servers the zone lists"))
        else:
            if only_parent:
                findings.append(Finding(check, Level.WARNING,
                                        f"partial delegation: the parent lists {', '.join(only_parent)} "
                                        f"but the zone's NS records do not"))
            if only_apex:
                findings.append(Finding(check, Level.WARNING,
                                        f"partial delegation: the zone lists {', '.join(only_apex)} "
                                        f"but the parent does not delegate to them"))
    serials: dict[int, list[str]] = {}
    for reply in soa_replies:
        label = reply.server.label
        if not reply.reached:
            findings.append(Finding(check, Level.ERROR, f"{label}: unreachable ({reply.status.value})"))
        elif reply.status is Status.ANSWER and reply.authoritative and reply.soa_serial is not None:
            serials.setdefault(reply.soa_serial, []).append(label)
        else:
            why = reply.rcode if reply.status in (Status.REFUSED, Status.SERVFAIL, Status.OTHER_RCODE) \
                else ("not authoritative" if reply.status is Status.ANSWER else reply.status.value)
            findings.append(Finding(check, Level.ERROR, f"lame delegation: {label} does not serve {zone} ({why})"))
    if len(serials) > 1:
        newest = max(serials)
        for serial, labels in sorted(serials.items()):
            if serial != newest:
                findings.append(Finding(check, Level.ERROR,
                                        f"stale: {', '.join(labels)} serve(s) SOA serial {serial}, "
                                        f"others serve {newest} (zone transfer not caught up)"))
    elif len(serials) == 1:
        (serial,) = serials
        findings.append(Finding(check, Level.OK, f"all reachable servers serve SOA serial {serial}"))
    return findings


def _same_name(a: str, b: str) -> bool:
    return normalize_name(a) == normalize_name(b)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def judge_host_target(host: str, expected: str | None, replies: Sequence[Reply]) -> list[Finding]:
    """The proxy host's CNAME (or A) at each authoritative server versus the stack's target."""
    check = "proxy host"
    findings: list[Finding] = []
    for reply in replies:
        label = reply.server.label
        if not reply.reached:
            findings.append(Finding(check, Level.WARNING, f"{label}: unreachable ({reply.status.value})"))
            continue
        if reply.status is not Status.ANSWER:
            findings.append(Finding(check, Level.ERROR, f"{label}: {host} has no CNAME or A record "
                                                        f"({reply.status.value if reply.status is not Status.OTHER_RCODE else reply.rcode})"))
            continue
        if reply.cname_chain:
            target = reply.cname_chain[0]
            if expected is None or _is_ip(expected):
                level = Level.INFO if expected is None else Level.ERROR
                findings.append(Finding(check, level, f"{label}: CNAME {target}"
                                        + (f" (expected A {expected})" if expected else "")))
            elif _same_name(target, expected):
                findings.append(Finding(check, Level.OK, f"{label}: CNAME {target} as the stack expects"))
            else:
                findings.append(Finding(check, Level.ERROR, f"{label}: CNAME {target}, expected {normalize_name(expected)}"))
        else:
            addresses = sorted(str(r) for r in reply.records)
            if expected is None:
                findings.append(Finding(check, Level.INFO, f"{label}: A {', '.join(addresses)}"))
            elif _is_ip(expected) and expected in addresses:
                findings.append(Finding(check, Level.OK, f"{label}: A {expected} as the stack expects"))
            else:
                findings.append(Finding(check, Level.ERROR, f"{label}: A {', '.join(addresses)}, expected "
                                        + (expected if _is_ip(expected) else f"CNAME {normalize_name(expected)}")))
    return findings


def judge_asuid(host: str, expected: str | None, replies: Sequence[Reply]) -> list[Finding]:
    """`asuid.<host>` TXT (Container Apps custom-domain verification) exists and matches."""
    check = "asuid"
    name = asuid_name(host)
    findings: list[Finding] = []
    for reply in replies:
        label = reply.server.label
        if not reply.reached:
            findings.append(Finding(check, Level.WARNING, f"{label}: unreachable ({reply.status.value})"))
            continue
        values = [txt_value(r) for r in reply.records] if reply.status is Status.ANSWER else []
        if not values:
            findings.append(Finding(check, Level.ERROR, f"{label}: no TXT at {name} "
                                                        f"({reply.status.value}); the custom domain cannot bind"))
        elif expected is None:
            findings.append(Finding(check, Level.OK, f"{label}: TXT at {name} exists"))
        elif expected in values:
            findings.append(Finding(check, Level.OK, f"{label}: TXT at {name} matches the environment's "
                                                     f"verification id"))
        else:
            _, text = describe_difference(expected, values[0])
            findings.append(Finding(check, Level.ERROR, f"{label}: TXT at {name} is not the environment's "
                                                        f"verification id ({text})"))
    return findings


@dataclass(frozen=True)
class Chain:
    """A name followed through CNAMEs by a resolver."""

    name: str
    names: tuple[str, ...]  # the CNAME targets, in order
    addresses: tuple[str, ...]
    status: Status
    detail: str = ""


def judge_face_privatelink(face_host: str, chain: Chain) -> list[Finding]:
    """The Face hostname must resolve through `<sub>.privatelink.cognitiveservices.azure.com`."""
    check = "face private endpoint"
    expected = privatelink_name(face_host)
    path = " -> ".join((normalize_name(face_host),) + tuple(normalize_name(n) for n in chain.names))
    if chain.status in NOT_REACHED:
        return [Finding(check, Level.WARNING, f"could not resolve {face_host}: {chain.status.value} {chain.detail}".rstrip())]
    if any(_same_name(n, expected) for n in chain.names):
        where = f" to {', '.join(chain.addresses)}" if chain.addresses else ""
        return [Finding(check, Level.OK, f"{path}{where}: resolves through {expected}, so the private "
                                         f"endpoint is registered")]
    if chain.status in (Status.NXDOMAIN, Status.SERVFAIL, Status.REFUSED):
        return [Finding(check, Level.ERROR, f"{face_host} does not resolve ({chain.status.value})")]
    return [Finding(check, Level.ERROR, f"{path}: does not go through {expected}; the private endpoint "
                                        f"is missing or not yet registered for this account")]


# --------------------------------------------------------------------------------------------
# the 48-hour window


def parse_issued_at(value: str) -> datetime:
    """ISO-8601 time; naive values are taken as UTC. Raises ValueError with a readable message."""
    text = value.strip()
    expected = "expected ISO-8601 UTC like 2026-11-20T09:30:00Z"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        shown = value if len(value) <= 60 else value[:40] + "…"
        raise ValueError(f"received {shown!r}; {expected}") from None


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def window_finding(issued_at: datetime, now: datetime) -> Finding:
    closes = issued_at + VERIFICATION_WINDOW
    left = closes - now
    stamp = closes.strftime("%Y-%m-%dT%H:%MZ")
    if left <= timedelta(0):
        return Finding(WINDOW_CHECK, Level.ERROR,
                       f"the verification window closed at {stamp} ({_duration(left)} ago): ask support for "
                       f"a new code before telling them the record is live")
    if left < WINDOW_WARNING:
        return Finding("48-hour window", Level.WARNING,
                       f"only {_duration(left)} left: the window closes at {stamp}; tell support as soon "
                       f"as every server agrees")
    return Finding("48-hour window", Level.INFO, f"{_duration(left)} left (closes at {stamp})")


# --------------------------------------------------------------------------------------------
# server specs


def parse_server(spec: str, flag: str, role: Role, default_port: int = 53) -> Server:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address. Raises ValueError (message names flag)."""
    text = spec.strip()
    port = default_port
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{flag}: received {shorten(spec)}; expected IP, IP:PORT or [IPv6]:PORT")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{flag}: received port {port_text!r} in {spec!r}; expected 1-65535")
        port = int(port_text)
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(f"{flag}: received {shorten(spec)}; expected an IP address (IP, IP:PORT or [IPv6]:PORT), "
                         f"not a host name") from None
    return Server(address=address, port=port, role=role)
