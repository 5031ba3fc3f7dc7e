"""IsolatedNetwork: the VNet, its two subnets and their network security groups."""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
from typing import Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
from pulumi_azure_native import network

from components import args_errors as check
from components import nsg_rules
from components.package import type_token

APPS_DELEGATION = "Microsoft.App/environments"


class IsolatedNetworkArgs(TypedDict):
    """IsolatedNetwork's contract. Optional fields default to the closed choice."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the VNet and its NSGs."""
    location: str
    """Azure region, e.g. westeurope."""
    vnet_name: str
    """Azure name of the virtual network."""
    apps_nsg_name: str
    """Azure name of the apps subnet's network security group."""
    endpoints_nsg_name: str
    """Azure name of the private-endpoints subnet's network security group."""
    vnet_address_space: str
    """IPv4 CIDR of the VNet; both subnets must lie inside it."""
    apps_subnet_prefix: str
    """CIDR of the subnet delegated to the Container Apps environment (/27 or larger)."""
    endpoints_subnet_prefix: str
    """CIDR of the private-endpoints subnet."""
    endpoint_client_cidrs: NotRequired[list[str]]
    """Extra ranges allowed to reach the private endpoints on 443 (the app server); default none."""
    tags: NotRequired[dict[str, str]]
    """Tags on every resource; default none."""


def validate_args(args: IsolatedNetworkArgs) -> None:
    """Received vs expected for every field, before anything is declared."""
    kind = "IsolatedNetworkArgs"
    check.required(kind, args, ("resource_group_name", "location", "vnet_name", "apps_nsg_name", "endpoints_nsg_name",
                                "vnet_address_space", "apps_subnet_prefix", "endpoints_subnet_prefix"))
    fields: Mapping[str, object] = args
    for field in ("location", "vnet_name", "apps_nsg_name", "endpoints_nsg_name"):
        check.plain_str(kind, field, fields[field])
    space = check.cidr(kind, "vnet_address_space", args["vnet_address_space"])
    subnets = {}
    for field in ("apps_subnet_prefix", "endpoints_subnet_prefix"):
        subnets[field] = check.cidr(kind, field, fields[field])
        if not subnets[field].subnet_of(space):
            raise check.ComponentArgsError(kind, field, fields[field], f"a range inside vnet_address_space {space}")
    if subnets["apps_subnet_prefix"].overlaps(subnets["endpoints_subnet_prefix"]):
        raise check.ComponentArgsError(kind, "endpoints_subnet_prefix", args["endpoints_subnet_prefix"],
                                       f"a range that does not overlap apps_subnet_prefix {subnets['apps_subnet_prefix']}")
    if subnets["apps_subnet_prefix"].prefixlen > 27:
        raise check.ComponentArgsError(kind, "apps_subnet_prefix", args["apps_subnet_prefix"],
                                       "a /27 or larger range (Container Apps workload profiles)")
    for i, client in enumerate(args.get("endpoint_client_cidrs") or []):
        check.cidr(kind, f"endpoint_client_cidrs[{i}]", client)


def _args(rule: nsg_rules.Rule) -> network.SecurityRuleArgs:
    """The provider's typed rule for one planned rule. Several sources go in one prefix list, so any
    number of CIDRs fits one priority; a single source (a service tag or `*`) uses the singular
    field, as prefix lists take only addresses."""
    several = len(rule.sources) > 1
    return network.SecurityRuleArgs(
        name=rule.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_address_prefixes=list(rule.sources) if several else None,
        source_address_prefix=None if several else rule.sources[0],
        source_port_range="*",
        destination_address_prefix=rule.destination,
        destination_port_ranges=list(rule.ports) if len(rule.ports) > 1 else None,
        destination_port_range=rule.ports[0] if len(rule.ports) == 1 else None,
        description=rule.description,
    )


