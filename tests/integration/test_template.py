"""template.yaml is a valid SAM template (cfn-lint runs the SAM transform too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub …) as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_template_passes_cfn_lint_with_the_sam_transform():
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint, "cfn-lint is missing: run `make test` (it installs the dev dependencies)"
    run = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_layer_is_built_from_shared_for_python312_arm64():
    template = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)
    layer = template["Resources"]["HealthscoreLayer"]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert (TEMPLATE.parent / "shared" / "requirements.txt").exists()
