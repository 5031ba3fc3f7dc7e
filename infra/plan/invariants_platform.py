"""Platform invariants (issue 10): NSG rules, the account's diagnostic setting, locks on prod,
app-server role assignments, the environment's hardening and the certificate's delete order.

Pure, like infra/plan/invariants.py (which runs these after its own): each check reads the recorded
provider inputs and resource options of an offline evaluation and yields Findings.
"""

from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

from components import nsg_rules
from components.dns_records import VERIFICATION_LABEL
from infra.component_args import infrastructure_resource_group
from components.shared_interfaces import ALL_METRICS, FACE_LOG_CATEGORIES, FACE_RECOGNIZER_ROLE_ID, LOCK_LEVEL, ZONE_LOCK_PATH
from infra.plan import delete_order, locks as lock_rules
from infra.plan.invariant_helpers import T_ACCOUNT, T_ENDPOINT, T_ENV, T_RECORD, T_SUBNET, T_ZONE, _finding, _get
from infra.plan.model import Evaluation, Finding, PlannedResource

T_NSG = "azure-native:network:NetworkSecurityGroup"
T_WORKSPACE = "azure-native:operationalinsights:Workspace"
T_DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
T_LOCK = "azure-native:authorization:ManagementLockByScope"
T_ROLE = "azure-native:authorization:RoleAssignment"
SECRET = "[secret]"


def _sources(rule: dict) -> list[str]:
    return list(rule.get("sourceAddressPrefixes") or []) or ([rule["sourceAddressPrefix"]] if rule.get("sourceAddressPrefix") else [])


def _ports(rule: dict) -> list[str]:
    return list(rule.get("destinationPortRanges") or []) or ([rule["destinationPortRange"]] if rule.get("destinationPortRange") else [])


def _nsg_of(ev: "Evaluation", subnet: "PlannedResource") -> "PlannedResource | None":
    nsg_id = str(_get(subnet.inputs, "networkSecurityGroup", "id") or "")
    for nsg in ev.by_type(T_NSG):
        if nsg_id.endswith(f"/networkSecurityGroups/{nsg.inputs.get('networkSecurityGroupName')}"):
            return nsg
    return None


def _subnet(ev: "Evaluation", prefix: str) -> "PlannedResource | None":
    for subnet in ev.by_type(T_SUBNET):
        if subnet.inputs.get("addressPrefix") == prefix:
            return subnet
    return None


def _allows(rules: list[dict], source: str, ports: set[str]) -> bool:
    """Some TCP allow rule admits `source` on every port of `ports`."""
    covered: set[str] = set()
    for rule in rules:
        if rule.get("access") == "Allow" and rule.get("direction") == "Inbound" and rule.get("protocol") in ("Tcp", "*") \
                and source in _sources(rule):
            covered.update(_ports(rule))
    return ports <= covered or "*" in covered


