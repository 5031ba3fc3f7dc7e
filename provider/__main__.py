"""Entry point of the `liveness` component provider (PulumiPlugin.yaml in this folder).

Hosts components.catalog.COMPONENTS with Pulumi's component hosting: the schema (inputs from each
component's typed Args, outputs from its annotated attributes) is inferred from the code, so no
schema file is kept by hand. Nothing from infra/ is imported: the components read no stack config.
"""

from importlib import metadata

from pulumi.provider.experimental import component_provider_host

from components import package
from components.catalog import COMPONENTS


def _version() -> str:
    try:
        return metadata.version("face-liveness-isolation")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def main() -> None:
    # Inside the provider the components register `liveness:index:<Component>`, the schema's tokens.
    package.hosted = True
    component_provider_host(components=list(COMPONENTS), name=package.PACKAGE, version=_version())


if __name__ == "__main__":
    main()
