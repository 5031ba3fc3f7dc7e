"""Pure tests of the domain-verification verdicts: no sockets, no DNS server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from infra.dns.report import progress_line, render_text, to_data
from infra.dns.model import (
    describe_difference,
    Level,
    privatelink_name,
    redact,
    Reply,
    Role,
    Server,
    State,
    Status,
    validate_hostname,
)
from infra.dns.records import Chain, judge_asuid, judge_delegation, judge_face_privatelink, judge_host_target
from infra.dns.verdicts import exit_code, judge_txt, parse_issued_at, parse_server, Report, window_finding

CODE = "azv-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
AUTH = Server("192.0.2.1", 53, Role.AUTHORITATIVE, "ns1.contoso.com")
PUBLIC = Server("192.0.2.53", 53, Role.PUBLIC)


def txt_reply(*records: tuple[bytes, ...], server: Server = AUTH, **kw) -> Reply:
    kw.setdefault("authoritative", True)
    return Reply(server, "azaiverify.liveness.contoso.com", "TXT", Status.ANSWER, records=tuple(records), **kw)


def status_reply(status: Status, server: Server = AUTH, **kw) -> Reply:
    kw.setdefault("authoritative", True)
    return Reply(server, "azaiverify.liveness.contoso.com", "TXT", status, **kw)


# --- the code compared with what is served -------------------------------------------------

def test_exact_value_is_ok():
    v = judge_txt(txt_reply((CODE.encode(),)), CODE)
    assert v.state is State.OK
    assert v.summary == "serves the code exactly"


def test_split_strings_are_joined_and_reported():
    v = judge_txt(txt_reply((CODE[:10].encode(), CODE[10:].encode())), CODE)
    assert v.state is State.OK
    assert any("split into 2 strings" in n for n in v.notes)


def test_wrong_value_names_the_position_without_revealing_either_value():
    served = CODE[:16] + "X" + CODE[17:]
    v = judge_txt(txt_reply((served.encode(),)), CODE)
    assert v.state is State.WRONG
    text = " ".join((v.summary,) + v.notes)
    assert "differs at char 17" in text
    assert CODE not in text and served not in text


@pytest.mark.parametrize("served, expected_words", [
    (f'"{CODE}"', "has surrounding quotes"),
    (f"{CODE}  ", "trailing whitespace"),
    (f"  {CODE}", "leading whitespace"),
    (CODE.upper(), "matches case-insensitively only"),
    (f"{CODE[:12]} {CODE[12:]}", "whitespace inside the value"),
])
def test_near_misses_are_named(served, expected_words):
    v = judge_txt(txt_reply((served.encode(),)), CODE)
    assert v.state is State.WRONG
    assert v.summary.startswith("near miss")
    assert any(expected_words in n for n in v.notes), v.notes


def test_truncated_and_padded_values_are_described():
    near, text = describe_difference(CODE, CODE[:20])
    assert not near and "first 20 of 36" in text
    near, text = describe_difference(CODE, f"code={CODE}")
    assert not near and "5 chars before, 0 after" in text


def test_extra_records_do_not_fail_but_are_reported_redacted():
    old = "azv-ffffffffffffffffffffffffffffffff"
    v = judge_txt(txt_reply((CODE.encode(),), (old.encode(),)), CODE)
    assert v.state is State.OK
    assert any("1 other TXT record" in n for n in v.notes)
    assert old not in " ".join(v.notes)


def test_several_records_none_matching():
    v = judge_txt(txt_reply((b"one",), (b"two",)), CODE)
    assert v.state is State.WRONG
    assert "2 TXT records, none is the code" in v.summary
    assert len(v.notes) == 2


@pytest.mark.parametrize("status, state, words", [
    (Status.NXDOMAIN, State.MISSING, "NXDOMAIN"),
    (Status.NODATA, State.MISSING, "NODATA"),
    (Status.SERVFAIL, State.MISSING, "SERVFAIL"),
    (Status.REFUSED, State.MISSING, "lame delegation"),
    (Status.TIMEOUT, State.UNREACHABLE, "timeout"),
    (Status.UNREACHABLE, State.UNREACHABLE, "could not be reached"),
    (Status.TRUNCATED, State.UNREACHABLE, "TCP retry failed"),
    (Status.BAD_REPLY, State.UNREACHABLE, "could not be parsed"),
])
def test_faults_are_verdicts(status, state, words):
    v = judge_txt(status_reply(status, authoritative=status is not Status.REFUSED), CODE)
    assert v.state is state
    assert words in v.summary


def test_authoritative_server_without_aa_is_lame():
    v = judge_txt(txt_reply((CODE.encode(),), authoritative=False), CODE)
    assert v.state is State.MISSING
    assert "lame" in v.summary


def test_public_resolver_answers_need_no_aa_flag():
    v = judge_txt(txt_reply((CODE.encode(),), server=PUBLIC, authoritative=False), CODE)
    assert v.state is State.OK


def test_referral_is_not_an_answer():
    v = judge_txt(status_reply(Status.REFERRAL, authoritative=False, referral_zone="contoso.com"), CODE)
    assert v.state is State.MISSING
    assert "referral to contoso.com" in v.summary


def test_tcp_fallback_and_cname_are_noted():
    v = judge_txt(txt_reply((CODE.encode(),), transport="tcp", cname_chain=("other.contoso.com",)), CODE)
    assert v.state is State.OK
    assert any("truncated" in n for n in v.notes)
    assert any("CNAME to other.contoso.com" in n for n in v.notes)


# --- exit codes -------------------------------------------------------------------------------

def _v(state: State):
    return judge_txt({
        State.OK: txt_reply((CODE.encode(),)),
        State.WRONG: txt_reply((b"nope",)),
        State.MISSING: status_reply(Status.NXDOMAIN),
        State.UNREACHABLE: status_reply(Status.TIMEOUT),
    }[state], CODE)


@pytest.mark.parametrize("states, code", [
    ([State.OK, State.OK], 0),
    ([State.OK, State.WRONG], 1),
    ([State.OK, State.MISSING], 1),
    ([State.OK, State.UNREACHABLE], 3),
    ([State.UNREACHABLE, State.UNREACHABLE], 3),
    ([State.WRONG, State.UNREACHABLE], 1),  # a definite wrong answer wins over unreachable
    ([], 3),  # nobody asked: cannot say it is live
])
def test_exit_code_rule(states, code):
    verdicts = [_v(s) for s in states]
    assert all(v.state is s for v, s in zip(verdicts, states))
    assert exit_code(verdicts) == code


def test_discovery_failure_is_unreachable_even_with_answers():
    assert exit_code([_v(State.OK)], discovery_failed=True) == 3


# --- delegation, host target, asuid, face -------------------------------------------------

def soa(server: Server, serial: int | None, status: Status = Status.ANSWER, aa: bool = True) -> Reply:
    return Reply(server, "contoso.com", "SOA", status, authoritative=aa, soa_serial=serial,
                 rcode=status.value if status is not Status.ANSWER else "NOERROR")


NS2 = Server("192.0.2.2", 53, Role.AUTHORITATIVE, "ns2.contoso.com")


def test_matching_delegation_and_serials():
    f = judge_delegation("contoso.com", "com", ["ns1.contoso.com", "NS2.contoso.com."],
                         ["ns1.contoso.com", "ns2.contoso.com"], [soa(AUTH, 5), soa(NS2, 5)])
    assert [x.level for x in f] == [Level.OK, Level.OK]


def test_partial_delegation_both_ways():
    f = judge_delegation("contoso.com", "com", ["ns1.contoso.com", "ns3.contoso.com"],
                         ["ns1.contoso.com", "ns2.contoso.com"], [])
    messages = " ".join(x.message for x in f if x.level is Level.WARNING)
    assert "parent lists ns3.contoso.com" in messages
    assert "zone lists ns2.contoso.com" in messages


def test_stale_server_is_named():
    f = judge_delegation("contoso.com", "com", ["ns1.contoso.com", "ns2.contoso.com"],
                         ["ns1.contoso.com", "ns2.contoso.com"], [soa(AUTH, 7), soa(NS2, 6)])
    stale = [x for x in f if "stale" in x.message]
    assert len(stale) == 1 and stale[0].level is Level.ERROR
    assert "ns2.contoso.com" in stale[0].message and "serial 6" in stale[0].message


def test_lame_server_is_named():
    f = judge_delegation("contoso.com", "com", ["ns1.contoso.com"], ["ns1.contoso.com"],
                         [soa(AUTH, None, Status.REFUSED, aa=False)])
    assert any(x.level is Level.ERROR and "lame delegation" in x.message for x in f)


def host_reply(chain=(), records=(), status=Status.ANSWER) -> Reply:
    return Reply(AUTH, "liveness.contoso.com", "A", status, authoritative=True,
                 cname_chain=tuple(chain), records=tuple(records))


def test_host_target_cname():
    ok = judge_host_target("liveness.contoso.com", "app.env.azurecontainerapps.io",
                           [host_reply(["app.env.azurecontainerapps.io"])])
    assert ok[0].level is Level.OK
    bad = judge_host_target("liveness.contoso.com", "app.env.azurecontainerapps.io",
                            [host_reply(["old.env.azurecontainerapps.io"])])
    assert bad[0].level is Level.ERROR and "expected app.env.azurecontainerapps.io" in bad[0].message


def test_host_target_a_record():
    assert judge_host_target("h.contoso.com", "203.0.113.7", [host_reply(records=["203.0.113.7"])])[0].level is Level.OK
    assert judge_host_target("h.contoso.com", "ingress.example", [host_reply(records=["203.0.113.7"])])[0].level is Level.ERROR
    assert judge_host_target("h.contoso.com", None, [host_reply(status=Status.NXDOMAIN)])[0].level is Level.ERROR


def test_asuid():
    present = Reply(AUTH, "asuid.h.contoso.com", "TXT", Status.ANSWER, authoritative=True, records=((b"ABC123",),))
    assert judge_asuid("h.contoso.com", None, [present])[0].level is Level.OK
    assert judge_asuid("h.contoso.com", "ABC123", [present])[0].level is Level.OK
    assert judge_asuid("h.contoso.com", "ABC124", [present])[0].level is Level.ERROR
    absent = Reply(AUTH, "asuid.h.contoso.com", "TXT", Status.NXDOMAIN, authoritative=True)
    assert judge_asuid("h.contoso.com", None, [absent])[0].level is Level.ERROR


def test_face_privatelink():
    host = "fl-dev-face-1a2b.cognitiveservices.azure.com"
    assert privatelink_name(host) == "fl-dev-face-1a2b.privatelink.cognitiveservices.azure.com"
    good = Chain(host, ("fl-dev-face-1a2b.privatelink.cognitiveservices.azure.com", "westeurope.api.cognitive.microsoft.com"),
                 ("10.40.2.4",), Status.ANSWER)
    assert judge_face_privatelink(host, good)[0].level is Level.OK
    direct = Chain(host, ("westeurope.api.cognitive.microsoft.com",), ("20.1.2.3",), Status.ANSWER)
    assert judge_face_privatelink(host, direct)[0].level is Level.ERROR
    gone = Chain(host, (), (), Status.NXDOMAIN)
    assert "does not resolve" in judge_face_privatelink(host, gone)[0].message


# --- window, parsing, redaction --------------------------------------------------------------

ISSUED = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("hours_after, level", [(1, Level.INFO), (43, Level.WARNING), (47.9, Level.WARNING),
                                                 (48, Level.ERROR), (60, Level.ERROR)])
def test_window(hours_after, level):
    f = window_finding(ISSUED, ISSUED + timedelta(hours=hours_after))
    assert f.level is level
    assert "2026-11-22T09:30Z" in f.message


def test_parse_issued_at():
    assert parse_issued_at("2026-11-20T09:30:00Z") == ISSUED
    assert parse_issued_at("2026-11-20T10:30:00+01:00") == ISSUED
    assert parse_issued_at("2026-11-20T09:30:00") == ISSUED  # naive: UTC
    with pytest.raises(ValueError, match="expected ISO-8601"):
        parse_issued_at("yesterday")


@pytest.mark.parametrize("spec, address, port", [
    ("192.0.2.1", "192.0.2.1", 53), ("127.0.0.1:5353", "127.0.0.1", 5353),
    ("[::1]:5353", "::1", 5353), ("::1", "::1", 53), ("[2001:db8::1]", "2001:db8::1", 53),
])
def test_parse_server(spec, address, port):
    s = parse_server(spec, "--nameserver", Role.NAMESERVER)
    assert (s.address, s.port) == (address, port)


@pytest.mark.parametrize("spec, words", [("ns1.contoso.com", "not a host name"), ("127.0.0.1:0", "1-65535"),
                                         ("127.0.0.1:http", "1-65535"), ("[::1", "expected IP")])
def test_parse_server_errors_name_the_flag(spec, words):
    with pytest.raises(ValueError) as info:
        parse_server(spec, "--nameserver", Role.NAMESERVER)
    assert "--nameserver" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("value, ok", [("liveness.contoso.com", True), ("liveness.contoso.com.", True),
                                       ("localhost", False), ("10.0.0.1", False), ("bad_-.com", False),
                                       ("-x.contoso.com", False), ("a" * 64 + ".com", False), ("", False)])
def test_validate_hostname(value, ok):
    problem = validate_hostname(value, "--host")
    assert (problem is None) is ok
    if problem:
        assert problem.startswith("--host")


def test_redact_never_shows_most_of_the_secret():
    assert redact(CODE) == "azv-… (36 chars)"
    assert redact("short") == "… (5 chars)"
    shown = redact(CODE)
    assert not any(CODE[i:i + 5] in shown for i in range(len(CODE) - 4))


# --- rendering carries the same facts -----------------------------------------------------

def test_text_and_json_agree_and_never_print_the_code():
    report = Report(host="liveness.contoso.com", record="azaiverify.liveness.contoso.com", code_redacted=redact(CODE))
    report.verdicts = [judge_txt(txt_reply((CODE.encode(),)), CODE),
                       judge_txt(status_reply(Status.NXDOMAIN, server=NS2), CODE)]
    text = render_text(report)
    data = to_data(report)
    assert CODE not in text and CODE not in str(data)
    assert data["exit_code"] == 1 and data["agree"] == 1 and data["asked"] == 2
    assert [s["state"] for s in data["servers"]] == ["ok", "missing"]
    assert "NOT LIVE" in text and "ns2.contoso.com" in text
    line = progress_line(report, 12, 288)
    assert "1/2 servers serve the code" in line and "ns2.contoso.com" in line and "4m48s left" in line
