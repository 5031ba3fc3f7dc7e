"""ProxyDns: the public zone (created, existing or external) and the proxy host's records."""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import dns

from components.dns_records import proxy_records, relative_name, split_txt
from infra.config import Settings


class ProxyDns(pulumi.ComponentResource):
    """CNAME to the ingress, `asuid` TXT for Container Apps, `azaiverify` TXT for Microsoft.

    Modes: `create` declares the zone (delegate it from the parent with `name_servers`),
    `existing` writes records into a zone the stack does not own, `external` declares nothing
    and exposes `records` for the operator's DNS provider.
    """

    def __init__(self, name: str, settings: Settings, resource_group_name: pulumi.Input[str],
                 ingress_fqdn: pulumi.Input[str], verification_id: pulumi.Input[str],
                 verification_code: Optional[pulumi.Output[str]],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("liveness:dns:ProxyDns", name, None, opts)
        cfg = settings.dns
        host = settings.proxy.host
        self.zone: Optional[dns.Zone] = None
        self.record_sets: list[dns.RecordSet] = []
        self.verification_record: Optional[dns.RecordSet] = None
        self.name_servers: Optional[pulumi.Output] = None

        planned = proxy_records(host, cfg.record_ttl, cfg.verification_ttl,
                                with_verification_code=verification_code is not None)
        # What an operator creates by hand in `external` mode; the verification value stays secret.
        self.records = pulumi.Output.all(ingress_fqdn, verification_id).apply(
            lambda vals: [
                {
                    "name": r.fqdn,
                    "type": r.type,
                    "ttl": r.ttl,
                    "value": {"cname": vals[0], "asuid": vals[1]}.get(
                        r.key, "<the verificationCode secret: pulumi stack output verificationCode --show-secrets>"),
                    "purpose": r.purpose,
                }
                for r in planned
            ]
        )
        if cfg.mode == "external":
            self.register_outputs({"records": self.records})
            return

        zone_rg = cfg.zone_resource_group or resource_group_name
        zone_name: pulumi.Input[str] = cfg.zone_name
        if cfg.mode == "create":
            self.zone = dns.Zone(
                f"{name}-zone",
                resource_group_name=resource_group_name,
                zone_name=cfg.zone_name,
                location="global",
                zone_type="Public",
                tags=settings.tags,
                opts=pulumi.ResourceOptions(parent=self, protect=settings.protect),
            )
            zone_name = self.zone.name
            self.name_servers = self.zone.name_servers
        # Records are children of the component, not of the zone: a protected zone would
        # otherwise make every record protected by inheritance.
        record_parent = self
        zone_dependency = [self.zone] if self.zone else []

        for r in planned:
            common = dict(
                resource_group_name=zone_rg,
                zone_name=zone_name,
                relative_record_set_name=relative_name(r.fqdn, cfg.zone_name),
                record_type=r.type,
                ttl=r.ttl,
                metadata={"purpose": r.key, "stack": settings.stack},
            )
            if r.key == "cname":
                record = dns.RecordSet(f"{name}-cname", cname_record=dns.CnameRecordArgs(cname=ingress_fqdn),
                                       opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency), **common)
            elif r.key == "asuid":
                record = dns.RecordSet(
                    f"{name}-asuid",
                    txt_records=[dns.TxtRecordArgs(value=pulumi.Output.from_input(verification_id).apply(split_txt))],
                    opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency), **common)
            else:
                assert verification_code is not None
                record = dns.RecordSet(
                    f"{name}-azaiverify",
                    txt_records=[dns.TxtRecordArgs(value=pulumi.Output.secret(verification_code.apply(split_txt)))],
                    opts=pulumi.ResourceOptions(parent=record_parent, depends_on=zone_dependency, protect=settings.protect), **common)
                self.verification_record = record
            self.record_sets.append(record)

        self.register_outputs({"records": self.records})
