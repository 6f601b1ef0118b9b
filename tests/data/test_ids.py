"""One id-hashing function for reports and exports; the salt is never empty."""

from __future__ import annotations

import pandas as pd
import pytest

from ltvlab.data.ids import SALT_ENV, hash_ids, project_salt
from ltvlab.errors import LtvlabError
from ltvlab.ltv import hash_ids as ltv_hash_ids
from ltvlab.reports import hash_ids as report_hash_ids


def test_reports_and_exports_give_the_same_hash() -> None:
    # before: reports gave 'id-' + 12 hex digits, exports 64 hex digits: the outputs did not join
    ids = pd.Series(["C1", "张伟", "007"], name="customer_id")
    assert report_hash_ids(ids, salt="s").tolist() == ltv_hash_ids(ids, salt="s").tolist()
    assert report_hash_ids(ids, salt="s").tolist() == hash_ids(ids, salt="s").tolist()


def test_an_empty_salt_file_is_refused(tmp_path, monkeypatch) -> None:
    # before: ltvlab.reports read the empty file as the salt "" and hashed without a salt
    monkeypatch.delenv(SALT_ENV, raising=False)
    monkeypatch.setattr("ltvlab.data.ids.processed_data_dir", lambda: tmp_path)
    (tmp_path / "id_salt").write_text("")
    with pytest.raises(LtvlabError, match="is empty"):
        report_hash_ids(pd.Series(["a"]))


def test_the_salt_is_created_whole_once(tmp_path) -> None:
    path = tmp_path / "sub" / "id_salt"
    first = project_salt(path)
    assert len(first) == 32 and project_salt(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["id_salt"]  # no temporary file left behind


def test_an_unreadable_salt_is_a_message(tmp_path) -> None:
    path = tmp_path / "id_salt"
    path.mkdir()  # a folder where the file should be
    with pytest.raises(LtvlabError, match="cannot be read"):
        project_salt(path)
