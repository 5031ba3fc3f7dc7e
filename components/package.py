"""The components' Pulumi package: its name and the type token each component registers.

In this repository's own program the tokens stay `liveness:<module>:<Component>`, the tokens
existing stacks hold in their URNs (a changed token would re-create every child). Inside the
component provider (provider/__main__.py) they are `liveness:index:<Component>`, the tokens the
provider's inferred schema publishes (pulumi.provider.experimental puts every component in `index`).
"""

PACKAGE = "liveness"

# Set by the component provider before it analyzes or constructs anything.
hosted = False


def type_token(module: str, component: str) -> str:
    return f"{PACKAGE}:index:{component}" if hosted else f"{PACKAGE}:{module}:{component}"
