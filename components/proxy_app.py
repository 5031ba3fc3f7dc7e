"""LivenessProxyApp: the nginx proxy Container App in a LivenessProxy environment, its custom domain
and its managed certificate."""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
import dataclasses
import hashlib
import json
from typing import NotRequired, Optional, TypedDict

import pulumi
from pulumi_azure_native import app

from components.arg_choices import CERTIFICATE_SOURCES, DEFAULT_IMAGE, DOMAIN_BINDINGS, REPLICAS_RANGE
from components import args_errors as check
from components import proxy_config
from components.package import type_token
from components.proxy_routes import HEALTH_PATH
from components.proxy_settings import (
    CONCURRENT_REQUESTS_RANGE, DEFAULT_CONCURRENT_REQUESTS, DEFAULT_CPU, DEFAULT_MEMORY, UPSTREAM_HOST_MODES,
    TERMINATION_GRACE_PERIOD_SECONDS,
    ProxyConfigError, ProxySettings,
)
from components.proxy_settings import validate as validate_proxy_settings

CONFIG_SECRET_NAME = "nginx-conf"
CONFIG_VOLUME = "nginx-config"
CONFIG_DIR = "/etc/nginx-liveness"
CONFIG_FILE = "nginx.conf"
WORKLOAD_PROFILE = "Consumption"
CONTAINER_NAME = "proxy"
REVISION_HASH_ENV = "NGINX_CONFIG_SHA256"
# The container's command: a POSIX sh (busybox in the Alpine image, dash on Debian) runs nginx in
# the foreground and turns the platform's SIGTERM into SIGQUIT, nginx's graceful shutdown (on
# SIGTERM nginx stops at once and cuts every request in flight). The shell then waits for nginx,
# whose listeners (the health port too, so readiness fails) close at once and whose requests in
# flight finish within worker_shutdown_timeout, and exits with nginx's status.
DRAIN_SCRIPT = (
    f"nginx -c {CONFIG_DIR}/{CONFIG_FILE} -g 'daemon off;' & pid=$!; "
    "trap 'kill -QUIT \"$pid\" 2>/dev/null' TERM INT; "
    "wait \"$pid\"; status=$?; "
    "while kill -0 \"$pid\" 2>/dev/null; do wait \"$pid\"; status=$?; done; "
    "exit \"$status\""
)
CONTAINER_COMMAND = ["/bin/sh", "-c"]
CONTAINER_ARGS = [DRAIN_SCRIPT]


class ProxyRoutingArgs(TypedDict):
    """What the nginx configuration is rendered from (components/proxy_config.py)."""

    face_host: str
    """The account hostname: SNI and the verified certificate name towards the private endpoint."""
    upstream_address: str
    """The private endpoint's fixed IPv4 address for face_host: no DNS lookup in the data path."""
    upstream_host: NotRequired[str]
    """Host sent to Face: client (unchanged) or account (face_host); default client."""
    allow_options: NotRequired[bool]
    """Forward browser CORS preflight (OPTIONS); default false."""
    rate_limit_per_second: NotRequired[int]
    """Requests per second per client IP; default 10."""
    rate_limit_burst: NotRequired[int]
    """Burst above the rate; default 20."""
    max_body_bytes: NotRequired[int]
    """Largest request body; default 8 MiB."""
    trusted_proxy_cidrs: NotRequired[list[str]]
    """Ranges whose X-Forwarded-For entries are trusted; default none (only the ingress's own entry)."""
    client_timeout_seconds: NotRequired[int]
    """Client read/send timeout; default 60."""
    upstream_timeout_seconds: NotRequired[int]
    """Upstream read/send timeout; default 120."""


