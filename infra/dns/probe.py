"""The dnspython query layer: ask one server one question, discover a zone's servers.

Every query goes straight to one server (no cache), over UDP with a retry over TCP when the
reply is truncated, with a bounded timeout. Results are :class:`infra.dns.verdicts.Reply`
values; what they mean is decided in :mod:`infra.dns.verdicts`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from infra.dns.model import normalize_name, NOT_REACHED, Reply, Role, Server, Status
from infra.dns.records import Chain

EDNS_PAYLOAD = 1232  # the DNS flag day 2020 recommendation: avoids IP fragmentation
MAX_CNAME_HOPS = 8
MAX_PARALLEL = 16
# The delegation is read from the first parent server that answers; a TLD has a dozen, few are needed.
PARENT_SERVERS_ASKED = 3


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(normalize_name(text) + ".")


def _text(name: dns.name.Name) -> str:
    return normalize_name(name.to_text())


def query(server: Server, qname: str, rdtype: str, *, timeout: float, recursion: bool = False) -> Reply:
    """Ask ``server`` for ``qname``/``rdtype`` once; never raises for DNS or network faults."""
    message = dns.message.make_query(_name(qname), rdtype, use_edns=0, payload=EDNS_PAYLOAD,
                                     flags=dns.flags.RD if recursion else 0)
    started = time.monotonic()

    def fail(status: Status, detail: str, transport: str = "udp") -> Reply:
        return Reply(server, normalize_name(qname), rdtype, status, rcode="", transport=transport,
                     detail=detail, elapsed_ms=(time.monotonic() - started) * 1000)

    transport = "udp"
    try:
        response = dns.query.udp(message, server.address, timeout=timeout, port=server.port,
                                 ignore_unexpected=True)
    except dns.exception.Timeout:
        return fail(Status.TIMEOUT, f"no reply within {timeout:g}s")
    except OSError as exc:
        return fail(Status.UNREACHABLE, exc.strerror or str(exc))
    except dns.exception.DNSException as exc:
        return fail(Status.BAD_REPLY, str(exc))
    if response.flags & dns.flags.TC:
        transport = "tcp"
        try:
            response = dns.query.tcp(message, server.address, timeout=timeout, port=server.port)
        except dns.exception.Timeout:
            return fail(Status.TRUNCATED, f"TCP retry: no reply within {timeout:g}s", "tcp")
        except OSError as exc:
            return fail(Status.TRUNCATED, f"TCP retry: {exc.strerror or exc}", "tcp")
        except dns.exception.DNSException as exc:
            return fail(Status.TRUNCATED, f"TCP retry: {exc}", "tcp")
    elapsed = (time.monotonic() - started) * 1000
    return reply_from_message(server, qname, rdtype, response, transport, elapsed)


def reply_from_message(server: Server, qname: str, rdtype: str, response: dns.message.Message,
                       transport: str = "udp", elapsed_ms: float = 0.0) -> Reply:
    """Reduce a DNS response to a :class:`Reply` (follows CNAMEs inside the answer)."""
    rcode = response.rcode()
    wanted = dns.rdatatype.from_text(rdtype)
    status_by_rcode = {dns.rcode.NXDOMAIN: Status.NXDOMAIN, dns.rcode.SERVFAIL: Status.SERVFAIL,
                       dns.rcode.REFUSED: Status.REFUSED}

    chain: list[str] = []
    current = _name(qname)
    records: tuple = ()
    for _ in range(MAX_CNAME_HOPS + 1):
        rrset = next((r for r in response.answer if r.name == current and r.rdtype == wanted), None)
        if rrset is not None:
            records = tuple(_record(rd, wanted) for rd in rrset)
            break
        cname = next((r for r in response.answer
                      if r.name == current and r.rdtype == dns.rdatatype.CNAME), None)
        if cname is None or wanted == dns.rdatatype.CNAME:
            break
        current = cname[0].target
        chain.append(_text(current))

    soa_owner = None
    soa_serial = None
    referral_zone = None
    referral_ns: tuple[str, ...] = ()
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            soa_owner = _text(rrset.name)
            soa_serial = rrset[0].serial
        elif rrset.rdtype == dns.rdatatype.NS and referral_zone is None:
            referral_zone = _text(rrset.name)
            referral_ns = tuple(sorted(_text(rd.target) for rd in rrset))
    if wanted == dns.rdatatype.SOA and records:
        soa_serial = int(records[0])
        soa_owner = _text(current)
    glue = tuple((_text(rrset.name), rd.address) for rrset in response.additional
                 if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) for rd in rrset)

    if rcode in status_by_rcode:
        status = status_by_rcode[rcode]
    elif rcode != dns.rcode.NOERROR:
        status = Status.OTHER_RCODE
    elif records or chain:
        status = Status.ANSWER
    elif referral_zone and soa_owner is None and not response.flags & dns.flags.AA:
        status = Status.REFERRAL
    else:
        status = Status.NODATA
    return Reply(server=server, qname=normalize_name(qname), rdtype=rdtype, status=status,
                 rcode=dns.rcode.to_text(rcode), authoritative=bool(response.flags & dns.flags.AA),
                 transport=transport, records=records, cname_chain=tuple(chain), soa_owner=soa_owner,
                 soa_serial=soa_serial, referral_zone=referral_zone, referral_ns=referral_ns, glue=glue,
                 elapsed_ms=elapsed_ms)


def _record(rdata, wanted) -> object:
    if wanted == dns.rdatatype.TXT:
        return tuple(rdata.strings)
    if wanted in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return rdata.address
    if wanted in (dns.rdatatype.NS, dns.rdatatype.CNAME):
        return _text(rdata.target)
    if wanted == dns.rdatatype.SOA:
        return str(rdata.serial)
    return rdata.to_text()


def query_many(jobs: Sequence[tuple[Server, str, str]], *, timeout: float,
               recursion: Callable[[Server], bool]) -> list[Reply]:
    """Run independent queries in parallel (bounded pool); results in the order of ``jobs``."""
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
        futures = [pool.submit(query, server, qname, rdtype, timeout=timeout, recursion=recursion(server))
                   for server, qname, rdtype in jobs]
        return [f.result() for f in futures]


def ask_first(resolvers: Sequence[Server], qname: str, rdtype: str, *, timeout: float) -> Reply | None:
    """Ask resolvers in turn (recursion desired) until one gives a usable reply; None if none did."""
    last = None
    for resolver in resolvers:
        reply = query(resolver, qname, rdtype, timeout=timeout, recursion=True)
        if reply.reached and reply.status not in (Status.SERVFAIL, Status.REFUSED):
            return reply
        last = reply
    return last if last is not None and last.reached else None


# --------------------------------------------------------------------------------------------
# discovery


def _ancestors(name: str) -> list[str]:
    labels = normalize_name(name).split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _below_or_equal(name: str, zone: str) -> bool:
    name, zone = normalize_name(name), normalize_name(zone)
    return not zone or name == zone or name.endswith("." + zone)


@dataclass
class ZoneCut:
    zone: str
    referral: Reply | None = None  # when a parent-side server answered with a delegation
    nxdomain: bool = False  # the name asked for does not exist in that zone


def find_zone(name: str, resolvers: Sequence[Server], *, timeout: float,
              notes: list[str]) -> ZoneCut | None:
    """The zone that holds ``name``, found by asking SOA and walking up the name.

    Works with a recursive resolver (negative answers carry the zone's SOA) and with an
    authoritative-only server for an ancestor zone (it answers with a referral).
    """
    for candidate in _ancestors(name):
        reply = ask_first(resolvers, candidate, "SOA", timeout=timeout)
        if reply is None:
            notes.append(f"no resolver answered SOA {candidate}")
            return None
        if reply.cname_chain:
            continue  # a CNAME is never a zone apex
        if reply.status is Status.ANSWER and reply.soa_owner and _same(reply.soa_owner, candidate):
            return ZoneCut(candidate)
        if reply.status in (Status.NXDOMAIN, Status.NODATA) and reply.soa_owner \
                and _below_or_equal(candidate, reply.soa_owner):
            return ZoneCut(reply.soa_owner, nxdomain=reply.status is Status.NXDOMAIN)
        if reply.status is Status.REFERRAL and reply.referral_zone \
                and _below_or_equal(candidate, reply.referral_zone):
            return ZoneCut(reply.referral_zone, referral=reply)
        notes.append(f"SOA {candidate}: {reply.status.value}; trying the parent name")
    return None


def _same(a: str, b: str) -> bool:
    return normalize_name(a) == normalize_name(b)


def resolve_addresses(ns_names: Iterable[str], glue: Iterable[tuple[str, str]], resolvers: Sequence[Server],
                      *, timeout: float, ipv6: bool) -> dict[str, list[str]]:
    """Addresses of name servers: glue first, else the resolver (A, and AAAA with ``ipv6``)."""
    glue_map: dict[str, list[str]] = {}
    for owner, address in glue:
        if ipv6 or ":" not in address:
            glue_map.setdefault(normalize_name(owner), []).append(address)
    out: dict[str, list[str]] = {}
    for ns in ns_names:
        ns = normalize_name(ns)
        if ns in glue_map:
            out[ns] = sorted(set(glue_map[ns]))
            continue
        addresses: list[str] = []
        for rdtype in ("A", "AAAA") if ipv6 else ("A",):
            reply = ask_first(resolvers, ns, rdtype, timeout=timeout)
            if reply is None:
                continue
            if reply.status is Status.ANSWER:
                addresses.extend(str(a) for a in reply.records)
            else:  # an authoritative-only resolver may refer us on, with glue
                addresses.extend(a for owner, a in reply.glue if _same(owner, ns)
                                 and (rdtype == "AAAA") == (":" in a))
        out[ns] = sorted(set(addresses))
    return out


@dataclass
class Discovery:
    zone: str | None = None
    parent_zone: str | None = None
    parent_ns: list[str] = field(default_factory=list)  # the delegation as the parent serves it
    apex_ns: list[str] = field(default_factory=list)  # the NS records the zone itself serves
    servers: list[Server] = field(default_factory=list)
    soa_replies: list[Reply] = field(default_factory=list)
    nxdomain: bool = False
    notes: list[str] = field(default_factory=list)
    failed: bool = False


def discover(host: str, resolvers: Sequence[Server], *, port: int = 53, timeout: float,
             ipv6: bool = False) -> Discovery:
    """Find the zone of ``azaiverify.<host>``, its delegation and its authoritative servers."""
    found = Discovery()
    name = f"azaiverify.{normalize_name(host)}"
    cut = find_zone(name, resolvers, timeout=timeout, notes=found.notes)
    if cut is None:
        found.failed = True
        found.notes.append(f"could not find the zone of {name}: no resolver gave a usable answer")
        return found
    zone = found.zone = cut.zone
    found.nxdomain = cut.nxdomain

    # The delegation as the parent zone's servers serve it.
    glue: list[tuple[str, str]] = []
    if zone:
        parent_name = zone.partition(".")[2]
        parent_cut = find_zone(parent_name, resolvers, timeout=timeout, notes=found.notes) if parent_name else None
        if parent_cut is not None:
            found.parent_zone = parent_cut.zone
            parent_servers = zone_servers(parent_cut, resolvers, port=port, timeout=timeout, ipv6=ipv6,
                                          notes=found.notes, limit=PARENT_SERVERS_ASKED)
            for server in parent_servers:
                reply = query(server, zone, "NS", timeout=timeout)
                if reply.status is Status.REFERRAL and _same(reply.referral_zone or "", zone):
                    found.parent_ns = list(reply.referral_ns)
                    glue.extend(reply.glue)
                    break
                if reply.status is Status.ANSWER and reply.authoritative:
                    # The same server serves parent and child: its answer is the child's NS set.
                    found.parent_ns = sorted(str(r) for r in reply.records)
                    glue.extend(reply.glue)
                    break
    if not found.parent_ns and cut.referral is not None:
        found.parent_ns = list(cut.referral.referral_ns)
        glue.extend(cut.referral.glue)

    # The zone's own NS set, from the delegated servers (or the resolver's view of it).
    delegated = list(found.parent_ns)
    if not delegated:
        own = ask_first(resolvers, zone, "NS", timeout=timeout)
        if own is not None and own.status is Status.ANSWER:
            delegated = sorted(str(r) for r in own.records)
            glue.extend(own.glue)
    addresses = resolve_addresses(delegated, glue, resolvers, timeout=timeout, ipv6=ipv6)
    servers = _servers_from(addresses, port)
    for ns in delegated:
        if not addresses.get(normalize_name(ns)):
            found.notes.append(f"name server {ns} has no address: it cannot be asked")
    # NS and SOA in one parallel batch: an unreachable server costs one timeout here, not two.
    batch = query_many([(s, zone, kind) for kind in ("NS", "SOA") for s in servers], timeout=timeout,
                       recursion=lambda s: False)
    ns_replies, soa_replies = batch[:len(servers)], batch[len(servers):]
    apex: set[str] = set()
    for reply in ns_replies:
        if reply.status is Status.ANSWER and reply.authoritative:
            apex.update(str(r) for r in reply.records)
            glue.extend(reply.glue)
    found.apex_ns = sorted(apex)
    extra = sorted(set(found.apex_ns) - {normalize_name(n) for n in delegated})
    if extra:
        more = resolve_addresses(extra, glue, resolvers, timeout=timeout, ipv6=ipv6)
        added = [s for s in _servers_from(more, port) if s not in servers]
        servers.extend(added)
        soa_replies.extend(query_many([(s, zone, "SOA") for s in added], timeout=timeout,
                                      recursion=lambda s: False))
    found.servers = servers
    found.soa_replies = soa_replies
    if not servers:
        found.failed = True
        found.notes.append(f"no authoritative server of {zone or 'the root'} could be found")
    return found


def _servers_from(addresses: dict[str, list[str]], port: int) -> list[Server]:
    return [Server(address=a, port=port, role=Role.AUTHORITATIVE, name=ns)
            for ns, addrs in sorted(addresses.items()) for a in addrs]


def zone_servers(cut: ZoneCut, resolvers: Sequence[Server], *, port: int, timeout: float, ipv6: bool,
                 notes: list[str], limit: int) -> list[Server]:
    """Up to ``limit`` name servers' addresses of a zone, as the resolver sees them."""
    if cut.referral is not None:
        names, glue = list(cut.referral.referral_ns), list(cut.referral.glue)
    else:
        reply = ask_first(resolvers, cut.zone, "NS", timeout=timeout)
        if reply is None or reply.status is not Status.ANSWER:
            notes.append(f"could not list the name servers of {cut.zone or 'the root'}")
            return []
        names, glue = sorted(str(r) for r in reply.records), list(reply.glue)
    return _servers_from(resolve_addresses(names[:limit], glue, resolvers, timeout=timeout, ipv6=ipv6), port)


# --------------------------------------------------------------------------------------------
# following a name through CNAMEs


def follow_chain(name: str, resolvers: Sequence[Server], *, timeout: float) -> Chain:
    """Resolve ``name`` to addresses through any CNAMEs, asking the resolvers (bounded hops).

    A recursive resolver returns the whole chain in one answer; an authoritative-only server
    returns the part inside its zones, and the rest is asked for again.
    """
    names: list[str] = []
    current = normalize_name(name)
    for _ in range(MAX_CNAME_HOPS):
        reply = ask_first(resolvers, current, "A", timeout=timeout)
        if reply is None:
            return Chain(name, tuple(names), (), Status.UNREACHABLE, "no resolver answered")
        names.extend(reply.cname_chain)
        if reply.status in NOT_REACHED or reply.status is not Status.ANSWER:
            return Chain(name, tuple(names), (), reply.status, reply.rcode)
        if reply.records:
            return Chain(name, tuple(names), tuple(str(a) for a in reply.records), Status.ANSWER)
        current = reply.cname_chain[-1]
    return Chain(name, tuple(names), (), Status.OTHER_RCODE, f"more than {MAX_CNAME_HOPS} CNAME hops")
