"""The Stack group: lifecycle, region, resource names and tags, the keys every other group builds on."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

from infra.config.reader import DNS_LABEL, Reader
from infra.errors import ConfigError

_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{1,89}[-\w()]$")
MAX_INSTANCE_SUFFIX = 20  # run ids are ~11 digits; keeps <prefix>-face-<suffix> within one DNS label

# Azure tags: at most 50 per resource (the stack adds 3), names up to 512 characters without
# < > % & \\ ? /, values up to 256 characters (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources).
MAX_USER_TAGS = 47
_TAG_NAME_FORBIDDEN = set('<>%&\\?/')


@dataclass(frozen=True)
class StackSettings:
    lifecycle: str
    location: str
    name_prefix: str
    instance_suffix: Optional[str]
    resource_group_name: str
    tags: dict[str, str]


def default_name_prefix(stack: str) -> str:
    """`fl-<stack>` made a valid prefix: lower case, other characters as hyphens, at most 16."""
    text = re.sub(r"[^a-z0-9]+", "-", f"fl-{stack}".lower())
    return text[:16].strip("-")


def stack_hash(stack: str, salt: str = "") -> str:
    return hashlib.sha256(f"{stack}/{salt}".encode()).hexdigest()[:6]


def parse_stack(r: Reader, stack: str, provider_location: Optional[str]) -> StackSettings:
    """`provider_location` is `azure-native:location` (runtime text), used when `location` is unset."""
    lifecycle = r.choice("lifecycle")
    location = _location(r, provider_location)
    name_prefix = r.string("namePrefix", default_name_prefix(stack))
    if not _PREFIX.match(name_prefix) or name_prefix.endswith("-") or "--" in name_prefix:
        raise ConfigError(r.full("namePrefix"), name_prefix,
                          "2-16 characters: a lower-case letter, then lower-case letters, digits or single inner hyphens")
    suffix = r.string("instanceSuffix")
    if suffix is not None and (len(suffix) > MAX_INSTANCE_SUFFIX or not DNS_LABEL.match(suffix.lower())):
        raise ConfigError(r.full("instanceSuffix"), suffix,
                          f"1-{MAX_INSTANCE_SUFFIX} lower-case letters, digits and inner hyphens")
    suffix = suffix.lower() if suffix is not None else None
    if lifecycle == "ephemeral" and suffix is None:
        suffix = stack_hash(stack)
    resource_group_name = r.string("resourceGroupName", f"rg-{name_prefix}")
    if not _RESOURCE_GROUP.match(resource_group_name):
        raise ConfigError(r.full("resourceGroupName"), resource_group_name,
                          "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    tags = {**_user_tags(r), "environment": lifecycle, "stack": stack, "managed-by": "pulumi"}
    return StackSettings(lifecycle, location, name_prefix, suffix, resource_group_name, tags)


def _location(r: Reader, provider_location: Optional[str]) -> str:
    location = r.string("location") or (provider_location.strip() if provider_location else None)
    if location == "null":
        location = None
    if not location:
        raise ConfigError(r.full("location"), None, "an Azure region such as westeurope (or set azure-native:location)")
    if not _LOCATION.match(location):
        raise ConfigError(r.full("location") if r.string("location") else "azure-native:location", location,
                          "an Azure region name in lower case, e.g. westeurope")
    return location


def _user_tags(r: Reader) -> dict[str, str]:
    tags = r.string_map("tags")
    if len(tags) > MAX_USER_TAGS:
        raise ConfigError(r.full("tags"), f"{len(tags)} tags", f"at most {MAX_USER_TAGS} tags (Azure allows 50; the stack adds 3)")
    for name, value in tags.items():
        if not name.strip() or len(name) > 512 or _TAG_NAME_FORBIDDEN & set(name):
            raise ConfigError(r.full("tags"), name, "tag names of 1-512 characters without < > % & \\ ? /")
        if len(value) > 256:
            raise ConfigError(r.full("tags"), value, f"tag values of at most 256 characters (tag {name!r})")
    return tags