class IsolatedNetwork(pulumi.ComponentResource):
    """VNet with a delegated subnet for the Container Apps environment and one for private endpoints.

    The apps subnet's NSG states Microsoft's inbound rules for an external workload-profiles
    environment; the endpoints subnet admits HTTPS from the apps subnet (the proxy) and from the
    ranges named in `faceAllowedClientCidrs` (the app server that creates sessions), nothing else.
    The rules themselves are planned in components/nsg_rules.py.
    """

    vnet_id: pulumi.Output[str]
    """ARM id of the virtual network."""
    apps_subnet_id: pulumi.Output[str]
    """ARM id of the subnet delegated to Microsoft.App/environments."""
    endpoints_subnet_id: pulumi.Output[str]
    """ARM id of the private-endpoints subnet."""

    def __init__(self, name: str, args: IsolatedNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("network", "IsolatedNetwork"), name, None, opts)
        validate_args(args)
        apps_prefix, endpoints_prefix = args["apps_subnet_prefix"], args["endpoints_subnet_prefix"]
        self.apps_nsg = self._nsg(f"{name}-apps-nsg", args, args["apps_nsg_name"], nsg_rules.apps_rules(apps_prefix))
        self.endpoints_nsg = self._nsg(f"{name}-endpoints-nsg", args, args["endpoints_nsg_name"], nsg_rules.endpoint_rules(
            endpoints_prefix, apps_prefix, tuple(args.get("endpoint_client_cidrs") or ())))
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args["resource_group_name"],
            virtual_network_name=args["vnet_name"],
            location=args["location"],
            tags=args.get("tags") or {},
            address_space=network.AddressSpaceArgs(address_prefixes=[args["vnet_address_space"]]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.apps_subnet = self._subnet(
            f"{name}-apps-subnet", args, "apps", apps_prefix, self.apps_nsg,
            delegations=[network.DelegationArgs(name="container-apps", service_name=APPS_DELEGATION)])
        # Subnet writes on one VNet conflict when concurrent: create them one after the other.
        # The endpoints subnet enforces its NSG on private endpoint traffic too.
        self.endpoints_subnet = self._subnet(
            f"{name}-endpoints-subnet", args, "private-endpoints", endpoints_prefix, self.endpoints_nsg,
            private_endpoint_network_policies="Enabled", after=self.apps_subnet)
        self.vnet_id = self.vnet.id
        self.apps_subnet_id = self.apps_subnet.id
        self.endpoints_subnet_id = self.endpoints_subnet.id
        self.register_outputs({
            "vnetId": self.vnet_id,
            "appsSubnetId": self.apps_subnet_id,
            "endpointsSubnetId": self.endpoints_subnet_id,
        })

    def _nsg(self, logical_name: str, args: IsolatedNetworkArgs, azure_name: str,
             rules: Sequence[nsg_rules.Rule]) -> network.NetworkSecurityGroup:
        """A subnet's network security group with its planned rules (components/nsg_rules.py)."""
        return network.NetworkSecurityGroup(
            logical_name,
            resource_group_name=args["resource_group_name"],
            network_security_group_name=azure_name,
            location=args["location"],
            tags=args.get("tags") or {},
            security_rules=[_args(r) for r in rules],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _subnet(self, logical_name: str, args: IsolatedNetworkArgs, subnet_name: str, prefix: str,
                nsg: network.NetworkSecurityGroup, *, delegations: Optional[list[network.DelegationArgs]] = None,
                private_endpoint_network_policies: Optional[str] = None,
                after: Optional[network.Subnet] = None) -> network.Subnet:
        """A subnet of the VNet (its child) behind its NSG, created after `after` if given."""
        return network.Subnet(
            logical_name,
            resource_group_name=args["resource_group_name"],
            virtual_network_name=self.vnet.name,
            subnet_name=subnet_name,
            address_prefix=prefix,
            delegations=delegations,
            private_endpoint_network_policies=private_endpoint_network_policies,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            opts=pulumi.ResourceOptions(parent=self.vnet, depends_on=[after] if after else None),
        )
