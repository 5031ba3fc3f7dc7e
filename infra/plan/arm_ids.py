"""The ARM id each planned resource gets, from its type and inputs (pure).

The offline evaluation hands these ids to the program as the provider would (a lock's scope is its
target's id), and the lock checks (infra/plan/locks.py) compute the same ids from a plan's recorded
inputs, including a base plan written by an older tree.
"""

from __future__ import annotations

from typing import Any, Mapping

MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

# type token → (input holding the resource's own name, ARM id path after the resource group)
ARM: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", ""),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "Microsoft.Network/virtualNetworks/{}"),
    "azure-native:network:Subnet": ("subnetName", "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{}"),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName", "Microsoft.Network/networkSecurityGroups/{}"),
    "azure-native:network:PrivateEndpoint": ("privateEndpointName", "Microsoft.Network/privateEndpoints/{}"),
    "azure-native:network:PrivateDnsZoneGroup": (
        "privateDnsZoneGroupName", "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{}"),
    "azure-native:privatedns:PrivateZone": ("privateZoneName", "Microsoft.Network/privateDnsZones/{}"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "virtualNetworkLinkName", "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{}"),
    "azure-native:cognitiveservices:Account": ("accountName", "Microsoft.CognitiveServices/accounts/{}"),
    "azure-native:operationalinsights:Workspace": ("workspaceName", "Microsoft.OperationalInsights/workspaces/{}"),
    "azure-native:app:ManagedEnvironment": ("environmentName", "Microsoft.App/managedEnvironments/{}"),
    "azure-native:app:ContainerApp": ("containerAppName", "Microsoft.App/containerApps/{}"),
    "azure-native:app:ManagedCertificate": (
        "managedCertificateName", "Microsoft.App/managedEnvironments/{environmentName}/managedCertificates/{}"),
    "azure-native:app:Certificate": ("certificateName", "Microsoft.App/managedEnvironments/{environmentName}/certificates/{}"),
    "azure-native:dns:Zone": ("zoneName", "Microsoft.Network/dnszones/{}"),
    "azure-native:dns:RecordSet": ("relativeRecordSetName", "Microsoft.Network/dnszones/{zoneName}/{recordType}/{}"),
    # monitoring (components/monitoring.py)
    "azure-native:operationalinsights:SavedSearch": (
        "savedSearchId", "Microsoft.OperationalInsights/workspaces/{workspaceName}/savedSearches/{}"),
    "azure-native:applicationinsights:Workbook": ("resourceName", "Microsoft.Insights/workbooks/{}"),
    "azure-native:applicationinsights:Component": ("resourceName", "Microsoft.Insights/components/{}"),
    "azure-native:applicationinsights:WebTest": ("webTestName", "Microsoft.Insights/webtests/{}"),
    "azure-native:monitor:ActionGroup": ("actionGroupName", "Microsoft.Insights/actionGroups/{}"),
    "azure-native:monitor:ScheduledQueryRule": ("ruleName", "Microsoft.Insights/scheduledQueryRules/{}"),
    "azure-native:monitor:MetricAlert": ("ruleName", "Microsoft.Insights/metricAlerts/{}"),
}

# Extension resources: type token → (input holding the scope's id, input holding the name, path after it)
EXTENSION_ARM: dict[str, tuple[str, str, str]] = {
    "azure-native:monitor:DiagnosticSetting": ("resourceUri", "name", "providers/Microsoft.Insights/diagnosticSettings/{}"),
    "azure-native:authorization:ManagementLockByScope": ("scope", "lockName", "providers/Microsoft.Authorization/locks/{}"),
    "azure-native:authorization:RoleAssignment": ("scope", "roleAssignmentName", "providers/Microsoft.Authorization/roleAssignments/{}"),
}



def own_name(type_token: str, logical_name: str, inputs: Mapping[str, Any]) -> str:
    """The Azure name of the resource: the input that names it, else its logical name."""
    extension = EXTENSION_ARM.get(type_token)
    key = extension[1] if extension else ARM.get(type_token, (None, None))[0]
    value = inputs.get(key) if key else None
    return value if isinstance(value, str) and value else logical_name


def arm_id(type_token: str, logical_name: str, inputs: Mapping[str, Any]) -> str:
    """The resource's ARM id as the offline plan gives it (a /mock/ id for types it does not know)."""
    name = own_name(type_token, logical_name, inputs)
    extension = EXTENSION_ARM.get(type_token)
    if extension is not None:
        scope_key, _, path = extension
        return f"{str(inputs.get(scope_key) or '/mock').rstrip('/')}/" + path.format(name)
    known = ARM.get(type_token)
    if known is None:
        return f"/mock/{type_token}/{logical_name}"
    path = known[1]
    if path == "":
        return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{name}"
    rg = inputs.get("resourceGroupName", name)
    fields = {k: (v if isinstance(v, str) else "") for k, v in inputs.items()}
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{rg}/providers/" + path.format(name, **fields)


def id_inputs(type_token: str) -> tuple[str, ...]:
    """Inputs that make up the resource's id (and `location`): changing one replaces the resource."""
    extension = EXTENSION_ARM.get(type_token)
    if extension is not None:
        return (extension[0], extension[1])
    key, path = ARM.get(type_token, (None, None))
    if key is None:
        return ()
    import string
    named = [f for _, f, _, _ in string.Formatter().parse(path or "") if f]
    return (key, "resourceGroupName", "location", *named)