class LivenessProxyAppArgs(TypedDict):
    """LivenessProxyApp's contract. Optional fields default to the safe choice."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the app."""
    location: str
    """Azure region, e.g. westeurope."""
    environment: app.ManagedEnvironment
    """The environment (LivenessProxy.environment): the app runs in it, the managed certificate is its child."""
    app_name: str
    """Azure name of the app (the one given to LivenessProxy)."""
    host: str
    """Public hostname of the proxy, bound as the app's custom domain."""
    routing: ProxyRoutingArgs
    """Upstream and limits the nginx configuration is rendered from."""
    dns_record_ids: NotRequired[pulumi.Input[list[str]]]
    """Ids of the DNS records the custom domain is validated against (ProxyDns.record_ids): the app waits for them."""
    certificate_source: NotRequired[str]
    """managed (issued by Container Apps) or keyvault; default managed."""
    domain_binding: NotRequired[str]
    """Managed certificate flow: auto, bootstrap or bound; default auto."""
    managed_certificate_name: NotRequired[str]
    """Name of the managed certificate; default <app_name>-cert."""
    keyvault_certificate_id: NotRequired[pulumi.Input[str]]
    """Environment certificate to bind (LivenessProxy.keyvault_certificate_id, certificate_source keyvault)."""
    image: NotRequired[str]
    """Stock nginx image pinned by tag or digest; default docker.io/library/nginx:1.28.0-alpine."""
    cpu: NotRequired[float]
    """vCPUs per replica; default 0.5."""
    memory: NotRequired[str]
    """Memory per replica (e.g. 1Gi); default 1Gi. The proxy's connection and buffer limits follow it."""
    min_replicas: NotRequired[int]
    """Replicas kept running; default 1 (no cold start)."""
    max_replicas: NotRequired[int]
    """Replica ceiling; default 10."""
    concurrent_requests: NotRequired[int]
    """Concurrent requests per replica before scaling out; default 50."""
    tags: NotRequired[dict[str, str]]
    """Tags on every resource; default none."""


def config_fingerprint(nginx_conf: str, settings: ProxySettings) -> str:
    """What the revision-forcing env var holds: the rendered file and the settings it came from.

    Hashing the settings too means a changed upstream address (or Host mode, vCPUs, ...) always
    starts a new revision, even where the rendered text would not show it.
    """
    fields = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)
    return hashlib.sha256(f"{nginx_conf}\n{fields}".encode()).hexdigest()


def proxy_settings(args: LivenessProxyAppArgs) -> ProxySettings:
    """The renderer's settings from the app's Args (vCPUs and concurrency size the worker pool);
    a field the Args leave out keeps ProxySettings' own default."""
    r = args["routing"]
    d = ProxySettings(face_host=r["face_host"], upstream_address=r["upstream_address"])
    return dataclasses.replace(
        d,
        upstream_host=r.get("upstream_host", d.upstream_host),
        allow_options=r.get("allow_options", d.allow_options),
        rate_limit_per_second=r.get("rate_limit_per_second", d.rate_limit_per_second),
        rate_limit_burst=r.get("rate_limit_burst", d.rate_limit_burst),
        max_body_bytes=r.get("max_body_bytes", d.max_body_bytes),
        client_timeout_seconds=r.get("client_timeout_seconds", d.client_timeout_seconds),
        upstream_timeout_seconds=r.get("upstream_timeout_seconds", d.upstream_timeout_seconds),
        trusted_proxy_cidrs=tuple(r.get("trusted_proxy_cidrs") or ()),
        cpu=args.get("cpu", DEFAULT_CPU),
        concurrent_requests=args.get("concurrent_requests", DEFAULT_CONCURRENT_REQUESTS),
        memory=args.get("memory", DEFAULT_MEMORY))


def validate_args(args: LivenessProxyAppArgs) -> ProxySettings:
    """Received vs expected for every field, before anything is declared; returns the render settings."""
    kind = "LivenessProxyAppArgs"
    check.required(kind, args, ("resource_group_name", "location", "environment", "app_name", "host", "routing"))
    check.plain_str(kind, "app_name", args["app_name"])
    check.hostname(kind, "host", args["host"])
    source = args.get("certificate_source", "managed")
    check.one_of(kind, "certificate_source", source, CERTIFICATE_SOURCES)
    check.one_of(kind, "domain_binding", args.get("domain_binding", "auto"), DOMAIN_BINDINGS)
    if source == "keyvault" and args.get("keyvault_certificate_id") is None:
        raise check.ComponentArgsError(kind, "keyvault_certificate_id", None, "a value when certificate_source is keyvault")
    low, high = args.get("min_replicas", 1), args.get("max_replicas", 10)
    check.int_range(kind, "min_replicas", low, *REPLICAS_RANGE)
    check.int_range(kind, "max_replicas", high, max(1, low), REPLICAS_RANGE[1])
    check.int_range(kind, "concurrent_requests", args.get("concurrent_requests", DEFAULT_CONCURRENT_REQUESTS),
                    *CONCURRENT_REQUESTS_RANGE)
    routing = args["routing"]
    if not isinstance(routing, dict):
        raise check.ComponentArgsError(kind, "routing", routing, "{face_host, upstream_address, ...}")
    check.required(kind + ".routing", routing, ("face_host", "upstream_address"))
    check.one_of(kind, "routing.upstream_host", routing.get("upstream_host", "client"), UPSTREAM_HOST_MODES)
    settings = proxy_settings(args)
    try:
        validate_proxy_settings(settings)
    except ProxyConfigError as e:
        raise check.ComponentArgsError(kind, f"routing ({e.name})", getattr(settings, e.name, None), e.expected) from None
    return settings


