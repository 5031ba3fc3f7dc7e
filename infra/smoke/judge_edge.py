"""Pure: the public edge of the proxy host, i.e. its DNS records and the certificate it serves.

DNS answers arrive as :mod:`infra.dns.verdicts` values (the same query layer as `dns check`);
the certificate as a :class:`~infra.smoke.model.TlsObservation`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from infra.dns.model import describe_difference, normalize_name, NOT_REACHED, Reply, State, Status, txt_value
from infra.dns.records import Chain
from infra.dns.verdicts import judge_txt
from infra.smoke.model import FailureClass, Outcome, TlsObservation, Verdict

# Managed certificates renew about 45 days before expiry; a certificate this close was not renewed.
EXPIRY_WARN_DAYS = 30


def judge_cname(host: str, chain: Chain, expected: str | None) -> Verdict:
    """The host's CNAME chain must reach the ingress FQDN of the proxy's container app."""
    check = "dns cname"
    path = " -> ".join((host,) + tuple(chain.names))
    ends = f" ({', '.join(chain.addresses)})" if chain.addresses else ""
    details = {"chain": list(chain.names), "addresses": list(chain.addresses)}
    fix_record = (f"in the public zone, set CNAME {host} -> {normalize_name(expected)} (the ProxyDns records; "
                  "`pulumi up` restores them where the stack owns the zone)") if expected else ""
    if chain.status in NOT_REACHED:
        return Verdict(check, Outcome.UNREACHABLE, f"{host}: the DNS servers could not be asked "
                       f"({chain.status.value} {chain.detail})".rstrip(),
                       "check --nameserver, or this machine's resolver", FailureClass.CONNECT, details)
    if chain.status is not Status.ANSWER and not chain.names:
        return Verdict(check, Outcome.FAIL, f"{host} does not resolve ({chain.status.value})",
                       fix_record or f"create a CNAME for {host} to the proxy app's ingress FQDN",
                       FailureClass.CONNECT, details)
    if expected is None:
        return Verdict(check, Outcome.PASS, f"{path}{ends} (ingress FQDN unknown: pass --stack or "
                       "--expect-target to compare)", details=details)
    if any(normalize_name(n) == normalize_name(expected) for n in chain.names):
        return Verdict(check, Outcome.PASS, f"{path}{ends}: reaches the ingress FQDN", details=details)
    where = chain.names[-1] if chain.names else f"A {', '.join(chain.addresses)}"
    return Verdict(check, Outcome.FAIL, f"{path}{ends}: ends at {where}, not at the ingress FQDN "
                   f"{normalize_name(expected)}", fix_record, FailureClass.CONNECT, details)


def _txt_values(reply: Reply) -> list[str]:
    return [txt_value(r) for r in reply.records] if reply.status is Status.ANSWER else []


def judge_asuid(host: str, reply: Reply, expected: str | None) -> Verdict:
    """`asuid.<host>` TXT: Container Apps checks it when it binds (and renews) the custom domain."""
    check = "dns asuid"
    name = f"asuid.{host}"
    if not reply.reached:
        return Verdict(check, Outcome.UNREACHABLE, f"{name}: no reply ({reply.status.value})",
                       "check --nameserver, or this machine's resolver", FailureClass.CONNECT)
    values = _txt_values(reply)
    fix = (f"create TXT {name} with the environment's customDomainVerificationId"
           + (" (stack output)" if expected else "") + "; without it the custom domain cannot be bound or renewed")
    if not values:
        return Verdict(check, Outcome.FAIL, f"no TXT at {name} ({reply.status.value})", fix, FailureClass.CONNECT)
    if expected is None:
        return Verdict(check, Outcome.PASS, f"TXT at {name} present (not compared: no stack)")
    if expected in values:
        return Verdict(check, Outcome.PASS, f"TXT at {name} is the environment's verification id")
    _, how = describe_difference(expected, values[0])
    return Verdict(check, Outcome.FAIL, f"TXT at {name} is not the environment's verification id ({how})", fix,
                   FailureClass.CONNECT)


def judge_azaiverify(host: str, reply: Reply, state: str | None, code: str | None) -> Verdict:
    """`azaiverify.<host>` TXT must hold Microsoft's string while registrationState is verifying."""
    check = "dns azaiverify"
    name = f"azaiverify.{host}"
    if state is None or (state == "verifying" and not code):
        present = reply.reached and bool(_txt_values(reply))
        return Verdict(check, Outcome.SKIP, f"{name}: " + ("TXT present" if present else "no TXT")
                       + "; not compared (registration state or code unknown: pass --stack)")
    if state != "verifying":
        return Verdict(check, Outcome.SKIP, f"registrationState is {state}: Microsoft does not read {name} now")
    assert code is not None  # returned above unless verifying with a code
    verdict = judge_txt(reply, code)
    fix = (f"publish TXT {name} with exactly the string from Microsoft support (`liveness-infra dns check` "
           "shows each name server's view)")
    if verdict.state is State.OK:
        return Verdict(check, Outcome.PASS, f"{name} serves the verification string")
    if verdict.state is State.UNREACHABLE:
        return Verdict(check, Outcome.UNREACHABLE, f"{name}: {verdict.summary}", "", FailureClass.CONNECT)
    return Verdict(check, Outcome.FAIL, f"{name}: {verdict.summary}", fix, FailureClass.FORBIDDEN)


