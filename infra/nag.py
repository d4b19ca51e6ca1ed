"""cdk-nag acknowledgments: every one names the finding and says why it is acceptable.

`recorded_acknowledgments()` turns acknowledging into recording, so a test can
synthesize without them and check that each acknowledgment matches a real
finding (no stale acknowledgment hides a future one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct


@dataclass(frozen=True)
class Acknowledged:
    path: str  # construct path of the scope
    finding: str
    reason: str


_recording: list[list[Acknowledged]] = []


@contextmanager
def recorded_acknowledgments() -> Iterator[list[Acknowledged]]:
    """Within this block, acknowledgments are only recorded (into the yielded list), not applied."""
    acknowledged: list[Acknowledged] = []
    _recording.append(acknowledged)
    try:
        yield acknowledged
    finally:
        _recording.remove(acknowledged)


def acknowledge(scope: IConstruct, reason: str, *findings: str) -> None:
    """Acknowledge cdk-nag findings (`AwsSolutions-XX`, `AwsSolutions-IAM5[Resource::...]`) on a scope."""
    if not findings or not reason.strip():
        raise ValueError("name at least one finding, with a reason")
    if _recording:
        _recording[-1].extend(Acknowledged(scope.node.path, finding, reason) for finding in findings)
        return
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding in findings)
    )


def acknowledge_grant(grantee: iam.IGrantable, reason: str, *findings: str) -> None:
    """Acknowledge findings on the policy a grant wrote: on the grantee's principal (its role)."""
    principal = grantee.grant_principal
    if not Construct.is_construct(principal):
        raise TypeError(f"cannot acknowledge findings on {principal}: not a construct")
    acknowledge(principal, reason, *findings)  # type: ignore[arg-type]


def flatten_reference(scope: IConstruct, value: Any) -> str:
    """A (token) string as cdk-nag spells it in finding ids, e.g. `<Logical.Arn>/index/*`.

    A port of cdk-nag's flattenCfnReference, applied to the resolved CloudFormation value.
    """

    def visit(node: Any) -> str:
        if node is None:
            return ""
        if isinstance(node, str):
            return node.replace("${", "<").replace("}", ">")
        if isinstance(node, dict) and "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(visit(item) for item in items)
        if isinstance(node, dict) and "Fn::Sub" in node:
            return visit(node["Fn::Sub"])
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{visit(resource)}.{visit(attribute)}>"
        if isinstance(node, dict) and "Fn::ImportValue" in node:
            return visit(node["Fn::ImportValue"])
        if isinstance(node, dict) and "Ref" in node:
            return f"<{visit(node['Ref'])}>"
        return json.dumps(node, separators=(",", ":"))

    return visit(cdk.Stack.of(scope).resolve(value))


def wildcard_resource(scope: IConstruct, arn: str) -> str:
    """The cdk-nag IAM5 finding id for a wildcard resource ARN."""
    return f"AwsSolutions-IAM5[Resource::{flatten_reference(scope, arn)}]"
