"""Pure: `dns check` findings as text for people and as JSON for scripts (the same facts)."""

from __future__ import annotations

import json
from typing import Any

from infra.dns.model import EXIT_MISMATCH, EXIT_OK, Level, State
from infra.dns.verdicts import agreement, Report

VERDICT_WORDS = {EXIT_OK: "live", EXIT_MISMATCH: "mismatch"}


def verdict_word(code: int) -> str:
    return VERDICT_WORDS.get(code, "unreachable")


def headline(report: Report) -> str:
    agree, asked = agreement(report.verdicts)
    code = report.exit_code
    if report.window_closed:
        return (f"verdict: WINDOW CLOSED — {agree}/{asked} servers serve the code, but Microsoft's 48-hour "
                f"window for it is over: ask support for a new code (exit 1)")
    if code == EXIT_OK:
        return f"verdict: LIVE — all {asked} servers serve the code at {report.record} (exit 0)"
    if code == EXIT_MISMATCH:
        return (f"verdict: NOT LIVE — {agree}/{asked} servers serve the code; the others serve something "
                f"else or nothing (exit 1)")
    if not report.verdicts:
        return "verdict: UNKNOWN — no server could be found to ask (exit 3)"
    return (f"verdict: UNKNOWN — {agree}/{asked} servers serve the code; the rest could not be reached "
            f"(exit 3)")


def render_text(report: Report, notes: list[str] | None = None) -> str:
    lines = [f"{report.record} TXT — expecting the code {report.code_redacted}"]
    if report.zone is not None:
        lines.append(f"zone: {report.zone or '.'}")
    for note in notes or ():
        lines.append(f"  note: {note}")
    lines.append("servers:")
    if not report.verdicts:
        lines.append("  (none could be asked)")
    width = max((len(v.server.label) for v in report.verdicts), default=0)
    for v in report.verdicts:
        state = "ok" if v.state is State.OK else v.state.value.upper()
        lines.append(f"  {state:<11} {v.server.label:<{width}}  [{v.server.role.value}, {v.transport}] {v.summary}")
        for note in v.notes:
            lines.append(f"  {'':<11} {'':<{width}}  - {note}")
    if report.findings:
        lines.append("checks:")
        for f in report.findings:
            level = "ok" if f.level is Level.OK else f.level.value.upper()
            lines.append(f"  {level:<8} {f.check}: {f.message}")
    lines.append(headline(report))
    return "\n".join(lines)


def to_data(report: Report, notes: list[str] | None = None) -> dict[str, Any]:
    agree, asked = agreement(report.verdicts)
    return {
        "host": report.host,
        "record": report.record,
        "code": report.code_redacted,
        "zone": report.zone,
        "exit_code": report.exit_code,
        "verdict": "window-closed" if report.window_closed else verdict_word(report.exit_code),
        "agree": agree,
        "asked": asked,
        "servers": [
            {
                "server": v.server.endpoint,
                "address": v.server.address,
                "port": v.server.port,
                "name": v.server.name,
                "role": v.server.role.value,
                "state": v.state.value,
                "summary": v.summary,
                "notes": list(v.notes),
                "transport": v.transport,
                "elapsed_ms": round(v.elapsed_ms, 1),
            }
            for v in report.verdicts
        ],
        "findings": [{"check": f.check, "level": f.level.value, "message": f.message} for f in report.findings],
        "notes": list(notes or ()),
    }


def render_json(report: Report, notes: list[str] | None = None, **extra: Any) -> str:
    data = to_data(report, notes)
    data.update(extra)
    return json.dumps(data, indent=2, sort_keys=False)


def progress_line(report: Report, elapsed: float, left: float) -> str:
    """One line per `dns wait` round: who agrees, who does not, and the time left."""
    agree, asked = agreement(report.verdicts)
    waiting = [f"{v.server.label}: {v.summary.split(':')[0]}" for v in report.verdicts if v.state is not State.OK]
    text = f"[{_clock(elapsed)}] {agree}/{asked} servers serve the code"
    if waiting:
        text += "; waiting on " + "; ".join(waiting)
    elif not report.verdicts:
        text += "; no server found yet"
    return text + f" — {_clock(max(left, 0.0))} left"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
