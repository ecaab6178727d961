"""The layers hold: import-linter's contracts (pyproject.toml, run by `make lint`) pass on the
tree, and fail when a lower layer imports a higher one."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(package_parent: Path, config_folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=config_folder,
        env={"PYTHONPATH": str(package_parent), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_with_config(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "shared" / "healthscore",
        tmp_path / "healthscore",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = [f"[importlinter]\nroot_packages =\n    {contracts['root_packages'][0]}\n"]
    lines.append("include_external_packages = True\n")
    for contract in contracts["contracts"]:
        lines.append(f"\n[importlinter:contract:{contract['id']}]\n")
        for key, value in contract.items():
            if key == "id":
                continue
            if isinstance(value, list):
                lines.append(f"{key} =\n" + "".join(f"    {v}\n" for v in value))
            else:
                lines.append(f"{key} = {value}\n")
    (tmp_path / ".importlinter").write_text("".join(lines))
    return tmp_path


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    folder = _copy_with_config(tmp_path)
    run = lint_imports(folder, folder)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def lint_with_a_wrong_import(tmp_path: Path, module: str, line: str) -> str:
    """import-linter's report on the package with `line` appended to domain/`module`.py."""
    folder = _copy_with_config(tmp_path)
    target = folder / "healthscore" / "domain" / f"{module}.py"
    target.write_text(target.read_text() + f"\n{line}  # deliberately wrong\n")
    run = lint_imports(folder, folder)
    assert run.returncode != 0, run.stdout
    return run.stdout


def test_a_domain_module_importing_a_service_breaks_the_layers(tmp_path: Path) -> None:
    # Given the domain reaching up to services, When import-linter checks the package
    report = lint_with_a_wrong_import(tmp_path, "values", "import healthscore.services.analytics")
    # Then the layers contract is broken, naming the import
    assert "BROKEN" in report
    assert "healthscore.domain.values -> healthscore.services.analytics" in report


def test_the_domain_importing_boto3_breaks_its_purity(tmp_path: Path) -> None:
    report = lint_with_a_wrong_import(tmp_path, "conditions", "import boto3")
    assert "the domain does no I/O" in report
    assert "healthscore.domain.conditions -> boto3" in report
