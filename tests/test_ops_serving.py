"""The serving copy: the final asset publishes every marts and ref table to <output>/serving/marts.duckdb
with an atomic swap; a reader holding the old file open keeps reading the complete old version while
a new version is published, and new connections see the new one."""
import shutil
import threading

import duckdb

from pipelines.serving import SERVING_SCHEMAS, publish, serving_path, table_fingerprints


def fingerprint(path, **kwargs) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return table_fingerprints(con, SERVING_SCHEMAS, **kwargs)
    finally:
        con.close()


def test_session_run_published_every_mart_and_ref_table(pipeline_run):
    served = serving_path(pipeline_run.output)
    assert served.exists() and not served.with_name(served.name + ".wal").exists()
    assert fingerprint(served) == fingerprint(pipeline_run.database)
    assert {"marts.segment_roi", "marts.customer_segments", "ref.regions"} <= set(fingerprint(served))
    con = duckdb.connect(str(served), read_only=True)
    try:
        comment = con.execute("select comment from duckdb_tables() where table_name = 'segment_roi'").fetchall()[0][0]
    finally:
        con.close()
    assert comment  # documentation travels with the copy


def test_reader_keeps_the_complete_old_version_during_a_publish(pipeline_run, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, database)
    target = serving_path(tmp_path)
    writer = duckdb.connect(str(database))
    old = publish(writer, target)

    reader = duckdb.connect(str(target), read_only=True)  # an analyst's open session
    assert table_fingerprints(reader, SERVING_SCHEMAS) == old

    # The next run changes the marts; publish it while the analyst keeps querying.
    writer.execute("delete from marts.segment_roi where segmentation = 'rfm'")
    writer.execute("create table marts.new_mart as select 1 as x")
    seen, errors = [], []
    done = threading.Event()

    def query_until_done():
        try:
            while not done.is_set():
                seen.append(table_fingerprints(reader.cursor(), SERVING_SCHEMAS))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    thread = threading.Thread(target=query_until_done)
    thread.start()
    try:
        new = publish(writer, target)
    finally:
        done.set()
        thread.join(60)
    writer.close()
    assert not errors and seen
    assert all(version == old for version in seen)
    assert table_fingerprints(reader, SERVING_SCHEMAS) == old  # still the old, complete version
    reader.close()

    assert new != old and "marts.new_mart" in new
    assert new["marts.segment_roi"][0] < old["marts.segment_roi"][0]
    assert fingerprint(target) == new  # a new connection sees the new version
    assert sorted(p.name for p in target.parent.iterdir()) == ["serving.duckdb"]  # no partial copies left


def test_a_failed_publish_leaves_the_previous_copy(pipeline_run, tmp_path, monkeypatch):
    """A publish that fails after copying (here: the copy's verification) leaves the previous serving
    file in place and no partial file behind."""
    import pipelines.serving as serving

    database = tmp_path / "warehouse.duckdb"
    shutil.copy(pipeline_run.database, database)
    target = serving_path(tmp_path)
    writer = duckdb.connect(str(database))
    try:
        old = publish(writer, target)
        writer.execute("create table marts.zz_new as select 1 as x")
        original = serving.table_fingerprints

        def failing(con, schemas=("marts",), database=None):
            if database:
                raise OSError("No space left on device")
            return original(con, schemas, database)

        monkeypatch.setattr(serving, "table_fingerprints", failing)
        try:
            publish(writer, target)
        except OSError as error:
            assert "No space left" in str(error)
        else:
            raise AssertionError("publish should have failed")
        assert "serving_next" not in {r[0] for r in writer.execute("select database_name from duckdb_databases()").fetchall()}
    finally:
        writer.close()
    assert fingerprint(target) == old
    assert sorted(p.name for p in target.parent.iterdir()) == ["serving.duckdb"]
