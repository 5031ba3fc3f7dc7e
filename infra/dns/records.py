"""Pure: the checks besides the TXT value: delegation of the zone, the proxy host's target, the
`asuid` record, and the Face account's privatelink chain. Replies in, findings out.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from infra.dns.model import (
    Finding, describe_difference, Level, NOT_REACHED, Reply, Status, asuid_name, normalize_name,
    privatelink_name, txt_value,
)


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


def _reachable(check: str, replies: Sequence[Reply], findings: list[Finding]) -> Iterator[Reply]:
    """The replies from servers that answered at all; each server that did not is a warning in `findings`."""
    for reply in replies:
        if reply.reached:
            yield reply
        else:
            findings.append(Finding(check, Level.WARNING, f"{reply.server.label}: unreachable ({reply.status.value})"))


def judge_host_target(host: str, expected: str | None, replies: Sequence[Reply]) -> list[Finding]:
    """The proxy host's CNAME (or A) at each authoritative server versus the stack's target."""
    check = "proxy host"
    findings: list[Finding] = []
    for reply in _reachable(check, replies, findings):
        label = reply.server.label
        if reply.status is not Status.ANSWER:
            why = reply.status.value if reply.status is not Status.OTHER_RCODE else reply.rcode
            findings.append(Finding(check, Level.ERROR, f"{label}: {host} has no CNAME or A record ({why})"))
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
    for reply in _reachable(check, replies, findings):
        label = reply.server.label
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

