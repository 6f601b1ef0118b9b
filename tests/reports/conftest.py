"""Tiny notebooks written into a temporary folder, so runner tests execute in seconds; and one session-wide run
of the real report batch (``suite``), shared by the notebook tests and the browser test."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(
    folder: Path, name: str, params: dict, body: list[str], *, schema: dict | None = None
) -> Path:
    """Write ``folder/name.ipynb`` (tagged parameters cell + ``body`` cells) and its sidecar schema.

    ``params`` maps name -> (type, default) for the schema; the parameters cell holds the defaults.
    """
    param_src = "\n".join(f"{k} = {default!r}" for k, (_, default) in params.items())
    cells = [new_markdown_cell(f"# {name}"), new_code_cell(param_src), *(new_code_cell(src) for src in body)]
    cells[1].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    sidecar = schema or {
        "title": name.replace("_", " ").title(),
        "parameters": {k: {"type": t, "default": d} for k, (t, d) in params.items()},
    }
    path.with_name(f"{name}.params.yml").write_text(
        yaml.safe_dump(sidecar, sort_keys=False), encoding="utf-8"
    )
    return path


def write_config(folder: Path, runs: list[dict], **top: object) -> Path:
    path = folder / "batch.yml"
    path.write_text(
        yaml.safe_dump({"output_dir": "out", **top, "runs": runs}, sort_keys=False), encoding="utf-8"
    )
    return path


@pytest.fixture
def nb_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


LABEL_BODY = [
    "import matplotlib.pyplot as plt\nimport pandas as pd\nfrom IPython.display import Markdown, display\n"
    "from ltvlab.reports import use_style\nuse_style()",
    'frame = pd.DataFrame({"segment": [label, "other"], "customers": [3, 5]})\ndisplay(frame)\ndisplay(frame.style)\n'
    'display(Markdown(f"largest segment: **{label}**"))',
    'fig, ax = plt.subplots()\nax.bar(frame["segment"], frame["customers"])\n'
    'ax.set(xlabel="segment", ylabel="customers (count)", title="customers per segment")\nplt.show()',
]


def write_label_notebook(folder: Path) -> Path:
    """A notebook that shows a user-given segment label in a table, a styled table, Markdown and a plot."""
    return write_notebook(folder, "labels", {"label": ("str", "north")}, LABEL_BODY)


def run_cli(args: list[str]):
    from click.testing import CliRunner

    from ltvlab.cli import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)


SCRIPT_LABEL = "<script>alert(1)</script>"
GATE_FAILS = "ltv-gate-fails"
USER_FILE = "data-quality-user-file"


def _user_file(root: Path) -> Path:
    data = root / "shop.csv"
    lines = ["cust,when,value,region"]
    for i in range(40):
        cust = f"SECRET-CUSTOMER-{i % 12:04d}"
        region = SCRIPT_LABEL if i % 3 == 0 else "north"
        lines.append(f"{cust},1997-{1 + i % 12:02d}-{1 + i % 27:02d},{10 + i}.50,{region}")
    lines.append("SECRET-CUSTOMER-0001,not a date,12.00,north")  # one bad row -> quarantine
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    """The default batch (reports.yml) with each notebook's smallest ("test") parameters under the batch's own,
    plus a data-quality run on a user file and an LTV run whose NUTS fit is far too short to pass its gate.

    Runs once per test session (about 1.5 minutes on 2 cores)."""
    from ltvlab.paths import project_root
    from ltvlab.reports import config_from_mapping, load_schema, run_batch

    root = tmp_path_factory.mktemp("suite")
    default = yaml.safe_load((project_root() / "reports.yml").read_text(encoding="utf-8"))
    runs = []
    for entry in default["runs"]:
        notebook = project_root() / entry["notebook"]
        overrides = dict(load_schema(notebook).test_overrides)
        runs.append({"name": entry["name"], "notebook": str(notebook),
                     "parameters": {**overrides, **(entry.get("parameters") or {})}})  # fmt: skip
    runs.append(
        {
            "name": USER_FILE,
            "notebook": str(project_root() / "notebooks" / "00_data_quality.ipynb"),
            "parameters": {
                "data_file": str(_user_file(root)),
                "customer_col": "cust",
                "date_col": "when",
                "amount_col": "value",
                "date_format": "%Y-%m-%d",
                "segment_col": "region",
                "max_bad_share": 0.1,
                "calibration_end": "1997-06-30",
                "holdout_end": "1997-12-31",
            },
        }
    )
    # 2 chains x 20 draws cannot reach the gate's bulk/tail ESS >= 400: a fit that fails its diagnostics
    runs.append(
        {
            "name": GATE_FAILS,
            "notebook": str(project_root() / "notebooks" / "10_ltv.ipynb"),
            "parameters": {
                "method": "nuts",
                "draws": 20,
                "spend_draws": 20,
                "comparison_draws": 20,
                "comparison_tune": 20,
                "chains": 2,
                "derive_segment": None,
            },
        }
    )
    config = config_from_mapping({"output_dir": str(root / "out"), "runs": runs}, base_dir=root)
    return run_batch(config, jobs=2, force=True, progress=False)
