"""The Face account leaves an audit trail: one diagnostic setting sends its audit and request logs
and all metrics to the stack's Log Analytics workspace, kept as long as `logRetentionDays` says.
"""

from __future__ import annotations

from typing import Iterable

from components.shared_interfaces import ALL_METRICS, FACE_LOG_CATEGORIES
from infra.plan.invariants.inputs import T_ACCOUNT, T_DIAGNOSTIC, T_WORKSPACE, finding
from infra.plan.model import Evaluation, Finding


def check_diagnostics(ev: Evaluation) -> Iterable[Finding]:
    inv = "diagnostics"
    accounts = ev.by_type(T_ACCOUNT)
    workspaces = ev.by_type(T_WORKSPACE)
    if len(accounts) != 1 or len(workspaces) != 1:
        return
    account, workspace = accounts[0], workspaces[0]
    retention = workspace.inputs.get("retentionInDays")
    wanted = ev.settings.operations.log_retention_days
    if retention != wanted:
        yield finding(inv, f"workspace retention is {retention}, logRetentionDays says {wanted}", workspace.name)
    settings = [d for d in ev.by_type(T_DIAGNOSTIC)
                if str(d.inputs.get("resourceUri", "")).endswith(f"/accounts/{account.inputs.get('accountName')}")]
    if len(settings) != 1:
        yield finding(inv, f"the Face account needs one diagnostic setting, found {len(settings)}", account.name)
        return
    setting = settings[0]
    if not str(setting.inputs.get("workspaceId", "")).endswith(f"/workspaces/{workspace.inputs.get('workspaceName')}"):
        yield finding(inv, "the account's diagnostic setting must send to the stack's Log Analytics workspace", setting.name)
    logs = {entry.get("category") for entry in setting.inputs.get("logs") or [] if entry.get("enabled") is True}
    for category in FACE_LOG_CATEGORIES:
        if category not in logs:
            yield finding(inv, f"the account's diagnostic setting must enable the {category} log", setting.name)
    metrics = {entry.get("category") for entry in setting.inputs.get("metrics") or [] if entry.get("enabled") is True}
    if ALL_METRICS not in metrics:
        yield finding(inv, f"the account's diagnostic setting must enable {ALL_METRICS}", setting.name)
