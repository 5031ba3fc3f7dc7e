"""Every security invariant (docs/invariants.md), run on an offline evaluation.

Pure: the checks read the recorded resource inputs (what the provider would receive). Each failed
invariant is a Finding; an empty list means every invariant holds. `liveness-infra plan` prints
these, and the unit tests assert there are none for every stack. Each module of this package holds
the checks of one thing they protect; this one only lists them.
"""

from __future__ import annotations

from components import proxy_settings
from infra.plan.invariants import app_server, audit, deletion, dns, face_isolation, forwarding, ingress, network, secrets
from infra.plan.invariants.inputs import Check, finding
from infra.plan.model import Evaluation, Finding

# The order findings are reported in (plan output and its JSON keep it).
CHECKS: tuple[Check, ...] = (
    face_isolation.check_account,
    face_isolation.check_private_endpoint,
    ingress.check_environment,
    forwarding.check_proxy_config,
    dns.check_public_dns,
    secrets.check_outputs,
    network.check_network,
    audit.check_diagnostics,
    ingress.check_environment_hardening,
    secrets.check_workspace_key,
    deletion.check_locks,
    deletion.check_lock_dependencies,
    app_server.check_role_assignments,
    app_server.check_app_server_path,
    deletion.check_certificate_teardown,
    face_isolation.check_private_endpoint_ips,
    forwarding.check_proxy_upstream,
    forwarding.check_proxy_host_header,
    forwarding.check_trusted_proxy_ranges,
    face_isolation.check_hub_zone_links,
)


def check_invariants(ev: Evaluation) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(ev))
        except proxy_settings.ProxyConfigError as exc:
            # Settings the renderer refuses (e.g. a mutated plan) are a broken invariant, not a crash.
            findings.append(finding("proxy-config", f"the proxy configuration cannot be rendered: {exc}"))
    return findings
