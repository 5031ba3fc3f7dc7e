"""dns_probe without a server: DNS messages built with dnspython, as a recursive resolver sends them.

The Knot world in conftest.py has only authoritative servers; these tests cover the recursive
shapes of the same questions (negative answers carrying the zone's SOA, CNAME chains in one answer).
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

from infra.dns import probe as dns_probe
from infra.dns.model import Role, Server, Status

RESOLVER = Server("127.0.0.1", 53, Role.PUBLIC)


def response(qname: str, rdtype: str, *, rcode=dns.rcode.NOERROR, aa=False, answer=(), authority=(),
             additional=()) -> dns.message.Message:
    msg = dns.message.make_response(dns.message.make_query(qname, rdtype))
    msg.set_rcode(rcode)
    if aa:
        msg.flags |= dns.flags.AA
    for section, rows in ((msg.answer, answer), (msg.authority, authority), (msg.additional, additional)):
        for owner, ttl, kind, *values in rows:
            section.append(dns.rrset.from_text(owner, ttl, "IN", kind, *values))
    return msg


SOA = ("contoso.com.", 300, "SOA", "ns1-01.azure-dns.com. admin.contoso.com. 7 3600 300 2419200 300")


def test_negative_answer_carries_the_zone():
    r = dns_probe.reply_from_message(RESOLVER, "azaiverify.liveness.contoso.com", "SOA",
                                     response("azaiverify.liveness.contoso.com.", "SOA", rcode=dns.rcode.NXDOMAIN,
                                              authority=[SOA]))
    assert r.status is Status.NXDOMAIN and r.soa_owner == "contoso.com" and r.soa_serial == 7


def test_cname_chain_in_one_answer():
    msg = response("fl-face.cognitiveservices.azure.com.", "A", answer=[
        ("fl-face.cognitiveservices.azure.com.", 60, "CNAME", "fl-face.privatelink.cognitiveservices.azure.com."),
        ("fl-face.privatelink.cognitiveservices.azure.com.", 60, "CNAME", "westeurope.api.cognitive.microsoft.com."),
        ("westeurope.api.cognitive.microsoft.com.", 60, "A", "10.40.2.4"),
    ])
    r = dns_probe.reply_from_message(RESOLVER, "fl-face.cognitiveservices.azure.com", "A", msg)
    assert r.status is Status.ANSWER
    assert r.cname_chain == ("fl-face.privatelink.cognitiveservices.azure.com",
                             "westeurope.api.cognitive.microsoft.com")
    assert r.records == ("10.40.2.4",)


def test_referral_with_glue():
    msg = response("azaiverify.liveness.contoso.com.", "SOA", authority=[
        ("contoso.com.", 172800, "NS", "ns1.contoso.com.", "ns2.contoso.com.")],
        additional=[("ns1.contoso.com.", 172800, "A", "127.0.0.2")])
    r = dns_probe.reply_from_message(RESOLVER, "azaiverify.liveness.contoso.com", "SOA", msg)
    assert r.status is Status.REFERRAL
    assert r.referral_zone == "contoso.com" and r.referral_ns == ("ns1.contoso.com", "ns2.contoso.com")
    assert r.glue == (("ns1.contoso.com", "127.0.0.2"),)


def test_split_txt_strings_are_kept_apart_for_the_verdict():
    msg = response("azaiverify.h.contoso.com.", "TXT", aa=True,
                   answer=[("azaiverify.h.contoso.com.", 60, "TXT", '"abc" "def"')])
    r = dns_probe.reply_from_message(RESOLVER, "azaiverify.h.contoso.com", "TXT", msg)
    assert r.records == ((b"abc", b"def"),) and r.authoritative


def test_find_zone_through_a_recursive_resolver(monkeypatch):
    """A recursive resolver answers NODATA + SOA: the zone is found in one question."""
    asked = []

    def fake_query(server, qname, rdtype, *, timeout, recursion=False):
        asked.append((qname, rdtype, recursion))
        msg = response(qname + ".", rdtype, authority=[SOA])
        return dns_probe.reply_from_message(server, qname, rdtype, msg)

    monkeypatch.setattr(dns_probe, "query", fake_query)
    notes: list[str] = []
    cut = dns_probe.find_zone("azaiverify.liveness.contoso.com", [RESOLVER], timeout=1, notes=notes)
    assert cut is not None and cut.zone == "contoso.com" and not cut.nxdomain
    assert asked == [("azaiverify.liveness.contoso.com", "SOA", True)]


def test_find_zone_skips_cnames(monkeypatch):
    """A CNAME is never a zone apex: walk up past it."""

    def fake_query(server, qname, rdtype, *, timeout, recursion=False):
        if qname == "liveness.contoso.com":
            msg = response(qname + ".", rdtype, answer=[(qname + ".", 60, "CNAME", "app.azurecontainerapps.io.")])
        elif qname == "contoso.com":
            msg = response(qname + ".", rdtype, answer=[SOA])
        else:
            msg = response(qname + ".", rdtype, rcode=dns.rcode.SERVFAIL)
        return dns_probe.reply_from_message(server, qname, rdtype, msg)

    monkeypatch.setattr(dns_probe, "query", fake_query)
    notes: list[str] = []
    cut = dns_probe.find_zone("liveness.contoso.com", [RESOLVER], timeout=1, notes=notes)
    assert cut is not None and cut.zone == "contoso.com"
