"""Every warehouse connection bounds DuckDB's memory and spills to a temp directory by default (its own
default is 80% of RAM); the environment overrides both."""
from pipelines.resources import Warehouse


def settings(warehouse: Warehouse) -> tuple[str, str]:
    with warehouse.connect() as con:
        return con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]


def test_memory_limit_and_temp_directory_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("SEG_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("SEG_DUCKDB_TEMP_DIR", raising=False)
    limit, temp = settings(Warehouse(database=str(tmp_path / "w.duckdb")))
    assert limit == "5.5 GiB"  # 6 GB
    assert temp == str(tmp_path / "duckdb_tmp")


def test_environment_overrides_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("SEG_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    limit, temp = settings(Warehouse(database=str(tmp_path / "w.duckdb")))
    assert limit == "953.6 MiB" and temp == str(tmp_path / "spill")
