"""IsolatedNetwork: the VNet, its two subnets and their network security groups."""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import network

from components import nsg_rules
from infra.config import Settings

APPS_DELEGATION = "Microsoft.App/environments"


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

    def __init__(self, name: str, settings: Settings, resource_group_name: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("liveness:network:IsolatedNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        net = settings.network

        self.apps_nsg = network.NetworkSecurityGroup(
            f"{name}-apps-nsg",
            resource_group_name=resource_group_name,
            network_security_group_name=settings.resource_name("apps-nsg"),
            location=settings.location,
            tags=settings.tags,
            security_rules=[_args(r) for r in nsg_rules.apps_rules(net.apps_subnet_prefix)],
            opts=child,
        )
        self.endpoints_nsg = network.NetworkSecurityGroup(
            f"{name}-endpoints-nsg",
            resource_group_name=resource_group_name,
            network_security_group_name=settings.resource_name("pe-nsg"),
            location=settings.location,
            tags=settings.tags,
            security_rules=[_args(r) for r in nsg_rules.endpoint_rules(net.endpoints_subnet_prefix, net.apps_subnet_prefix, net.endpoint_client_cidrs)],
            opts=child,
        )
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=resource_group_name,
            virtual_network_name=settings.resource_name("vnet"),
            location=settings.location,
            tags=settings.tags,
            address_space=network.AddressSpaceArgs(address_prefixes=[net.vnet_address_space]),
            opts=child,
        )
        vnet_child = pulumi.ResourceOptions(parent=self.vnet)
        self.apps_subnet = network.Subnet(
            f"{name}-apps-subnet",
            resource_group_name=resource_group_name,
            virtual_network_name=self.vnet.name,
            subnet_name="apps",
            address_prefix=net.apps_subnet_prefix,
            delegations=[network.DelegationArgs(name="container-apps", service_name=APPS_DELEGATION)],
            network_security_group=network.NetworkSecurityGroupArgs(id=self.apps_nsg.id),
            opts=vnet_child,
        )
        # Subnet writes on one VNet conflict when concurrent: create them one after the other.
        self.endpoints_subnet = network.Subnet(
            f"{name}-endpoints-subnet",
            resource_group_name=resource_group_name,
            virtual_network_name=self.vnet.name,
            subnet_name="private-endpoints",
            address_prefix=net.endpoints_subnet_prefix,
            # Enforce the NSG on private endpoint traffic too.
            private_endpoint_network_policies="Enabled",
            network_security_group=network.NetworkSecurityGroupArgs(id=self.endpoints_nsg.id),
            opts=pulumi.ResourceOptions(parent=self.vnet, depends_on=[self.apps_subnet]),
        )
        self.register_outputs({
            "vnetId": self.vnet.id,
            "appsSubnetId": self.apps_subnet.id,
            "endpointsSubnetId": self.endpoints_subnet.id,
        })