# --------------------------------------------------------------------------------------------
# TLS


def name_matches(host: str, pattern: str) -> bool:
    """RFC 6125 matching: exact, or a wildcard standing for exactly the left-most label."""
    host, pattern = normalize_name(host), normalize_name(pattern)
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:] and "." in pattern[2:]
    return host == pattern


def judge_tls(host: str, tls: TlsObservation, now: datetime,
              warn_days: int = EXPIRY_WARN_DAYS) -> list[Verdict]:
    """Three verdicts: the name, the chain, the expiry (each with its own fix)."""
    if not tls.connected and tls.reached:
        return [Verdict("tls", Outcome.FAIL, f"{host} accepts connections but no TLS session: {tls.error}",
                        "something other than the Container Apps ingress answers on 443, or it refuses this "
                        "host name (SNI): check the custom domain binding", FailureClass.CONNECT)]
    if not tls.connected:
        return [Verdict("tls", Outcome.UNREACHABLE, f"no TLS session with {host}: {tls.error}",
                        "is the custom domain bound with a certificate? is the app running?", FailureClass.CONNECT)]
    out: list[Verdict] = []
    names = ", ".join(tls.names) or "none"
    if any(name_matches(host, n) for n in tls.names):
        out.append(Verdict("tls name", Outcome.PASS, f"the certificate covers {host}"))
    else:
        out.append(Verdict("tls name", Outcome.FAIL, f"the certificate is for {names}, not {host}",
                           "bind the proxy host's own certificate to the custom domain (managed certificate, or "
                           "the Key Vault certificate for this host); the ingress serves its default certificate "
                           "when the binding is missing", FailureClass.CONNECT, {"names": list(tls.names)}))
    if tls.chain_ok:
        out.append(Verdict("tls chain", Outcome.PASS, f"issued by {tls.issuer}; the chain verifies"))
    else:
        out.append(Verdict("tls chain", Outcome.FAIL, f"the chain does not verify: {tls.chain_error} "
                           f"(issuer {tls.issuer})",
                           "serve a certificate from a publicly trusted CA with its intermediates (clients' "
                           "trust stores must accept it; --ca-file only for test CAs)", FailureClass.CONNECT))
    if tls.not_after is None:
        out.append(Verdict("tls expiry", Outcome.FAIL, "the certificate has no validity period",
                           "replace the certificate", FailureClass.CONNECT))
        return out
    left = tls.not_after - now
    days = left / timedelta(days=1)
    details = {"notAfter": tls.not_after.isoformat(), "daysLeft": round(days, 1)}
    if left <= timedelta(0):
        out.append(Verdict("tls expiry", Outcome.FAIL, f"expired {-days:.0f} days ago ({tls.not_after:%Y-%m-%d})",
                           "renew the certificate now: a managed certificate renews only while the CNAME and "
                           "asuid records are in place", FailureClass.CONNECT, details))
    elif tls.not_before is not None and tls.not_before > now:
        out.append(Verdict("tls expiry", Outcome.FAIL, f"not valid before {tls.not_before:%Y-%m-%d %H:%M}Z",
                           "check the certificate and this machine's clock", FailureClass.CONNECT, details))
    elif days < warn_days:
        out.append(Verdict("tls expiry", Outcome.WARN, f"expires in {days:.0f} days ({tls.not_after:%Y-%m-%d})",
                           "renewal should have happened by now: check the certificate's renewal (DNS records, "
                           "Key Vault access)", details=details))
    else:
        out.append(Verdict("tls expiry", Outcome.PASS, f"valid for {days:.0f} more days ({tls.not_after:%Y-%m-%d})",
                           details=details))
    return out
