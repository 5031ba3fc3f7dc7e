"""`liveness-infra dns wait`: polls real Knot DNS servers until they agree or time runs out."""

from __future__ import annotations

import json
import threading
import time

import pytest

pytestmark = pytest.mark.dns


def test_wait_succeeds_once_the_record_is_published(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    world.set_pending("")  # no azaiverify record yet
    result = {}

    def waiter():
        result["r"] = cli("dns", "wait", "--host", "liveness.pending.test", *world.discovery(),
                          "--interval", "0.2", "--timeout", "20")

    thread = threading.Thread(target=waiter)
    started = time.monotonic()
    thread.start()
    try:
        time.sleep(1.0)  # a few failing rounds first
        world.set_pending(f'azaiverify.liveness TXT "{world.code}"')
    finally:
        thread.join(timeout=30)
    assert not thread.is_alive()
    r = result["r"]
    assert r.code == 0, r.out
    assert "0/1 servers serve the code; waiting on ns1.pending.test" in r.out
    assert "1/1 servers serve the code" in r.out
    assert "left" in r.out and "tell Microsoft support" in r.out
    assert time.monotonic() - started < 15
    assert world.code not in r.out + r.err
    world.set_pending("")


def test_wait_gives_up_at_the_timeout_with_the_last_verdict(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    started = time.monotonic()
    r = cli("dns", "wait", "--host", "missing.contoso.test", *world.discovery(), "--json",
            "--interval", "0.3", "--timeout", "1")
    elapsed = time.monotonic() - started
    assert r.code == 1
    data = json.loads(r.out)
    assert data["timed_out"] is True and data["rounds"] >= 2
    assert data["verdict"] == "mismatch"
    progress = [line for line in r.err.splitlines() if "servers serve the code" in line]
    assert len(progress) == data["rounds"]  # progress goes to stderr with --json
    assert elapsed < 6, f"--timeout 1 took {elapsed:.1f}s"


def test_wait_warns_when_the_window_is_nearly_closed(world, cli, monkeypatch):
    from datetime import datetime, timedelta, timezone

    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    issued = (datetime.now(timezone.utc) - timedelta(hours=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = cli("dns", "wait", "--host", "ok.contoso.test", *world.discovery(), "--issued-at", issued,
            "--interval", "0.2", "--timeout", "5")
    assert r.code == 0
    assert r.out.startswith("warning: 48-hour window: only 2h")  # said before the first round
    assert "WARNING  48-hour window: only 2h" in r.out  # and in the final report