def custom_domain(host: str, certificate_source: str, domain_binding: str, environment_id: pulumi.Input[str],
                  managed_certificate_name: str,
                  keyvault_certificate_id: Optional[pulumi.Input[str]]) -> app.CustomDomainArgs:
    """The hostname binding the app declares, for the configured certificate flow.

    managed/auto:      bindingType Auto: the platform binds the managed certificate once issued.
    managed/bootstrap: hostname added without a certificate (lets the managed certificate validate).
    managed/bound:     SNI binding to the managed certificate created in the bootstrap phase.
    keyvault:          SNI binding to the environment certificate imported from Key Vault.
    """
    if certificate_source == "keyvault":
        return app.CustomDomainArgs(name=host, binding_type="SniEnabled", certificate_id=keyvault_certificate_id)
    if domain_binding == "auto":
        return app.CustomDomainArgs(name=host, binding_type="Auto")
    if domain_binding == "bootstrap":
        return app.CustomDomainArgs(name=host, binding_type="Disabled")
    cert_id = pulumi.Output.from_input(environment_id).apply(
        lambda env_id: f"{env_id}/managedCertificates/{managed_certificate_name}")
    return app.CustomDomainArgs(name=host, binding_type="SniEnabled", certificate_id=cert_id)


class LivenessProxyApp(pulumi.ComponentResource):
    """The public door: a stock nginx container that forwards only the four liveness routes.

    Declare it after the proxy host's DNS records (pass their ids as dns_record_ids): Container
    Apps validates the custom domain against the CNAME and asuid records. A managed certificate
    follows the app (its hostname must already be on an app in the environment).
    """

    app_id: pulumi.Output[str]
    """ARM id of the container app."""
    app_name: pulumi.Output[str]
    """Azure name of the container app."""
    config_sha256: pulumi.Output[str]
    """Fingerprint of the shipped nginx configuration (also the revision-forcing env var)."""

    def __init__(self, name: str, args: LivenessProxyAppArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("proxy", "LivenessProxyApp"), name, None, opts)
        ps = validate_args(args)
        environment = args["environment"]
        cert_name = args.get("managed_certificate_name") or f"{args['app_name']}-cert"
        nginx_conf = proxy_config.render_nginx_config(ps)
        conf_hash = config_fingerprint(nginx_conf, ps)
        domain = custom_domain(args["host"], args.get("certificate_source", "managed"), args.get("domain_binding", "auto"),
                               environment.id, cert_name, args.get("keyvault_certificate_id"))
        # The records are inputs: the environment id is passed on only once their ids are known, so
        # the app depends on them (Container Apps validates the custom domain against them).
        records = pulumi.Output.from_input(args.get("dns_record_ids") or [])
        environment_id = pulumi.Output.all(environment.id, records).apply(lambda values: values[0])

        self.app = app.ContainerApp(
            f"{name}-app",
            resource_group_name=args["resource_group_name"],
            container_app_name=args["app_name"],
            location=args["location"],
            managed_environment_id=environment_id,
            workload_profile_name=WORKLOAD_PROFILE,
            tags=args.get("tags") or {},
            configuration=_configuration(nginx_conf, ps, domain),
            template=_template(args, ps, conf_hash),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.managed_certificate: Optional[app.ManagedCertificate] = None
        if args.get("certificate_source", "managed") == "managed":
            self.managed_certificate = self._managed_certificate(name, args, cert_name)

        self.app_id = self.app.id
        self.app_name = self.app.name
        self.config_sha256 = pulumi.Output.from_input(conf_hash)
        self.register_outputs({"appId": self.app_id, "appName": self.app_name, "configSha256": self.config_sha256})

    def _managed_certificate(self, name: str, args: LivenessProxyAppArgs, cert_name: str) -> app.ManagedCertificate:
        """Creating a managed certificate requires the hostname to be on an app in the environment
        already (RequireCustomHostnameInEnvironment): it depends on the app."""
        environment = args["environment"]
        return app.ManagedCertificate(
            f"{name}-managed-cert",
            resource_group_name=args["resource_group_name"],
            environment_name=environment.name,
            managed_certificate_name=cert_name,
            location=args["location"],
            properties=app.ManagedCertificatePropertiesArgs(
                subject_name=args["host"],
                domain_control_validation="CNAME",
            ),
            tags=args.get("tags") or {},
            # Teardown: deleting this certificate while the hostname is still bound to it fails
            # (CertificateInUse, hashicorp/terraform-provider-azurerm#21866), and its
            # dependency on the app makes Pulumi delete it first. Deleting the environment
            # deletes its certificates, so skip the certificate's own delete then.
            opts=pulumi.ResourceOptions(parent=environment, depends_on=[self.app], deleted_with=environment),
        )


def _configuration(nginx_conf: str, ps: ProxySettings, domain: app.CustomDomainArgs) -> app.ConfigurationArgs:
    """One revision at a time, the rendered nginx.conf as a secret, and the external HTTPS ingress."""
    return app.ConfigurationArgs(
        active_revisions_mode="Single",
        secrets=[app.SecretArgs(name=CONFIG_SECRET_NAME, value=nginx_conf)],
        ingress=app.IngressArgs(
            external=True,
            transport="http",
            target_port=ps.listen_port,
            allow_insecure=False,
            traffic=[app.TrafficWeightArgs(latest_revision=True, weight=100)],
            custom_domains=[domain],
        ),
    )


def _probe(kind: str, period: int, port: int) -> app.ContainerAppProbeArgs:
    return app.ContainerAppProbeArgs(
        type=kind,
        http_get=app.ContainerAppProbeHttpGetArgs(path=HEALTH_PATH, port=port),
        period_seconds=period,
        timeout_seconds=2,
        failure_threshold=3,
    )


def _template(args: LivenessProxyAppArgs, ps: ProxySettings, conf_hash: str) -> app.TemplateArgs:
    """The nginx container with the configuration mounted from the secret, its probes and the scale rule."""
    return app.TemplateArgs(
        # SIGTERM, then SIGKILL this long after: nginx's drain ends well before it.
        termination_grace_period_seconds=TERMINATION_GRACE_PERIOD_SECONDS,
        containers=[
            app.ContainerArgs(
                name=CONTAINER_NAME,
                image=args.get("image", DEFAULT_IMAGE),
                # Explicit command: any stock nginx image runs the mounted configuration
                # and drains on the platform's SIGTERM (DRAIN_SCRIPT).
                command=list(CONTAINER_COMMAND),
                args=list(CONTAINER_ARGS),
                resources=app.ContainerResourcesArgs(cpu=ps.cpu, memory=ps.memory),
                # Secret changes alone do not start a new revision; the hash does.
                env=[app.EnvironmentVarArgs(name=REVISION_HASH_ENV, value=conf_hash)],
                volume_mounts=[app.VolumeMountArgs(volume_name=CONFIG_VOLUME, mount_path=CONFIG_DIR)],
                probes=[_probe("Readiness", 5, ps.health_port), _probe("Liveness", 10, ps.health_port)],
            )
        ],
        volumes=[
            app.VolumeArgs(
                name=CONFIG_VOLUME,
                storage_type="Secret",
                secrets=[app.SecretVolumeItemArgs(secret_ref=CONFIG_SECRET_NAME, path=CONFIG_FILE)],
            )
        ],
        scale=app.ScaleArgs(
            min_replicas=args.get("min_replicas", 1),
            max_replicas=args.get("max_replicas", 10),
            rules=[
                app.ScaleRuleArgs(
                    name="http-concurrency",
                    http=app.HttpScaleRuleArgs(metadata={"concurrentRequests": str(ps.concurrent_requests)}),
                )
            ],
        ),
    )
