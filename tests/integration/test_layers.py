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


def test_a_domain_module_importing_a_service_breaks_the_layers(tmp_path: Path) -> None:
    # Given the package with one deliberately wrong import: the domain reaching up to services
    folder = _copy_with_config(tmp_path)
    values = folder / "healthscore" / "domain" / "values.py"
    values.write_text(values.read_text() + "\nimport healthscore.services.analytics  # wrong\n")
    # When import-linter checks it
    run = lint_imports(folder, folder)
    # Then the layers contract is broken, naming the import
    assert run.returncode != 0
    assert "BROKEN" in run.stdout
    assert "healthscore.domain.values -> healthscore.services.analytics" in run.stdout


def test_an_adapter_importing_boto3_is_fine_but_the_domain_may_not(tmp_path: Path) -> None:
    folder = _copy_with_config(tmp_path)
    conditions = folder / "healthscore" / "domain" / "conditions.py"
    conditions.write_text(conditions.read_text() + "\nimport boto3  # wrong: I/O in the domain\n")
    run = lint_imports(folder, folder)
    assert run.returncode != 0
    assert "the domain does no I/O" in run.stdout
    assert "healthscore.domain.conditions -> boto3" in run.stdout
