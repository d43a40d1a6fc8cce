"""Notebooks are committed stripped: no outputs, no execution counts, no saved widget state.

(`pytest` also *executes* every notebook: nbval collects notebooks/*.ipynb, see pyproject.toml.)
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_problems(path: Path) -> list[str]:
    """What is saved in ``path`` that a stripped notebook must not carry."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"cannot be read as JSON: {e}"]
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append("saved widget state (metadata.widgets)")
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i}: saved outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: execution count {cell['execution_count']}")
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") not in ("python3", None):
        problems.append(f"kernelspec {nb['metadata']['kernelspec'].get('name')!r} (use python3)")
    return problems


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    problems = notebook_problems(path)
    assert not problems, f"{path.name} is not stripped (run `nbstripout {path}`): {'; '.join(problems)}"


def test_checker_catches_outputs_counts_and_widget_state(tmp_path):
    clean = json.loads(NOTEBOOKS[0].read_text())
    dirty = json.loads(json.dumps(clean))
    code = next(c for c in dirty["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    code["execution_count"] = 3
    dirty["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    p = tmp_path / "dirty.ipynb"
    p.write_text(json.dumps(dirty))
    found = notebook_problems(p)
    assert any("outputs" in f for f in found) and any("execution count" in f for f in found)
    assert any("widget state" in f for f in found)
    q = tmp_path / "clean.ipynb"
    q.write_text(json.dumps(clean))
    assert notebook_problems(q) == []


def test_front_page_links_every_lab():
    from lwnlab import LABS

    text = (ROOT / "notebooks" / "00_start_here.ipynb").read_text()
    for lab in LABS[1:]:
        for nb in lab.notebooks:
            assert f"({nb})" in text, f"00_start_here does not link {nb}"
