"""`liveness-infra support-request --stack NAME`: the filled-in Azure support ticket (Microsoft's step 1).

Registering a reverse proxy for Face liveness with a private account is a support request. This
prints every field to paste, from the stack configuration: no credentials needed (the
subscription id comes from --subscription-id, else `az account show` when the Azure CLI is
signed in, else a placeholder that is called out).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable

from components.proxy_routes import LIVENESS_ROUTES
from infra.azure_ids import GUID
from infra.errors import UserError, shorten

SUMMARY = "Register reverse proxy domain for Face API Liveness Detection with private network access"
SERVICE = "Cognitive Services (Cognitive Services - Face API)"
SUBSCRIPTION_PLACEHOLDER = "<subscription-id>"
AZ_TIMEOUT = 30


@dataclass(frozen=True)
class TicketFacts:
    """What the ticket says, taken from the stack settings."""

    stack: str
    proxy_host: str
    location: str
    resource_group: str
    account_name: str
    account_kind: str  # "Face" or "AIServices"
    endpoint_host: str
    dns_mode: str
    dns_zone: str | None
    registered: bool
    upstream_host: str = "client"  # liveness:proxyUpstreamHost: Host the proxy sends to the account


def resource_id(subscription: str, facts: TicketFacts) -> str:
    return (f"/subscriptions/{subscription}/resourceGroups/{facts.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{facts.account_name}")


def routes() -> list[str]:
    """The four routes as Microsoft's documentation writes them."""
    return [r.replace("{version}", "[version]") for r in LIVENESS_ROUTES]


def host_question(facts: TicketFacts) -> list[str]:
    """The question about the Host header Face will see, and what the proxy sends today."""
    sends = (f"the client's Host, unchanged, i.e. {facts.proxy_host}" if facts.upstream_host == "client"
             else f"the account hostname {facts.endpoint_host}")
    return [
        "Question — Host header: the proxy connects to the private endpoint with TLS SNI and a",
        f"verified certificate for {facts.endpoint_host};",
        f"as Host it currently sends {sends}.",
        "Which Host does the registration expect on forwarded requests: the proxy's hostname",
        f"({facts.proxy_host}) or the account's ({facts.endpoint_host})?",
    ]


def render_ticket(facts: TicketFacts, subscription: str | None, justification: str | None = None) -> str:
    """Pure: the ticket, field by field, in the order the Azure portal asks for them."""
    sub = subscription or SUBSCRIPTION_PLACEHOLDER
    kind = "an Azure AI services" if facts.account_kind == "AIServices" else "a Face"
    if facts.dns_mode == "external":
        dns_line = f"TXT records at {facts.proxy_host} are published at our own DNS provider"
    else:
        dns_line = f"we administer the Azure DNS zone {facts.dns_zone} that holds {facts.proxy_host}"
    lines = [
        f"Azure support request — stack {facts.stack}",
        "",
        "Where: Azure portal > the account below > Support + Troubleshooting",
        f"  Summary (describe the issue):  {SUMMARY}",
        f"  Service:                       {SERVICE}",
        f"  Subscription / resource:       {sub} / {facts.account_name}",
        "  Issue:                         None of the above",
        "  Problem type:                  Security",
        "  Problem subtype:               Virtual Network",
        "  Then: Need more help? > Create a support request; skip 'Recommended solution'.",
        "  When did the problem start:    Not sure, use current time",
        "  Preferred contact method:      Email (the verification string is long and random)",
        "",
        "Description (paste):",
        "-" * 72,
        f"Please register our reverse proxy for Face API liveness detection with {kind} resource",
        "whose public network access is disabled.",
        "",
        f"Reverse proxy hostname:  {facts.proxy_host}",
        f"Resource id:             {resource_id(sub, facts)}",
        f"Resource endpoint:       https://{facts.endpoint_host}",
        f"Region:                  {facts.location}",
        "Routes the proxy forwards unchanged (method POST; query, body and headers untouched, Host as below):",
        *[f"  {route}" for route in routes()],
        "",
        *host_question(facts),
        "",
        "Prerequisites confirmed:",
        "  [ ] The subscription is approved for the Face Liveness Detection Limited Access feature.",
        f"  [ ] Public network access on {facts.account_name} is Disabled (network ACL default action",
        "      Deny); it is reached through a private endpoint in our virtual network.",
        "  [ ] The reverse proxy runs in that virtual network and is published at",
        f"      https://{facts.proxy_host} with a certificate for that name; it forwards only the",
        "      four routes above.",
        f"  [ ] DNS administration: {dns_line};",
        f"      we can publish the TXT record at azaiverify.{facts.proxy_host} within the 48-hour",
        "      verification window.",
        "  [ ] We have an Azure support plan that allows this request.",
        "",
        "Justification / context:",
        f"  {justification or '<why the account must stay private, e.g. the policy or compliance standard that requires it>'}",
        "-" * 72,
    ]
    return "\n".join(lines)


def checklist_notes(facts: TicketFacts, subscription: str | None) -> list[str]:
    """Things the person filing the ticket must do or confirm themselves."""
    notes = [
        "Mark each prerequisite [x] only when it is true: the Limited Access approval and the support plan "
        "cannot be checked from the stack, and `pulumi up` must have completed so the account, private "
        "endpoint and proxy exist.",
        f"When support replies with the verification string: see docs/dns-verification.md (step 2), then "
        f"`liveness-infra dns wait --stack {facts.stack}`.",
        f"When support answers the Host question: if they expect the account's hostname, run "
        f"`pulumi config set liveness:proxyUpstreamHost account --stack {facts.stack}` and `pulumi up` "
        f"(docs/dns-verification.md, 'Which Host header').",
    ]
    if subscription is None:
        notes.insert(0, f"The subscription id is not known offline: replace {SUBSCRIPTION_PLACEHOLDER} above, "
                        f"or pass --subscription-id (or sign in with `az login` and rerun).")
    if facts.registered:
        notes.insert(0, f"Stack {facts.stack} is already registered (liveness:registrationState registered): "
                        f"a new ticket is only needed when the proxy hostname changes.")
    return notes


def facts_from_settings(settings) -> TicketFacts:
    return TicketFacts(
        stack=settings.stack,
        proxy_host=settings.proxy.host,
        location=settings.location,
        resource_group=settings.resource_group_name,
        account_name=settings.face.account_name,
        account_kind=settings.face.kind,
        endpoint_host=settings.face.endpoint_host,
        dns_mode=getattr(getattr(settings, "dns", None), "mode", "create"),
        dns_zone=getattr(getattr(settings, "dns", None), "zone_name", None),
        registered=bool(settings.registration.registered),
        upstream_host=getattr(getattr(settings, "proxy", None), "upstream_host", "client"),
    )


def az_subscription(runner: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """The signed-in Azure CLI's subscription id, or None (no az, not signed in, odd output)."""
    az = shutil.which("az")
    if az is None:
        return None
    try:
        done = runner([az, "account", "show", "--query", "id", "--output", "tsv"], capture_output=True,
                      text=True, timeout=AZ_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = (done.stdout or "").strip()
    return value if done.returncode == 0 and GUID.match(value) else None


def checked_subscription_id(value: str) -> str:
    """A --subscription-id as given (a GUID), lower-cased, or a UserError saying what is expected."""
    if not GUID.match(value.strip()):
        raise UserError(f"--subscription-id: received {shorten(value)}; expected a GUID like "
                        f"00000000-0000-0000-0000-000000000000")
    return value.strip().lower()
