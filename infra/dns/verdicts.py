"""Pure: what DNS replies mean for Microsoft's domain verification.

No sockets and no dnspython here. :mod:`infra.dns.probe` turns DNS messages into :class:`Reply`
values; this module turns replies into per-server verdicts, findings and the exit code of
`liveness-infra dns check`.

The vocabulary (servers, replies, findings, names) is in infra/dns/model.py, the checks besides
the TXT value in infra/dns/records.py; this module keeps the TXT verdict, the exit code, the
48-hour window and server specs.

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

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

from infra.errors import shorten
from infra.dns.model import (
    describe_difference, EXIT_MISMATCH, EXIT_OK, EXIT_UNREACHABLE, Finding, Level, Reply, Role,
    Server, ServerVerdict, State, Status, VERIFICATION_WINDOW, WINDOW_CHECK, WINDOW_WARNING, redact,
    txt_value,
)


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

