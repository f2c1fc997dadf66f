"""Every marts table and each of its columns carries a DuckDB COMMENT (grain, formula, unit, source)."""

#: marts tables owned by the ROI / report / exports stage: these must be fully documented.
ROI_TABLES = {"order_attribution", "segment_spend_allocation", "segment_roi", "segment_channel_roi",
              "segment_campaign_performance", "ab_outcomes", "ab_test_results", "audience", "audience_exports",
              "segment_report"}


def undocumented(pipeline_run) -> dict[str, list[str]]:
    """marts table -> what lacks a comment ('<table>' for the table itself, else column names)."""
    tables = pipeline_run.query(
        "select table_name, comment from duckdb_tables() where schema_name = 'marts' order by table_name")
    columns = pipeline_run.query(
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts'"
        " and (comment is null or trim(comment) = '') order by table_name, column_index")
    missing: dict[str, list[str]] = {}
    for table, comment in tables:
        if not comment or not comment.strip():
            missing.setdefault(table, []).append("<table>")
    for table, column in columns:
        missing.setdefault(table, []).append(column)
    return missing


def test_roi_marts_and_all_their_columns_are_commented(pipeline_run):
    present = {t for (t,) in pipeline_run.query("select table_name from duckdb_tables() where schema_name = 'marts'")}
    assert ROI_TABLES <= present, ROI_TABLES - present
    missing = {t: cols for t, cols in undocumented(pipeline_run).items() if t in ROI_TABLES}
    assert not missing, f"undocumented ROI marts: {missing}"


def test_table_comments_state_the_grain(pipeline_run):
    comments = dict(pipeline_run.query("select table_name, comment from duckdb_tables() where schema_name = 'marts'"))
    for table in ROI_TABLES:
        assert "grain" in comments[table].lower(), table


def test_every_marts_table_and_column_is_commented(pipeline_run):
    missing = undocumented(pipeline_run)
    assert not missing, "marts without COMMENTs: " + "; ".join(f"{t}: {', '.join(c)}" for t, c in missing.items())
