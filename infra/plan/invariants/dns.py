"""The proxy's public name resolves and is verified: its CNAME (or A) record, the `asuid` TXT
record Container Apps checks, and the Face domain-verification TXT record when a code is configured,
its value a secret; in a prod lifecycle stack the zone and that record are protected.
"""

from __future__ import annotations

from typing import Iterable

from components.dns_records import ASUID_LABEL, VERIFICATION_LABEL
from infra.plan.invariants.inputs import T_RECORD, T_ZONE, all_secret, finding
from infra.plan.model import Evaluation, Finding


def check_public_dns(ev: Evaluation) -> Iterable[Finding]:
    inv = "public-dns"
    s = ev.settings
    if s.dns.mode == "external":
        yield from _external_records_listed(ev, inv)
        return
    records = {(r.inputs.get("relativeRecordSetName"), r.inputs.get("recordType")): r for r in ev.by_type(T_RECORD)}
    rel = s.proxy.host[: -(len(s.dns.zone_name or "") + 1)]  # the config requires a zone outside external mode
    if (rel, "CNAME") not in records and (rel, "A") not in records:
        yield finding(inv, f"a CNAME (or A) record for {s.proxy.host} is required")
    if (f"{ASUID_LABEL}.{rel}", "TXT") not in records:
        yield finding(inv, f"the {ASUID_LABEL}.{s.proxy.host} TXT record is required")
    verification = records.get((f"{VERIFICATION_LABEL}.{rel}", "TXT"))
    if s.registration.verification_code_configured:
        if verification is None:
            yield finding(inv, f"the {VERIFICATION_LABEL}.{s.proxy.host} TXT record is required when a code is configured")
        elif not all_secret(verification.inputs.get("txtRecords")):
            yield finding(inv, "the verification code must be a secret in the TXT record's inputs", verification.name)
        elif s.prod_like and not verification.protect:
            yield finding("prod-protection", "the verification TXT record must be protected in a prod lifecycle stack",
                          verification.name)
    if s.prod_like and s.dns.mode == "create":
        for zone in ev.by_type(T_ZONE):
            if not zone.protect:
                yield finding("prod-protection", "the public zone must be protected in a prod lifecycle stack", zone.name)


def _external_records_listed(ev: Evaluation, inv: str) -> Iterable[Finding]:
    """dnsMode external: the stack creates no record, so its dnsRecords output must list each one."""
    s = ev.settings
    names = {r["name"]: r for r in ev.outputs.get("dnsRecords") or []}
    expected = [s.proxy.host, f"{ASUID_LABEL}.{s.proxy.host}"]
    if s.registration.verification_code_configured:
        expected.append(f"{VERIFICATION_LABEL}.{s.proxy.host}")
    for name in expected:
        if name not in names:
            yield finding(inv, f"external mode must list the record {name}")
