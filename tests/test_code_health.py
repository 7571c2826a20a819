"""The code stays healthy: the layering holds (import-linter), ruff passes, mypy passes on the driver
contract and the operations engine. Configuration: pyproject.toml ([tool.importlinter],
[tool.ruff], [tool.mypy]). Each tool runs as the developer would run it, from the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str, timeout: float = 600) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def test_layers_api_core_ops_store_drivers_nothing_imports_upward():
    _run(str(BIN / "lint-imports"), "--no-cache")


def test_ruff():
    _run(str(BIN / "ruff"), "check", "--no-cache", "overcast", "tests", "benchmarks")


def test_mypy_on_drivers_and_ops():
    _run(str(BIN / "mypy"))


def test_test_modules_have_unique_names():
    """Test directories are not packages, so pytest imports each module by its file name: two of one
    name (tests/compute/test_regions.py and tests/network/test_regions.py once) cannot be collected
    together, and CI stops at collection."""
    seen: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        package = path.parent
        while (package / "__init__.py").exists():  # a module in a package is named by its package path
            package = package.parent
        name = ".".join(path.relative_to(package).with_suffix("").parts)
        seen.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
