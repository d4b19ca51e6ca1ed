"""Helpers for tests that need what CDK deploys, e.g. the exact state machine definitions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from infra.constructs.cadences import CADENCE_TAG

FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"


def fake_function_arn(logical_id: str) -> str:
    return f"arn:aws:lambda:{FAKE_REGION}:{FAKE_ACCOUNT}:function:{logical_id}"


def _resolve(value: Any, template: dict[str, Any], arn_for: Callable[[str], str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        resource_type = template["Resources"][logical_id]["Type"]
        if resource_type != "AWS::Lambda::Function" or attribute != "Arn":
            raise ValueError(f"unexpected reference in a definition: {value} ({resource_type})")
        return arn_for(logical_id)
    raise ValueError(f"unexpected token in a definition: {value}")


def definition_string(
    resource: dict[str, Any], template: dict[str, Any], arn_for: Callable[[str], str] = fake_function_arn
) -> str:
    """A state machine's DefinitionString with its Lambda ARN tokens replaced by `arn_for(logical id)`."""
    definition = resource["Properties"]["DefinitionString"]
    if isinstance(definition, str):
        return definition
    if "Fn::Join" not in definition:
        raise ValueError(f"unexpected DefinitionString: {definition}")
    delimiter, parts = definition["Fn::Join"]
    return str(delimiter).join(_resolve(part, template, arn_for) for part in parts)


def synthesized_definitions(
    template: dict[str, Any], arn_for: Callable[[str], str] = fake_function_arn
) -> dict[str, dict[str, Any]]:
    """Cadence name -> the ASL document CDK deploys for it, as plain JSON.

    `template` is the synthesized CloudFormation template (a dict); Lambda ARNs in the
    definition become `arn_for(<function logical id>)` (default: a fake ARN naming it).
    """
    definitions: dict[str, dict[str, Any]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"].get("Tags", [])}
        definitions[tags[CADENCE_TAG]] = json.loads(definition_string(resource, template, arn_for))
    return definitions
