"""The layer contracts of pyproject.toml ([tool.importlinter]), as `make lint` runs them: the real tree keeps them,
and an import planted in a copy of the tree breaks them — an upward import, one under ``if TYPE_CHECKING:``, a
service importing a sibling, the wire layer importing the composition root, a top-level module in no layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path, *, src: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on `project`'s pyproject.toml, importing `pipework` from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_the_layers() -> None:
    result = lint_imports(ROOT, src=ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


TYPE_CHECKING_IMPORT = """
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from {module} import {name}
"""

PLANTED = {
    "store-imports-engine": (
        "store/planted.py",
        "from pipework.engine.dispatcher import Dispatcher\n",
        "Layers point downwards",
    ),
    "connectors-import-services-for-types-only": (
        "connectors/planted.py",
        TYPE_CHECKING_IMPORT.format(module="pipework.services.events", name="EventBridge"),
        "Layers point downwards",
    ),
    "api-imports-the-composition-root": (
        "api/planted.py",
        TYPE_CHECKING_IMPORT.format(module="pipework.app", name="Pipework"),
        "Layers point downwards",
    ),
    "engine-imports-a-service": (
        "engine/planted.py",
        "def later():\n    from pipework.services.events.api import EventsService\n\n    return EventsService\n",
        "Layers point downwards",
    ),
    "models-import-the-wire-layer": (
        "models/planted.py",
        "import pipework.api.protocols\n",
        "Layers point downwards",
    ),
    "a-service-imports-a-sibling": (
        "services/events/planted.py",
        "from pipework.services.scheduler import Scheduler\n",
        "Service packages are independent",
    ),
    "a-service-imports-dynamodb": (
        "services/pipes/planted.py",
        "from pipework.services.dynamodb.model import TABLE\n",
        "Only DynamoDB Streams imports DynamoDB",
    ),
    "a-top-level-module-in-no-layer": (
        "planted.py",
        '"""A new top-level module."""\n',
        "Layers point downwards",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_planted_import_breaks_a_contract(case: str, tmp_path: Path) -> None:
    path, code, contract = PLANTED[case]
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    package = tmp_path / "src" / "pipework"
    shutil.copytree(ROOT / "src" / "pipework", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / path).write_text(code)

    result = lint_imports(tmp_path, src=tmp_path / "src")

    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout
    planted = "pipework." + path.removesuffix(".py").replace("/", ".")
    assert planted in result.stdout, result.stdout
