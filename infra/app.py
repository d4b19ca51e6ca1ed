"""The CDK app: `npx cdk synth` runs `python -m infra.app` (cdk.json); tests call build_app().

Builds no dependencies and makes no network calls: `make layers` builds the deps
layer first (this fails with a clear message when it is missing or stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag

from infra import layers, preflight
from infra.config import LeadflowConfig
from infra.runtime import REPO_ROOT
from infra.stack import LeadflowStack
from leadflow.cadence.model import load_cadences
from leadflow.operator_config import load_operator_config
from leadflow.send import lint

CADENCE_DIR = REPO_ROOT / "cadences"
TEMPLATE_DIR = REPO_ROOT / "templates"
CONFIG_FILE = REPO_ROOT / "config" / "leadflow.yaml"


def build_app(*, outdir: str | Path | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    # Templates that break the message rules fail the synth, before anything is built.
    lint.ensure_clean(CADENCE_DIR, TEMPLATE_DIR, layers.CONFIG_SOURCE / "leadflow.yaml")
    app = cdk.App(outdir=str(outdir) if outdir else None, context=context)
    config = LeadflowConfig.from_context(app.node)
    operator = load_operator_config(CONFIG_FILE)
    # What cannot work fails here, naming it: an uncovered sending address, a placeholder.
    preflight.refuse(config, operator)
    LeadflowStack(
        app,
        config.stack_name,
        description="leadflow: multi-touch lead follow-up that stops when the lead answers.",
        config=config,
        operator=operator,
        # A broken cadence file fails the synth here, naming the file, the touch and the field.
        cadences=load_cadences(CADENCE_DIR),
        # The operator configuration file also ships in the layer: one source for the function and this.
        report_schedule=load_operator_config(layers.CONFIG_SOURCE / "leadflow.yaml").report.schedule,
        package_layer_dir=layers.stage_package_layer(),
        deps_layer_dir=layers.deps_layer_dir(),
    )
    # cdk-nag 3: findings fail the synth unless acknowledged (with a reason) on the construct.
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
