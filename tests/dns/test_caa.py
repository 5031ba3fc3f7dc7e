"""`dns check` reports a CAA record that would block the managed certificate (DigiCert), found the
way a CA finds it (RFC 8659: the host, then each parent; aliases followed), against real Knot."""

from __future__ import annotations

import pytest

from infra.dns.caa import CaaLookup, CaaRecord, judge_caa, lookup_caa, parse_caa
from infra.dns.model import Level, Role, Server
from tests.dns.conftest import PARENT


def _caa(r):
    (finding,) = [f for f in r.data["findings"] if f["check"].startswith("CAA")]
    return finding


@pytest.fixture
def check(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)

    def run(host):
        return cli("dns", "check", "--host", host, "--json", *world.discovery())

    return run


@pytest.mark.parametrize("host,level,fragment", [
    ("ok.contoso.test", "ok", "no CAA record"),
    ("blocked.caa.test", "error", "at caa.test allows only letsencrypt.org"),
    ("allowed.sub.caa.test", "ok", "at sub.caa.test allows digicert.com"),
    ("params.caa.test", "ok", "allows digicert.com"),
    ("wild.caa.test", "ok", "no issue property"),
    ("crit.crit.caa.test", "error", "critical tag(s) tbs"),
    ("nobody.none.caa.test", "error", "allows only ;"),
    ("alias.caa.test", "ok", "through its alias caa-target.caa-elsewhere.test"),
])
def test_caa_verdict_against_real_servers(check, host, level, fragment):
    r = check(host)
    assert r.code == 0, r.out + r.err  # CAA never changes the verification verdict
    finding = _caa(r)
    assert finding["level"] == level and fragment in finding["message"], finding


def test_blocking_caa_shows_in_the_text_report_with_the_fix(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    r = cli("dns", "check", "--host", "blocked.caa.test", *world.discovery())
    assert "ERROR" in r.out and '0 issue "digicert.com"' in r.out


def test_lookup_walks_up_and_stops_at_the_first_rrset(world):
    resolver = [Server(PARENT, world.port, Role.PUBLIC)]
    found = lookup_caa("deep.er.allowed.sub.caa.test", resolver, port=world.port, timeout=1)
    assert found.owner == "sub.caa.test" and [r.value for r in found.records] == ["digicert.com"]


def test_without_a_resolver_caa_is_reported_unchecked():
    finding = judge_caa(lookup_caa("x.contoso.test", [], timeout=1))
    assert finding.level is Level.INFO and "--resolver" in finding.message


@pytest.mark.parametrize("text,expected", [
    ('0 issue "digicert.com"', CaaRecord(0, "issue", "digicert.com")),
    ('128 TBS "x"', CaaRecord(128, "tbs", "x")),
    ("0 issue \";\"", CaaRecord(0, "issue", ";")),
    ("garbage", None),
])
def test_parse_caa(text, expected):
    assert parse_caa(text) == expected


def test_issuer_domain_comparison_ignores_case_and_trailing_dot():
    lookup = CaaLookup("h.example", owner="example", records=[CaaRecord(0, "issue", "DigiCert.COM. ; x=y")])
    assert judge_caa(lookup).level is Level.OK