def check_network(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "network-nsg"
    net = ev.settings.network
    for nsg in ev.by_type(T_NSG):
        seen: dict[tuple[str, int], str] = {}
        for rule in nsg.inputs.get("securityRules") or []:
            priority = rule.get("priority")
            if not isinstance(priority, int) or not nsg_rules.MIN_PRIORITY <= priority <= nsg_rules.MAX_PRIORITY:
                yield _finding(inv, f"rule {rule.get('name')} has priority {priority}, outside Azure's "
                                    f"{nsg_rules.MIN_PRIORITY}-{nsg_rules.MAX_PRIORITY}", nsg.name)
            key = (str(rule.get("direction")), priority)
            if key in seen:
                yield _finding(inv, f"rules {seen[key]} and {rule.get('name')} share priority {priority}", nsg.name)
            seen[key] = str(rule.get("name"))

    apps = _subnet(ev, net.apps_subnet_prefix)
    apps_nsg = _nsg_of(ev, apps) if apps else None
    if apps_nsg is None:
        yield _finding(inv, "the apps subnet must have its network security group")
    else:
        rules = apps_nsg.inputs.get("securityRules") or []
        for source, ports in (("Internet", {"80", nsg_rules.EDGE_HTTP_PORT}), ("Internet", {"443", nsg_rules.EDGE_HTTPS_PORT}),
                              ("AzureLoadBalancer", {nsg_rules.LB_PROBE_PORTS})):
            if not _allows(rules, source, ports):
                yield _finding(inv, f"the apps NSG must allow TCP {', '.join(sorted(ports))} from {source} "
                                    "(Container Apps workload-profiles inbound rules)", apps_nsg.name)
        if any(r.get("access") == "Deny" for r in rules):
            yield _finding(inv, "the apps NSG must not add deny rules (Microsoft: they can break the environment)", apps_nsg.name)

    endpoints = _subnet(ev, net.endpoints_subnet_prefix)
    pe_nsg = _nsg_of(ev, endpoints) if endpoints else None
    if endpoints is None or pe_nsg is None:
        yield _finding(inv, "the endpoints subnet must have its network security group")
        return
    if endpoints.inputs.get("privateEndpointNetworkPolicies") != "Enabled":
        yield _finding(inv, "privateEndpointNetworkPolicies must be Enabled, or the NSG does not apply to the endpoint", endpoints.name)
    allowed = {ipaddress.ip_network(c) for c in (net.apps_subnet_prefix, *net.endpoint_client_cidrs)}
    rules = pe_nsg.inputs.get("securityRules") or []
    allow_rules = [r for r in rules if r.get("access") == "Allow" and r.get("direction") == "Inbound"]
    for rule in allow_rules:
        for source in _sources(rule):
            try:
                ok = ipaddress.ip_network(source) in allowed
            except ValueError:
                ok = False
            if not ok:
                yield _finding(inv, f"the endpoints NSG admits {source!r}; only the apps subnet and "
                                    "faceAllowedClientCidrs may reach the private endpoint", pe_nsg.name)
        if _ports(rule) != ["443"]:
            yield _finding(inv, f"the endpoints NSG rule {rule.get('name')} must open only port 443", pe_nsg.name)
    deny_all = [r for r in rules if r.get("access") == "Deny" and r.get("direction") == "Inbound"
                and _sources(r) == ["*"] and _ports(r) == ["*"] and r.get("protocol") == "*"]
    last_allow = max((r.get("priority") or 0 for r in allow_rules), default=0)
    if not deny_all or min(r.get("priority") or 0 for r in deny_all) <= last_allow:
        yield _finding(inv, "the endpoints NSG must end in a deny-all inbound rule after its allow rules "
                            "(Azure's defaults admit the whole VNet)", pe_nsg.name)


def check_diagnostics(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "diagnostics"
    accounts = ev.by_type(T_ACCOUNT)
    workspaces = ev.by_type(T_WORKSPACE)
    if len(accounts) != 1 or len(workspaces) != 1:
        return
    account, workspace = accounts[0], workspaces[0]
    retention = workspace.inputs.get("retentionInDays")
    if retention != ev.settings.operations.log_retention_days:
        yield _finding(inv, f"workspace retention is {retention}, logRetentionDays says {ev.settings.operations.log_retention_days}", workspace.name)
    settings = [d for d in ev.by_type(T_DIAGNOSTIC)
                if str(d.inputs.get("resourceUri", "")).endswith(f"/accounts/{account.inputs.get('accountName')}")]
    if len(settings) != 1:
        yield _finding(inv, f"the Face account needs one diagnostic setting, found {len(settings)}", account.name)
        return
    setting = settings[0]
    if not str(setting.inputs.get("workspaceId", "")).endswith(f"/workspaces/{workspace.inputs.get('workspaceName')}"):
        yield _finding(inv, "the account's diagnostic setting must send to the stack's Log Analytics workspace", setting.name)
    logs = {entry.get("category") for entry in setting.inputs.get("logs") or [] if entry.get("enabled") is True}
    for category in FACE_LOG_CATEGORIES:
        if category not in logs:
            yield _finding(inv, f"the account's diagnostic setting must enable the {category} log", setting.name)
    metrics = {entry.get("category") for entry in setting.inputs.get("metrics") or [] if entry.get("enabled") is True}
    if ALL_METRICS not in metrics:
        yield _finding(inv, f"the account's diagnostic setting must enable {ALL_METRICS}", setting.name)


def check_environment_hardening(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "environment-hardening"
    for env in ev.by_type(T_ENV):
        if _get(env.inputs, "peerTrafficConfiguration", "encryption", "enabled") is not True:
            yield _finding(inv, "peer traffic encryption must be on (ingress to proxy encrypted inside the environment)", env.name)
        external = _get(env.inputs, "vnetConfiguration", "internal") is False
        if env.inputs.get("publicNetworkAccess") != ("Enabled" if external else "Disabled"):
            yield _finding(inv, f"publicNetworkAccess must be stated ({'Enabled' if external else 'Disabled'} for this "
                                f"environment), found {env.inputs.get('publicNetworkAccess')!r}", env.name)
        if env.inputs.get("infrastructureResourceGroup") != infrastructure_resource_group(ev.settings.name_prefix):
            yield _finding(inv, f"infrastructureResourceGroup must be {infrastructure_resource_group(ev.settings.name_prefix)}", env.name)
        logs = env.inputs.get("appLogsConfiguration")
        if logs != SECRET and _get(logs, "logAnalyticsConfiguration", "sharedKey") not in (None, SECRET):
            yield _finding("secrets", "the workspace shared key must only reach the environment as a secret", env.name)


def _lock_targets(ev: "Evaluation") -> dict[str, str]:
    """What prod must lock: label → ARM id suffix of the target."""
    targets: dict[str, str] = {}
    for account in ev.by_type(T_ACCOUNT):
        targets["the Face account"] = f"/accounts/{account.inputs.get('accountName')}"
    for pe in ev.by_type(T_ENDPOINT):
        targets["the private endpoint"] = f"/privateEndpoints/{pe.inputs.get('privateEndpointName')}"
    for zone in ev.by_type(T_ZONE):
        targets["the public zone"] = f"/dnszones/{zone.inputs.get('zoneName')}/{ZONE_LOCK_PATH}"
    for record in ev.by_type(T_RECORD):
        rel = str(record.inputs.get("relativeRecordSetName", ""))
        if record.inputs.get("recordType") == "TXT" and (rel == VERIFICATION_LABEL or rel.startswith(VERIFICATION_LABEL + ".")):
            targets["the verification record"] = f"/dnszones/{record.inputs.get('zoneName')}/TXT/{rel}"
    return targets


def check_locks(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "management-locks"
    locks = ev.by_type(T_LOCK)
    if not ev.settings.prod_like:
        for lock in locks:
            yield _finding(inv, f"a {ev.settings.lifecycle} stack must carry no management lock (teardown would meet it)", lock.name)
        return
    if not ev.settings.operations.management_locks:
        return  # lifted explicitly with managementLocks: false
    scopes = [str(lock.inputs.get("scope", "")) for lock in locks if lock.inputs.get("level") == LOCK_LEVEL]
    for label, suffix in _lock_targets(ev).items():
        if not any(scope.endswith(suffix) for scope in scopes):
            yield _finding(inv, f"{label} needs a {LOCK_LEVEL} lock in a prod lifecycle stack")


def check_lock_dependencies(ev: "Evaluation") -> Iterable["Finding"]:
    """Each lock depends on all it blocks, so Pulumi (dependents first) deletes it before them."""
    for lock, blocked in lock_rules.lock_dependency_problems(ev.resources):
        yield _finding(lock_rules.LOCK_DEPENDENCIES, (
            f"{lock} blocks the delete of {blocked} but does not depend on it: Pulumi may delete {blocked} "
            "while the lock holds, and Azure refuses"), lock)


def check_role_assignments(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "app-server-access"
    configured = set(ev.settings.operations.app_server_principal_ids)
    account_suffix = f"/accounts/{ev.settings.face.account_name}"
    assigned = set()
    for role in ev.by_type(T_ROLE):
        if not str(role.inputs.get("scope", "")).endswith(account_suffix):
            yield _finding(inv, "app-server roles must be scoped to the Face account only", role.name)
        if not str(role.inputs.get("roleDefinitionId", "")).endswith(f"/roleDefinitions/{FACE_RECOGNIZER_ROLE_ID}"):
            yield _finding(inv, "app servers get Cognitive Services Face Recognizer, nothing broader", role.name)
        assigned.add(str(role.inputs.get("principalId", "")).lower())
    if assigned != configured:
        yield _finding(inv, f"role assignments for {sorted(assigned)} differ from faceAppServerPrincipalIds {sorted(configured)}")


def check_app_server_path(ev: "Evaluation") -> Iterable["Finding"]:
    """A prod-like stack with neither a network path nor a role for the app server outside the apps
    subnet: the endpoint NSG admits only the apps subnet and no identity may create sessions."""
    s = ev.settings
    if not s.prod_like or s.network.endpoint_client_cidrs or s.operations.app_server_principal_ids:
        return
    yield _finding("app-server-path", (
        "neither faceAllowedClientCidrs nor faceAppServerPrincipalIds is set: the private endpoint admits only "
        "the proxy's subnet and no identity holds Face Recognizer on the account, so your app server cannot "
        "create liveness sessions; set faceAllowedClientCidrs to its subnet and faceAppServerPrincipalIds to "
        "its managed identity's object id"), severity="warning")


def check_certificate_teardown(ev: "Evaluation") -> Iterable["Finding"]:
    for cert, message in delete_order.certificate_teardown_problems(ev.resources):
        yield _finding("teardown-order", message, cert)


PLATFORM_CHECKS: tuple[Callable[["Evaluation"], Iterable["Finding"]], ...] = (
    check_network,
    check_diagnostics,
    check_environment_hardening,
    check_locks,
    check_lock_dependencies,
    check_role_assignments,
    check_app_server_path,
    check_certificate_teardown,
)
