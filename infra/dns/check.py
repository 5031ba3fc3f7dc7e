"""One round of `liveness-infra dns check`: ask every server once and judge the replies into a Report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from infra.dns import probe as dns_probe
from infra.dns.caa import judge_caa, lookup_caa
from infra.dns.model import asuid_name, redact, Role, Server, verification_name
from infra.dns.records import judge_asuid, judge_delegation, judge_face_privatelink, judge_host_target
from infra.dns.verdicts import judge_txt, Report, window_finding

DEFAULT_QUERY_TIMEOUT = 3.0


@dataclass
class CheckOptions:
    host: str
    code: str
    nameservers: list[Server] = field(default_factory=list)
    resolvers: list[Server] = field(default_factory=list)
    public: list[Server] = field(default_factory=list)
    port: int = 53
    timeout: float = DEFAULT_QUERY_TIMEOUT
    ipv6: bool = False
    expect_target: str | None = None
    asuid: str | None = None
    face_host: str | None = None
    issued_at: datetime | None = None


def run_check(opts: CheckOptions, now: datetime | None = None) -> tuple[Report, list[str]]:
    """Ask every server once; the report and discovery notes. Bounded by the query timeout."""
    record = verification_name(opts.host)
    report = Report(host=opts.host, record=record, code_redacted=redact(opts.code))
    notes: list[str] = []
    if opts.nameservers:
        servers = list(opts.nameservers)
    else:
        found = dns_probe.discover(opts.host, opts.resolvers, port=opts.port, timeout=opts.timeout,
                                   ipv6=opts.ipv6)
        notes.extend(found.notes)
        report.zone = found.zone
        report.discovery_failed = found.failed
        servers = found.servers
        if found.zone is not None and found.servers:
            report.findings.extend(judge_delegation(found.zone, found.parent_zone, found.parent_ns,
                                                    found.apex_ns, found.soa_replies))
        if found.nxdomain:
            note = f"{record} does not exist; the closest enclosing zone is {found.zone or '.'}"
            if found.zone is not None and "." not in found.zone:
                note += f": is the zone of {opts.host} delegated from it?"
            notes.append(note)
    asked = servers + [s for s in opts.public if s not in servers]
    jobs = ([(s, record, "TXT") for s in asked]
            + [(s, opts.host, "A") for s in servers]
            + [(s, asuid_name(opts.host), "TXT") for s in servers])
    replies = dns_probe.query_many(jobs, timeout=opts.timeout,
                                   recursion=lambda s: s.role is not Role.AUTHORITATIVE)
    txt, rest = replies[:len(asked)], replies[len(asked):]
    host_replies, asuid_replies = rest[:len(servers)], rest[len(servers):]
    report.verdicts = [judge_txt(r, opts.code) for r in txt]
    report.findings.extend(judge_host_target(opts.host, opts.expect_target, host_replies))
    report.findings.extend(judge_asuid(opts.host, opts.asuid, asuid_replies))
    if opts.face_host:
        chain = dns_probe.follow_chain(opts.face_host, opts.resolvers, timeout=opts.timeout)
        report.findings.extend(judge_face_privatelink(opts.face_host, chain))
    # A CAA record that leaves out DigiCert blocks the managed certificate and its renewals.
    report.findings.append(judge_caa(lookup_caa(opts.host, opts.resolvers, port=opts.port, timeout=opts.timeout)))
    if opts.issued_at is not None:
        report.findings.append(window_finding(opts.issued_at, now or datetime.now(timezone.utc)))
    return report, notes

