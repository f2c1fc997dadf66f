"""The landing contract is the one place the code reads; docs are generated from it and site-specific
column names are a config change, not a code change."""
import csv
from pathlib import Path

import duckdb
import pytest

from assets.ingest.landing import load_csv
from pipelines.contract import REPO_ROOT, LandingFileError, load_contract
from pipelines.contract_doc import render
from pipelines.resources import read_sql


def test_generated_doc_is_up_to_date():
    assert (REPO_ROOT / "docs" / "LANDING_CONTRACT.md").read_text() == render(), "run `make docs`"


def test_generator_writes_exactly_the_contract_headers(generated):
    landing, _ = generated
    for source in load_contract().values():
        if source.format != "csv":
            continue
        files = sorted(landing.glob(source.file))
        assert files, source.name
        for path in files:
            with open(path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f))
            assert header == [c.export_name for c in source.columns], path


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("raw", "quality"):
        con.execute(f"create schema {schema}")
    con.execute(read_sql("quality/tables.sql"))
    return con


def _rewrite_header(src: Path, dst: Path, renames: dict[str, str]) -> None:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    lines[0] = ",".join(f'"{renames.get(h, h)}"' for h in header) + "\n"
    dst.write_text("".join(lines), encoding="utf-8")


def test_a_column_mapping_file_adapts_other_export_names(generated, tmp_path):
    landing, _ = generated
    renamed = tmp_path / "crm_contacts.csv"
    _rewrite_header(landing / "crm_contacts.csv", renamed, {"Record ID": "Contact ID", "Email": "E-mail"})
    mapping = tmp_path / "column_mapping.yaml"
    mapping.write_text("crm_contacts:\n  contact_id: 'Contact ID'\n  email: 'E-mail'\n")

    con = _warehouse()
    with pytest.raises(LandingFileError, match=r"missing required column.*'Record ID'.*column_mapping"):
        load_csv(con, load_contract()["crm_contacts"], renamed, "test")
    stats = load_csv(con, load_contract(mapping)["crm_contacts"], renamed, "test")
    original = load_csv(_warehouse(), load_contract()["crm_contacts"], landing / "crm_contacts.csv", "test")
    assert stats.raw_rows == original.raw_rows > 0
    assert con.execute("select count(email) from raw.crm_contacts").fetchall()[0][0] > 0


def test_mapping_a_column_the_contract_does_not_have_is_an_error(tmp_path):
    mapping = tmp_path / "column_mapping.yaml"
    mapping.write_text("crm_contacts:\n  favourite_colour: 'Colour'\n")
    with pytest.raises(LandingFileError, match="favourite_colour"):
        load_contract(mapping)


def test_new_columns_are_kept_and_missing_optional_columns_reported(generated, tmp_path):
    landing, _ = generated
    src = (landing / "campaigns.csv").read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([src[0]]))
    drop = header.index("Objective")
    rows = [next(csv.reader([line])) for line in src]
    out = tmp_path / "campaigns.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for i, row in enumerate(rows):
            kept = [v for j, v in enumerate(row) if j != drop]
            writer.writerow(kept + (["Budget Owner"] if i == 0 else ["team-a"]))
    con = _warehouse()
    stats = load_csv(con, load_contract()["campaigns"], out, "test")
    assert stats.missing_optional == ("objective",)
    assert stats.extra_columns == ("Budget Owner",)
    owners = con.execute("select distinct _extra ->> 'Budget Owner' from raw.campaigns").fetchall()
    assert owners == [("team-a",)]
