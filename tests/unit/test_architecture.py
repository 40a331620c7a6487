"""The layers hold: import-linter's contracts (pyproject.toml, [tool.importlinter]) pass, every module
of talking is named in them, and they fail when a wrong import is added."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import talking

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the pyproject.toml in ``cwd``; imports resolve from ``pythonpath`` first."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    command = [str(LINT_IMPORTS) if LINT_IMPORTS.exists() else shutil.which("lint-imports") or "lint-imports"]
    # --no-cache: a cache shared with the real tree must never answer for the copy.
    return subprocess.run([*command, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def contracts() -> list[dict[str, object]]:
    """The import-linter contracts as configured."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_the_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_module_of_talking_is_named_in_a_contract() -> None:
    """A new feature folder (or shared module) must join the contracts, or nothing holds its imports."""
    named: set[str] = set()
    for contract in contracts():
        for key in ("source_modules", "forbidden_modules"):
            named.update(str(module) for module in contract.get(key, []))  # type: ignore[attr-defined]
    top_level = {f"talking.{info.name}" for info in pkgutil.iter_modules(talking.__path__)} - {"talking.__main__"}
    missing = sorted(module for module in top_level if module not in named)
    assert not missing, f"{missing} are in no import-linter contract: see pyproject.toml, [tool.importlinter]"


def test_a_wrong_import_breaks_the_contracts(tmp_path: Path) -> None:
    """The residents' services importing the analysts' pages: the check must say no, and say where."""
    shutil.copytree(ROOT / "src" / "talking", tmp_path / "src" / "talking", ignore=shutil.ignore_patterns("static"))
    shutil.copytree(ROOT / "analysis", tmp_path / "analysis")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    services = tmp_path / "src" / "talking" / "surveys" / "services.py"
    services.write_text(services.read_text() + "\nfrom talking.reports import pages  # noqa: E402\n")

    result = lint_imports(tmp_path, [tmp_path / "src", tmp_path])

    assert result.returncode != 0, result.stdout
    assert "Residents' surveys import no other feature BROKEN" in result.stdout
    assert "talking.surveys.services -> talking.reports.pages" in result.stdout
