"""Secrets stay secrets: the verification code is exported, and the workspace key reaches the
environment, only as Pulumi secrets (recorded redacted). The verification TXT record's own value is
checked with the record (infra/plan/invariants/dns.py).
"""

from __future__ import annotations

from typing import Iterable

from infra.plan.invariants.inputs import T_ENV, finding, get
from infra.plan.model import SECRET, Evaluation, Finding

INVARIANT = "secrets"


def check_outputs(ev: Evaluation) -> Iterable[Finding]:
    code = ev.outputs.get("verificationCode")
    if code is not None and code != SECRET:
        yield finding(INVARIANT, "the verification code must only be exported as a secret")


def check_workspace_key(ev: Evaluation) -> Iterable[Finding]:
    for env in ev.by_type(T_ENV):
        logs = env.inputs.get("appLogsConfiguration")
        if logs != SECRET and get(logs, "logAnalyticsConfiguration", "sharedKey") not in (None, SECRET):
            yield finding(INVARIANT, "the workspace shared key must only reach the environment as a secret", env.name)
