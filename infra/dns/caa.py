"""May DigiCert issue the proxy host's managed certificate? The CAA part of `dns check`.

Container Apps' free managed certificate is issued by DigiCert; Microsoft: if a CAA record applies,
it must allow DigiCert (`0 issue "digicert.com"`) or issuance and every renewal fail
(MicrosoftDocs/azure-docs, articles/container-apps/custom-domains-managed-certificates.md).

Which CAA RRset applies (RFC 8659 §3): the CAA RRset at the host itself (a CAA query follows
CNAMEs, so one at the alias target counts), else at its parent, and so on up to, not including,
the root; the first non-empty one is the relevant RRset and nothing above it matters. Without any,
every CA may issue. In it (§4), only `issue` properties govern a non-wildcard name (`issuewild` is
for wildcards); none means unrestricted; an issuer domain before `;` names an authorized CA, an
empty one authorizes none; an unknown tag with the critical flag (128) forbids issuance.

`lookup_caa` asks the authoritative servers of each zone on the way up (bounded by the name's
labels); `judge_caa` is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from infra.dns import probe as dns_probe
from infra.dns.model import Finding, Level, normalize_name, Reply, Server, Status

CHECK = "CAA (managed certificate)"
MANAGED_CA = "digicert.com"
KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone"})
CRITICAL = 128
_CAA_TEXT = re.compile(r'^\s*(\d+)\s+([A-Za-z0-9]+)\s+"?(.*?)"?\s*$')


@dataclass(frozen=True)
class CaaRecord:
    flags: int
    tag: str
    value: str


@dataclass
class CaaLookup:
    host: str
    owner: str | None = None  # where the relevant RRset was found (None: nowhere)
    via_alias: str | None = None  # the CNAME target that held it, if any
    records: list[CaaRecord] = field(default_factory=list)
    unchecked: str | None = None  # why the walk stopped early


def parse_caa(text: str) -> CaaRecord | None:
    match = _CAA_TEXT.match(str(text))
    if not match:
        return None
    return CaaRecord(int(match.group(1)), match.group(2).lower(), match.group(3).replace('\\"', '"'))


def issuer(value: str) -> str:
    """The issuer domain of an `issue` value (`digicert.com; account=1` → `digicert.com`)."""
    return value.split(";", 1)[0].strip().rstrip(".").lower()


def judge_caa(lookup: CaaLookup, ca: str = MANAGED_CA) -> Finding:
    if lookup.unchecked:
        return Finding(CHECK, Level.INFO, f"not checked: {lookup.unchecked}")
    if lookup.owner is None:
        return Finding(CHECK, Level.OK, f"no CAA record at {lookup.host} or above it: any CA, {ca} included, may issue")
    where = lookup.owner + (f" (through its alias {lookup.via_alias})" if lookup.via_alias else "")
    critical = sorted({r.tag for r in lookup.records if r.flags & CRITICAL and r.tag not in KNOWN_TAGS})
    if critical:
        return Finding(CHECK, Level.ERROR, f"CAA at {where} has critical tag(s) {', '.join(critical)} that no CA "
                                           f"may ignore: the managed certificate cannot be issued or renewed")
    issuers = [issuer(r.value) for r in lookup.records if r.tag == "issue"]
    if not issuers:
        return Finding(CHECK, Level.OK, f"CAA at {where} has no issue property: any CA, {ca} included, may issue")
    if ca in issuers:
        return Finding(CHECK, Level.OK, f"CAA at {where} allows {ca}")
    shown = ", ".join(sorted({i or ';' for i in issuers}))
    return Finding(CHECK, Level.ERROR, f"CAA at {where} allows only {shown}: {ca} cannot issue or renew the managed "
                                       f"certificate; add `0 issue \"{ca}\"` at {lookup.owner} (or use "
                                       "proxyCertificateSource keyvault)")


def _ancestors(host: str) -> list[str]:
    labels = normalize_name(host).split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]  # the host up to its TLD, never the root


class _Walker:
    """Asks each zone's authoritative servers (found once per zone) for CAA at a name."""

    def __init__(self, resolvers: Sequence[Server], port: int, timeout: float):
        self.resolvers, self.port, self.timeout = list(resolvers), port, timeout
        self.servers_by_zone: dict[str, list[Server]] = {}

    def ask(self, name: str) -> Reply | None:
        notes: list[str] = []
        cut = dns_probe.find_zone(name, self.resolvers, timeout=self.timeout, notes=notes)
        if cut is None:
            return None
        if cut.zone not in self.servers_by_zone:
            self.servers_by_zone[cut.zone] = dns_probe.zone_servers(
                cut, self.resolvers, port=self.port, timeout=self.timeout, ipv6=False, notes=notes, limit=2)
        for server in self.servers_by_zone[cut.zone]:
            reply = dns_probe.query(server, name, "CAA", timeout=self.timeout)
            if reply.reached and reply.status not in (Status.SERVFAIL, Status.REFUSED):
                return reply
        return None


def _records(reply: Reply) -> list[CaaRecord]:
    return [r for r in (parse_caa(text) for text in reply.records) if r is not None]


def lookup_caa(host: str, resolvers: Sequence[Server], *, port: int = 53, timeout: float) -> CaaLookup:
    found = CaaLookup(host=normalize_name(host))
    if not resolvers:
        found.unchecked = "no resolver to walk the name with (pass --resolver)"
        return found
    walker = _Walker(resolvers, port, timeout)
    for name in _ancestors(host):
        reply = walker.ask(name)
        if reply is None:
            found.unchecked = f"no server answered CAA {name}"
            return found
        records = _records(reply) if reply.status is Status.ANSWER else []
        if not records and reply.cname_chain:
            target = reply.cname_chain[-1]  # the alias leaves this zone: ask where it points
            target_reply = walker.ask(target)
            if target_reply is not None and target_reply.status is Status.ANSWER:
                records = _records(target_reply)
                if records:
                    found.via_alias = normalize_name(target)
        if records:
            found.owner, found.records = name, records
            return found
        if reply.status not in (Status.ANSWER, Status.NODATA, Status.NXDOMAIN):
            found.unchecked = f"CAA {name}: {reply.status.value}"
            return found
    return found
