"""The benchmark's pure parts: the HAProxy peer's configuration and the figures.

The peer must stay equivalent to the shipped nginx configuration (same allowlist, same TLS checks,
pooled), or the benchmark's comparison means nothing; one test runs it for real when HAProxy is
installed (Debian `haproxy`, installed by scripts/install-system-deps.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests" / "proxy")]

from bench_figures import (  # noqa: E402
    ADDED_FLOOR_MS, Samples, Spread, compact_table, cpu_ticks, day_lines, markdown_table,
    samples_from_dict, summarise_day,
    samples_to_dict, parse_wrk, summarise, verdicts,
)
from haproxy_peer import PeerRun, render_haproxy_config, url_regex  # noqa: E402
from hostile_corpus import build_corpus  # noqa: E402

from components.proxy_routes import LIVENESS_ROUTES, REFUSED_ROUTE_BODY, route_regex  # noqa: E402
from components.proxy_settings import ProxySettings  # noqa: E402
from tests.required_tools import missing_tool  # noqa: E402

FACE_HOST = "fl-bench-face.cognitiveservices.azure.com"
RUN = PeerRun(listen="127.0.0.1:18080", upstream="127.0.0.1:18443", ca_file="/tmp/ca.pem", threads=2)


def _request_lines() -> list[str]:
    """Request lines of the hostile corpus plus every real route in several spellings."""
    lines = []
    for case in build_corpus():
        first = b"".join(case.pieces).split(b"\r\n", 1)[0].decode("latin-1")
        lines.append(first)
    for route in LIVENESS_ROUTES:
        for version in ("v1.2", "V1.2", "v1.2-preview.1", "v10.0"):
            path = route.replace("{version}", version)
            for target in (path, path.upper(), path + "?a=b&c", path + "?", path + "/"):
                lines.append(f"POST {target} HTTP/1.1")
    return lines


def test_allowlist_is_the_shipped_allowlist_on_every_request_line() -> None:
    nginx = re.compile(route_regex(), re.IGNORECASE)
    peer = re.compile(url_regex(), re.IGNORECASE)
    lines = _request_lines()
    allowed = 0
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or not re.fullmatch(r"[A-Za-z]+", parts[0]):
            assert not nginx.search(line), line
            continue
        method, target, version = parts
        peer_allows = bool(peer.search(target)) and version.upper() in ("HTTP/1.0", "HTTP/1.1")
        assert bool(nginx.search(line)) == peer_allows, line
        allowed += peer_allows
    assert allowed >= 4 * 4 * 3  # every route, version and query spelling that is allowed
    assert len(lines) > 200


def test_config_carries_the_same_limits_and_tls_checks() -> None:
    settings = ProxySettings(face_host=FACE_HOST, max_body_bytes=5_000_000,
                             client_timeout_seconds=45, upstream_timeout_seconds=90)
    cfg = render_haproxy_config(settings, RUN)
    server = next(line for line in cfg.splitlines() if line.strip().startswith("server "))
    for part in ("127.0.0.1:18443 ssl", "verify required", "ca-file /tmp/ca.pem",
                 f"sni str({FACE_HOST})", f"verifyhost {FACE_HOST}"):
        assert part in server
    assert "http-reuse always" in cfg
    assert "option http-buffer-request" not in cfg  # bodies stream, as with nginx
    assert "req.hdr_val(content-length) gt 5000000" in cfg
    assert "timeout client 45s" in cfg and "timeout server 90s" in cfg
    assert "nbthread 2" in cfg and "bind 127.0.0.1:18080" in cfg
    assert f"'{url_regex()}'" in cfg
    assert 'Allow "POST"' in cfg and "method POST\n" in cfg
    assert '"' + REFUSED_ROUTE_BODY.replace("\n", "\\n") + '"' in cfg
    assert "set-header Host" not in cfg  # upstream_host "client": Host unchanged
    assert "from_ingress" not in cfg  # no trusted ranges: the client is the TCP peer
    trusted = render_haproxy_config(ProxySettings(face_host=FACE_HOST,
                                                  trusted_proxy_cidrs=("10.0.0.0/23",)), RUN)
    assert "acl from_ingress src 10.0.0.0/23" in trusted
    assert "track-sc0 req.hdr_ip(x-forwarded-for,-1) if from_ingress\n" in trusted


def test_host_and_methods_follow_the_settings() -> None:
    cfg = render_haproxy_config(ProxySettings(face_host=FACE_HOST, upstream_host="account",
                                              allow_options=True), RUN)
    assert f"http-request set-header Host {FACE_HOST}" in cfg
    assert "method POST OPTIONS" in cfg and 'Allow "POST, OPTIONS"' in cfg
    with pytest.raises(ValueError, match="upstream_host"):
        render_haproxy_config(ProxySettings(face_host=FACE_HOST, upstream_host="other"), RUN)
    with pytest.raises(ValueError, match="threads"):
        render_haproxy_config(ProxySettings(face_host=FACE_HOST),
                              PeerRun("127.0.0.1:1", "127.0.0.1:2", "/tmp/ca.pem", threads=0))


def test_wrk_line_and_proc_stat_parsing() -> None:
    out = ('Running 5s test\nBENCH {"requests":5000,"duration_us":2000000,"p50_us":120,'
           '"p99_us":900,"errors":1,"non2xx":2}\n')
    result = parse_wrk(out)
    assert result["rps"] == 2500 and result["p99_us"] == 900
    with pytest.raises(ValueError):
        parse_wrk("Running 5s test\n")
    with pytest.raises(ValueError):
        parse_wrk('BENCH {"requests":1,"duration_us":0,"p50_us":1,"p99_us":1,"errors":0,"non2xx":0}')
    stat = ("4242 (nginx: worker) (x)) S 4241 4241 4241 0 -1 4194624 900 0 0 0 "
            "1234 567 0 0 20 0 1 0 100 200000 300 18446744073709551615")
    assert cpu_ticks(stat) == 1234 + 567


def _samples(rps: float, p99_1: float, cpu: float | None) -> Samples:
    s = Samples()
    for offset in (0.0, 0.1, -0.1):
        s.rps.append(rps * (1 + offset))
        s.p50_1.append(p99_1 / 2)
        s.p99_1.append(p99_1 + offset)
        s.p50_200.append(1.0)
        s.p99_200.append(2.0)
        if cpu is not None:
            s.cpu_us_per_req.append(cpu * (1 + offset))
        s.new_conns_per_1000.append(0.5)
    return s


def test_summary_verdicts_and_table() -> None:
    samples = {"direct": _samples(10_000, 0.1, None), "shipped": _samples(9_000, 0.6, 44.0),
               "haproxy": _samples(9_000, 0.5, 40.0)}
    summary = summarise(samples)

    def spread(figure: str) -> Spread:
        value = summary["shipped"][figure]
        assert isinstance(value, Spread), (figure, value)
        return value

    assert spread("p99_1_added").median == pytest.approx(0.5)
    assert spread("pct_of_direct").median == pytest.approx(0.9)
    cpu = summary["shipped"]["cpu_us_per_req"]
    assert isinstance(cpu, Spread) and cpu.n == 3
    assert (cpu.median, cpu.low, cpu.high) == pytest.approx((44.0, 39.6, 48.4))
    found = {(v.name, v.mode): v for v in verdicts({"pinned": summary})}
    assert found[("CPU µs per request", "pinned")].met  # 1.1x exactly
    assert found[("throughput at load", "pinned")].met
    assert found[("non-2xx and socket errors (shipped)", "pinned")].met
    assert found[("p99 added at 1 connection (best round)", "pinned")].ratio == pytest.approx(0.5 / 0.4)
    # One round hit by other work on the machine does not decide the latency verdict.
    hit = _samples(9_000, 0.6, 44.0)
    hit.p99_1[1] = 60.0
    p99 = next(v for v in verdicts({"pinned": summarise(dict(samples, shipped=hit))})
               if v.name.startswith("p99"))
    assert p99.met and p99.ratio == pytest.approx(0.5 / 0.4)
    slow = dict(samples, shipped=_samples(8_000, 2.0, 50.0))
    missed = verdicts({"pinned": summarise(slow)})
    assert not any(v.met for v in missed if not v.count)
    failing = dict(samples, shipped=_samples(9_000, 0.6, 44.0))
    failing["shipped"].errors = 3
    errors = next(v for v in verdicts({"pinned": summarise(failing)}) if v.count)
    assert not errors.met and errors.show().startswith("3 (target ≤ 0) MISSED")
    table = markdown_table(summary)
    assert table.count("\n") == 4 and "| HAProxy 2.6 peer |" in table and "44.0 (39.6–48.4)" in table
    assert spread("cpu_share").median == pytest.approx(44e-6 * 9_000)  # 40 % of a CPU
    assert "| 40 (" in table
    short = compact_table({"pinned": summary})
    assert "| pinned | HAProxy 2.6 peer | 9,000 (90%) | +0.400 | 40.0 | 0.5 |" in short  # best rounds: 0.4 - 0.0 in short
    # Added latency at or below zero is floored, so a ratio stays meaningful.
    tiny = dict(samples, haproxy=_samples(9_000, 0.05, 40.0), shipped=_samples(9_000, 0.09, 40.0))
    p99 = next(v for v in verdicts({"shared": summarise(tiny)}) if v.name.startswith("p99"))
    assert p99.ratio == pytest.approx(ADDED_FLOOR_MS / ADDED_FLOOR_MS) and p99.met


def _haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK)
                                       else None)
    if not found:
        missing_tool("haproxy not installed (bash scripts/install-system-deps.sh)")
    return found


def test_peer_behaves_like_the_proxy_on_a_real_haproxy(tmp_path: Path) -> None:
    """Allowed POST reaches the stand-in with SNI; refused shapes get the proxy's answers and
    reach nothing; connections to the upstream are reused."""
    binary = _haproxy()
    from proxykit.harness import free_port
    from proxykit.pki import TestCA
    from proxykit.rawhttp import build_request, exchange
    from proxykit.standin import FaceStandin

    ca = TestCA(tmp_path, "peer")
    cert = ca.issue("face", [FACE_HOST])
    port = free_port()
    with FaceStandin("127.0.0.1", 0, str(cert.cert), str(cert.key)) as standin:
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(render_haproxy_config(
            ProxySettings(face_host=FACE_HOST, max_body_bytes=4096),
            PeerRun(f"127.0.0.1:{port}", standin.address, str(ca.cert_path), 1, log="stderr")))
        check = subprocess.run([binary, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    exchange("127.0.0.1", port, b"", expect=0, timeout=0.2)
                    break
                except OSError:
                    time.sleep(0.05)
            route = LIVENESS_ROUTES[2].replace("{version}", "v1.2")
            ok = build_request("POST", route, [("Content-Type", "application/json")], b'{"a":1}')
            answer = exchange("127.0.0.1", port, [ok, ok, ok], expect=3)
            assert [r.status for r in answer.responses] == [200, 200, 200]
            assert len(standin.records) == 3 and standin.tls_connections == 1
            assert standin.records[0].sni == FACE_HOST
            assert standin.records[0].body == b'{"a":1}'
            refused = {
                "/face/v1.2/detect": 404, route + "/": 404, route.replace("v1.2", "v1.2.3"): 404,
                "/face/v1.2/detectLiveness/singleModal/../../detect": 404,
            }
            for target, status in refused.items():
                got = exchange("127.0.0.1", port, build_request("POST", target, [], b"x"))
                assert got.status == status, target
                assert got.responses[0].body == REFUSED_ROUTE_BODY.encode()
            assert exchange("127.0.0.1", port, build_request("GET", route, [])).status == 405
            assert exchange("127.0.0.1", port, build_request("POST", route, [], b"x" * 5000)).status == 413
            chunked = (f"POST {route} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "1\r\nx\r\n0\r\n\r\n").encode()
            assert exchange("127.0.0.1", port, chunked).status == 411
            assert len(standin.records) == 3
        finally:
            proc.terminate()
            proc.wait(10)


def test_p99_verdict_says_when_it_is_within_the_noise() -> None:
    quiet = {"direct": _samples(10_000, 0.1, None), "shipped": _samples(9_000, 0.6, 44.0),
             "haproxy": _samples(9_000, 0.5, 40.0)}
    # _samples spreads p99 by ±0.1 ms: 0.2 ms of noise against HAProxy's 0.4 ms added.
    p99 = next(v for v in verdicts({"pinned": summarise(quiet)}) if v.name.startswith("p99"))
    assert p99.note == ""
    noisy = dict(quiet, haproxy=_samples(9_000, 0.15, 40.0))
    p99 = next(v for v in verdicts({"pinned": summarise(noisy)}) if v.name.startswith("p99"))
    assert p99.note.startswith("noisy: direct's p99 varied 0.200 ms")
    assert "noisy" in p99.show()


def test_saved_samples_round_trip() -> None:
    samples = {"direct": _samples(10_000, 0.1, None), "shipped": _samples(9_000, 0.6, 44.0),
               "haproxy": _samples(9_000, 0.5, 40.0)}
    samples["shipped"].errors = 3
    import json
    again = samples_from_dict(json.loads(json.dumps(samples_to_dict(samples))))
    assert again == samples
    with pytest.raises(ValueError, match="haproxy"):
        samples_from_dict({"direct": {}, "shipped": {}})


def _day_round(peak: float, completed: int, bad: int, ok: int) -> dict:
    flood = {"uploads": 100, "body_mb": 7.9, "rss_start_mb": 14.0, "peak_rss_mb": peak,
             "statuses": {"200": 60, "429": 40}}
    return {"flood_100": {"shipped": flood, "haproxy": dict(flood, peak_rss_mb=16.0)},
            "drain": {"shipped": {"in_flight": 20, "completed": completed, "cut": 20 - completed,
                                  "statuses": {"200": completed, "0": 20 - completed},
                                  "health_after_stop": "refused", "exit_seconds": 0.2}},
            "stale": {"shipped": {"requests": 10, "502": bad, "ok": 10 - bad,
                                  "statuses": {"200": 10 - bad, "502": bad}}},
            "connflood": {"haproxy": {"flood": 4200, "probes": 20, "ok": ok, "answered": ok,
                                      "statuses": {"200": ok}}}}


def test_day_summary_judges_each_figure_and_flags_counts_that_vary() -> None:
    rows = summarise_day([_day_round(800.0, 0, 5, 20), _day_round(820.0, 0, 4, 20)], 1024.0)
    by = {(r["figure"].split(",")[0].split(" (")[0], r["target"]): r for r in rows}
    rss = by[("peak RSS", "shipped")]
    assert rss["value"] == "810 (800–820)" and rss["goal"] == "≤ 512 (half the replica)"
    assert rss["met"] is False and "200×120, 429×80" in rss["detail"]
    assert by[("peak RSS", "haproxy")]["met"] is True
    drain_row = next(r for r in rows if r["figure"].startswith("uploads answered"))
    assert drain_row["met"] is False and "no answer×40" in drain_row["detail"]
    stale = next(r for r in rows if r["figure"].startswith("502s"))
    assert stale["value"] == "4 (4–5)" and stale["met"] is None  # shown: a retry is not safe there
    assert stale["note"].startswith("rounds differ")  # a count the machine's timing sets
    flood = next(r for r in rows if r["figure"].startswith("another client"))
    assert flood["met"] is True and flood["note"] == ""
    good = summarise_day([_day_round(200.0, 20, 0, 20)], 1024.0)
    assert all(r["met"] for r in good if r["met"] is not None)
    fin = dict(_day_round(200.0, 20, 0, 20), stale_fin={"shipped": {
        "requests": 10, "502": 1, "ok": 9, "statuses": {"200": 9, "502": 1}}})
    judged = [r for r in summarise_day([fin], 1024.0) if "right after answering" in r["figure"]]
    assert [r["met"] for r in judged] == [False]
    lines = day_lines(rows, markdown=True)
    assert lines[0].startswith("| production-day figure") and len(lines) == 2 + len(rows)
    assert any("**MISSED**" in line for line in lines)


def test_the_drain_runs_the_declared_command_with_only_the_mount_moved(tmp_path) -> None:
    from bench_day import materialise

    container = {"command": ["/bin/sh", "-c"],
                 "args": ["exec nginx -c /etc/nginx-liveness/nginx.conf -g 'daemon off;'"],
                 "volumeMounts": [{"volumeName": "nginx-config", "mountPath": "/etc/nginx-liveness"}]}
    argv = materialise(container, {"nginx.conf": "events {}\n", "drain.sh": "#!/bin/sh\n"},
                       tmp_path / "mount")
    assert argv == ["/bin/sh", "-c",
                    f"exec nginx -c {tmp_path}/mount/nginx.conf -g 'daemon off;'"]
    assert (tmp_path / "mount" / "nginx.conf").read_text() == "events {}\n"
    assert os.access(tmp_path / "mount" / "drain.sh", os.X_OK)
