"""Pure: `liveness-infra smoke` verdicts as text (one line per check, the fix under a failure) or JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Sequence

from infra.smoke.model import Outcome, Verdict
from infra.smoke.run import SmokeTarget

_MARK = {Outcome.PASS: "PASS", Outcome.WARN: "WARN", Outcome.FAIL: "FAIL", Outcome.UNREACHABLE: "UNREACH",
         Outcome.SKIP: "skip"}


def _where(target: SmokeTarget) -> str:
    e = target.endpoint
    via = f" via {e.address}:{e.port}" if e.address else ""
    return f"{target.url or 'https://' + e.host}{via}"


def result_line(verdicts: Sequence[Verdict], code: int) -> str:
    counts = Counter(v.outcome for v in verdicts)
    parts = [f"{counts[o]} {o.value}" for o in (Outcome.FAIL, Outcome.UNREACHABLE, Outcome.WARN, Outcome.PASS,
                                                 Outcome.SKIP) if counts[o]]
    classes = sorted({v.failure_class.value for v in verdicts
                      if v.outcome in (Outcome.FAIL, Outcome.UNREACHABLE) and v.failure_class})
    tail = f" (troubleshooting: {', '.join(classes)})" if classes else ""
    return f"result: {', '.join(parts) or 'no checks'}{tail}; exit {code}"


def render_text(target: SmokeTarget, verdicts: Sequence[Verdict], code: int) -> str:
    width = max((len(v.check) for v in verdicts), default=10)
    lines = [f"smoke test of {_where(target)}"]
    for v in verdicts:
        lines.append(f"  {_MARK[v.outcome]:<7} {v.check:<{width}}  {v.summary}")
        if v.fix and v.outcome in (Outcome.FAIL, Outcome.UNREACHABLE, Outcome.WARN):
            lines.append(f"  {'':<7} {'':<{width}}  fix: {v.fix}")
    lines.append(result_line(verdicts, code))
    return "\n".join(lines) + "\n"


def render_json(target: SmokeTarget, verdicts: Sequence[Verdict], code: int) -> str:
    e = target.endpoint
    document = {
        "host": e.host,
        "url": target.url or f"https://{e.host}",
        "connectedTo": f"{e.connect_host}:{e.port}",
        "apiVersion": target.api_version,
        "exitCode": code,
        "result": result_line(verdicts, code),
        "checks": [v.as_json() for v in verdicts],
    }
    return json.dumps(document, indent=2, default=str) + "\n"
