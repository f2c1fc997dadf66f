"""Benchmark: the same 9 checks through GX 1.x (quality.gx_runner, SQL pushed down to DuckDB)
and as one plain DuckDB query (count(*) FILTER per check).

    .venv/bin/python bench/gx_vs_sql.py [--rows 10000000] [--repeat 2]

Prints the time of each method and the GX/SQL ratio. GX import time is measured apart; the Dagster
process pays it once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
COUNTRIES = ["US", "DE", "FR", "GB", "NL", "ES", "IT", "SE"]

GENERATE = f"""
CREATE TABLE events AS
SELECT
    i AS id,
    CASE WHEN i % 100003 = 0 THEN NULL
         WHEN i % 50021 = 0 THEN 'broken-email-' || i
         ELSE 'user' || i || '@example.com' END AS email,
    CASE WHEN i % 70001 = 0 THEN NULL
         WHEN i % 90001 = 0 THEN -1.0
         ELSE round((hash(i) % 100000) / 100.0, 2) END::DOUBLE AS amount,
    CASE WHEN i % 80021 = 0 THEN 'XX'
         ELSE {COUNTRIES!r}[1 + (i % {len(COUNTRIES)})] END AS country,
    DATE '2021-01-01' + CAST(i % 1500 AS INTEGER) AS signup_date
FROM range(?) t(i)
"""

SQL_CHECKS = f"""
SELECT
    count(*)                                                        AS row_count,
    count(*) FILTER (WHERE id IS NULL)                              AS id_null,
    count(*) - count(DISTINCT id)                                   AS id_duplicates,
    count(*) FILTER (WHERE email IS NULL)                           AS email_null,
    count(*) FILTER (WHERE NOT regexp_matches(email, '{EMAIL_RE}')) AS email_bad,
    count(*) FILTER (WHERE country NOT IN ({", ".join(repr(c) for c in COUNTRIES)})) AS country_bad,
    count(*) FILTER (WHERE amount IS NULL)                          AS amount_null,
    count(*) FILTER (WHERE amount < 0 OR amount > 1000)             AS amount_out_of_range,
    count(*) FILTER (WHERE signup_date < DATE '2021-01-01' OR signup_date > DATE '2025-12-31') AS date_bad
FROM events
"""


def gx_expectations(unique: str = "proportion"):
    """The 9 checks. ``unique``: how the key's uniqueness is expressed in GX.

    * "values": ExpectColumnValuesToBeUnique, a per-value count pass (group by id having count > 1)
      plus another pass for the unexpected sample: about 4x the SQL time at 10M rows.
    * "proportion": ExpectColumnProportionOfUniqueValuesToBeBetween(min_value=1), one
      count(distinct id) aggregate, the same work as the SQL version (``count(*) - count(DISTINCT id)``).
      This is what quality/suites uses for single-column keys.
    """
    import great_expectations as gx

    E = gx.expectations
    uniqueness = (
        E.ExpectColumnValuesToBeUnique(column="id")
        if unique == "values"
        else E.ExpectColumnProportionOfUniqueValuesToBeBetween(column="id", min_value=1)
    )
    return [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="id"),
        uniqueness,
        E.ExpectColumnValuesToNotBeNull(column="email", mostly=0.99),
        E.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_RE, mostly=0.99),
        E.ExpectColumnValuesToBeInSet(column="country", value_set=COUNTRIES),
        E.ExpectColumnValuesToNotBeNull(column="amount", mostly=0.99),
        E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=1000),
        E.ExpectColumnValuesToBeBetween(
            column="signup_date", min_value="2021-01-01", max_value="2025-12-31"
        ),
    ]


def timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="best of N")
    ap.add_argument("--formats", default="SUMMARY,BASIC,BOOLEAN_ONLY")
    ap.add_argument("--unique", default="proportion,values", help="uniqueness expectation(s): proportion, values")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        t = time.perf_counter()
        con = duckdb.connect(db)
        con.execute(GENERATE, [args.rows])
        con.close()
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f}s")

        def plain_sql():
            c = duckdb.connect(db)
            try:
                cur = c.execute(SQL_CHECKS)
                cols = [d[0] for d in cur.description]
                return dict(zip(cols, cur.fetchall()[0], strict=True))
            finally:
                c.close()

        sql_s, sql_counts = timed(plain_sql, args.repeat)
        print(f"plain DuckDB SQL (1 query, 9 checks): {sql_s:.2f}s  {sql_counts}")

        t = time.perf_counter()
        import great_expectations  # noqa: F401

        from quality import gx_duckdb
        from quality.gx_runner import validate_table

        gx_duckdb.apply()
        print(f"import great_expectations + compat: {time.perf_counter() - t:.2f}s (once per process)")

        for unique, fmt in [(u, f) for u in args.unique.split(",") for f in args.formats.split(",")]:
            exps = gx_expectations(unique)
            gx_s, res = timed(
                lambda fmt=fmt, exps=exps: validate_table(db, "events", exps, f"bench_{fmt}", None, fmt),
                args.repeat,
            )
            # re-measure SQL right after (machine load drifts): the ratio uses the best SQL time so far
            sql_s = min(sql_s, timed(plain_sql, args.repeat)[0])
            counts = {
                f"{r.expectation_type.removeprefix('expect_')}({','.join(r.columns)})": r.unexpected_count
                for r in res.results
                if r.unexpected_count is not None
            }
            errors = [r.exception for r in res.results if r.exception]
            print(
                f"GX unique={unique:<10} {fmt:<12}: {gx_s:.2f}s  SQL {sql_s:.2f}s  ratio GX/SQL = {gx_s / sql_s:.2f}x"
                f"  success={res.success} errors={errors or 'none'}"
            )
            print(f"   unexpected counts: {counts}")


if __name__ == "__main__":
    main()
