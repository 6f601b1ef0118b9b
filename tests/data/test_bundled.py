import shutil

import pytest

from ltvlab.data import DATASETS, file_sha256, load_dataset, verified_path
from ltvlab.errors import DataValidationError
from tests.reference import hillstrom as ref


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_bundled_checksums_match(name: str) -> None:
    assert file_sha256(verified_path(name)) == DATASETS[name].sha256


def test_tampered_file_is_refused(tmp_path, monkeypatch) -> None:
    ext = tmp_path / "data" / "external"
    shutil.copytree(verified_path("cdnow-sample").parents[1], ext)
    (tmp_path / "pyproject.toml").write_text("")
    target = ext / DATASETS["cdnow-sample"].relative_path
    target.chmod(0o644)
    with open(target, "a") as handle:
        handle.write(" 99999 9999 19970101 1 1.00\n")
    monkeypatch.setenv("LTVLAB_ROOT", str(tmp_path))
    with pytest.raises(DataValidationError, match="sha256"):
        load_dataset("cdnow-sample")


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(DataValidationError, match="cdnow-sample"):
        load_dataset("cdnow")


def test_loaded_shapes(hillstrom) -> None:
    assert len(load_dataset("cdnow-sample")) == 6919
    assert len(load_dataset("cdnow-master")) == 69659
    assert len(hillstrom) == 64000
    assert hillstrom["segment"].value_counts().to_dict() == {k: v["n"] for k, v in ref.ARMS.items()}
    assert hillstrom["unit_id"].is_unique
