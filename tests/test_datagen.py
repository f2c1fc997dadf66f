"""Tests of the synthetic demo-data generator (datagen): contract, determinism, planted truth.

The output files are re-read independently (csv module, polars, duckdb) and compared with the truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from datagen import contract, generate

AS_OF = dt.date(2025, 6, 30)
PLACEHOLDERS = {"test@test.com", "null", "", "none@none.com"}
EMAIL_RE = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
ISO_COUNTRIES = {"US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "CH", "NO", "SE", "AT", "BE", "DK", "IE"}
CSV_SOURCES = [s for s, spec in contract.load_contract().items() if spec["format"] == "csv"]


# ---------------------------------------------------------------------------------------------- helpers
def parse_ts(text: str) -> dt.datetime:
    """Independent parser of the timestamp variants the exports write; returns naive UTC."""
    t = text.strip().replace("T", " ")
    if t.endswith("Z"):
        t = t[:-1] + "+0000"
    if not re.search(r"[+-]\d\d:?\d\d$", t):
        t += "+0000"
    return dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S%z").astimezone(dt.timezone.utc).replace(tzinfo=None)


def read_csv_rows(path: Path) -> tuple[list[str], list[dict], list[int]]:
    """(header, well-formed rows as dicts, physical line numbers of ragged rows)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        good, bad = [], []
        for row in reader:
            if len(row) != len(header):
                bad.append(reader.line_num)
            else:
                good.append(dict(zip(header, row)))
    return header, good, bad


def source_rows(out: Path, source: str) -> tuple[list[str], list[dict], list[int]]:
    """read_csv_rows over the source's landed file, or over its day files in order (a daily-partitioned
    export); the ragged-row line numbers are then per file."""
    header, good, bad = [], [], []
    for path in sorted(out.glob(contract.file_name(source))):
        header, g, b = read_csv_rows(path)
        good += g
        bad += b
    return header, good, bad


def col(source: str, name: str) -> str:
    return contract.export_names(source)[name]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("datagen")
    summary = generate(root / "landing", root / "truth", customers=20_000, events_per_customer=6, seed=11,
                       as_of=AS_OF, days=365)
    truth = root / "truth"
    return {
        "out": root / "landing", "truth": truth, "summary": summary,
        "people": pl.read_parquet(truth / "people.parquet"),
        "defects": pl.read_parquet(truth / "defects.parquet"),
        "ids": pl.read_parquet(truth / "identifiers.parquet"),
        "orders": pl.read_parquet(truth / "orders.parquet"),
        "ab": pl.read_parquet(truth / "ab_effects.parquet"),
    }


def n_defects(w, source: str, cls: str) -> int:
    d = w["defects"]
    return d.filter((pl.col("source") == source) & (pl.col("defect_class") == cls)).height


# ---------------------------------------------------------------------------------------------- contract
def test_every_file_matches_the_contract(world):
    out = world["out"]
    for source in CSV_SOURCES:
        paths = sorted(out.glob(contract.file_name(source)))
        # a daily-partitioned export: one file per UTC day of the history, each with the header
        assert len(paths) == (365 if "*" in contract.file_name(source) else 1), source
        for path in paths:
            with open(path, newline="", encoding="utf-8") as fh:
                assert next(csv.reader(fh)) == list(contract.export_names(source).values()), path
    files = sorted(out.glob(contract.file_name("web_events")))
    assert len(files) == 365
    assert files[0].name == f"events_{(AS_OF - dt.timedelta(days=365)).strftime('%Y%m%d')}.parquet"
    schema = pq.read_schema(files[100])
    assert schema.names == list(contract.export_names("web_events").values())
    con = duckdb.connect()
    types = dict(con.sql(f"describe select * from read_parquet('{files[100]}')").fetchall()[i][:2]
                 for i in range(len(schema.names)))
    for c in contract.load_contract()["web_events"]["columns"]:
        assert types[c["export_name"]].replace('"', "") == c["type"].replace('"', ""), c["name"]


# ---------------------------------------------------------------------------------------------- determinism
def _small(root: Path, seed: int) -> Path:
    generate(root / "out", root / "truth", customers=1500, events_per_customer=5, seed=seed, as_of=AS_OF, days=120)
    return root


def test_deterministic_by_seed(tmp_path):
    a, b, c = _small(tmp_path / "a", 5), _small(tmp_path / "b", 5), _small(tmp_path / "c", 6)
    for source in CSV_SOURCES:
        files_a, files_b = sorted((a / "out").glob(contract.file_name(source))), sorted((b / "out").glob(contract.file_name(source)))
        assert [f.name for f in files_a] == [f.name for f in files_b] and files_a, source
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(files_a, files_b)), source
    assert (a / "out" / "crm_contacts.csv").read_bytes() != (c / "out" / "crm_contacts.csv").read_bytes()
    fa, fb = sorted((a / "out" / "web_events").iterdir()), sorted((b / "out" / "web_events").iterdir())
    assert [f.name for f in fa] == [f.name for f in fb]
    for x, y in zip(fa[::20], fb[::20]):
        assert pq.read_table(x).equals(pq.read_table(y))
    for t in ("people", "identifiers", "defects", "ab_effects", "orders"):
        assert pl.read_parquet(a / "truth" / f"{t}.parquet").equals(pl.read_parquet(b / "truth" / f"{t}.parquet")), t


# ---------------------------------------------------------------------------------------------- defects
def test_summary_counts_equal_defects_table(world):
    s = json.loads((world["truth"] / "summary.json").read_text())
    counts = dict(world["defects"].group_by("defect_class").len().iter_rows())
    assert s["defects"] == counts
    for source, c in s["sources"].items():
        if source == "web_events":
            continue
        _, good, bad = source_rows(world["out"], source)
        assert len(good) == c["rows"], source
        assert len(bad) == c["malformed_lines"], source


def test_malformed_lines_at_recorded_positions(world):
    for source in ("crm_contacts", "crm_orders"):
        _, _, bad = source_rows(world["out"], source)
        rec = world["defects"].filter((pl.col("source") == source) & pl.col("defect_class").str.starts_with("malformed"))
        assert len(bad) >= 3
        assert sorted(int(k.split(":")[1]) for k in rec["record_key"]) == bad


def test_contact_defect_counts(world):
    src = "crm_contacts"
    _, rows, _ = source_rows(world["out"], src)
    emails = [r[col(src, "email")] for r in rows]
    placeholder = sum(e in PLACEHOLDERS for e in emails)
    invalid = sum(e not in PLACEHOLDERS and not EMAIL_RE.match(e.strip().lower()) for e in emails)
    norm = Counter(e.strip().lower() for e in emails if e not in PLACEHOLDERS and EMAIL_RE.match(e.strip().lower()))
    dups = sum(n - 1 for n in norm.values())
    unknown = sum(r[col(src, "country_code")] not in ISO_COUNTRIES for r in rows)
    future = sum(parse_ts(r[col(src, "created_at")]).date() > AS_OF for r in rows)
    ages = [(AS_OF - dt.date.fromisoformat(r[col(src, "birth_date")])).days / 365.25 for r in rows
            if r[col(src, "birth_date")]]
    implausible = sum(a > 110 or a < 13 for a in ages)
    assert placeholder == n_defects(world, src, "placeholder_email") > 0
    assert invalid == n_defects(world, src, "invalid_email_syntax") > 0
    assert dups == n_defects(world, src, "duplicate_contact") > 0
    assert unknown == n_defects(world, src, "unknown_country") > 0
    assert future == n_defects(world, src, "future_date") > 0
    assert implausible == n_defects(world, src, "implausible_birth_date") > 0
    assert any(r[col(src, "company_name")] for r in rows)
    assert {r[col(src, "marketing_opt_in")] for r in rows} == {"true", "false"}


def test_order_defect_counts(world):
    src = "crm_orders"
    _, rows, _ = source_rows(world["out"], src)
    assert sum(float(r[col(src, "amount")]) < 0 for r in rows) == n_defects(world, src, "negative_amount") > 0
    assert sum(r[col(src, "currency")] not in {"USD", "EUR", "GBP"} for r in rows) == n_defects(
        world, src, "invalid_currency") > 0
    assert sum(parse_ts(r[col(src, "ordered_at")]).date() > AS_OF for r in rows) == n_defects(
        world, src, "future_date") > 0
    assert sum(r[col(src, "email")] in PLACEHOLDERS for r in rows) == n_defects(world, src, "placeholder_email") > 0


def test_survey_email_and_ab_defect_counts(world):
    out = world["out"]
    src = "survey_responses"
    _, rows, _ = source_rows(out, src)
    for item in ("value_sustainability", "value_price", "value_prestige", "interest_novelty", "lifestyle_active",
                 "lifestyle_digital"):
        n = sum(r[col(src, item)] != "" and not 1 <= int(r[col(src, item)]) <= 5 for r in rows)
        rec = world["defects"].filter((pl.col("source") == src) & (pl.col("column") == item)).height
        assert n == rec > 0, item
    assert sum(not 0 <= int(r[col(src, "nps_score")]) <= 10 for r in rows) == n_defects(world, src, "nps_out_of_range")
    con = duckdb.connect()
    camp = f"'{out / 'campaigns.csv'}'"
    n_orphan = con.sql(f"""select count(*) from read_csv('{out / 'email_events' / '*.csv'}', all_varchar=true) e
                           where "Campaign ID" not in (select "Campaign ID" from read_csv({camp}, all_varchar=true))""").fetchall()[0][0]
    assert n_orphan == n_defects(world, "email_events", "orphan_campaign") > 0
    n_unknown = con.sql(f"""select count(*) from read_csv('{out / 'ab_assignments.csv'}', all_varchar=true)
                            where "Experiment ID" not in (select "Experiment ID" from
                            read_csv('{out / 'experiments.csv'}', all_varchar=true))""").fetchall()[0][0]
    assert n_unknown == n_defects(world, "ab_assignments", "unknown_experiment") > 0


# ---------------------------------------------------------------------------------------------- time
def test_timestamps_with_offsets_parse_to_truth_instant(world):
    src = "crm_orders"
    _, rows, _ = source_rows(world["out"], src)
    truth = dict(world["orders"].select("order_id", "ordered_at_written_utc").iter_rows())
    shapes = Counter()
    for r in rows:
        text = r[col(src, "ordered_at")]
        shapes[re.sub(r"\d", "9", text)[19:]] += 1
        assert parse_ts(text) == truth[r[col(src, "order_id")]], text
    assert set(shapes) == {"Z", "+9999", "+99:99", "-99:99", ""}
    # the non-defective ones are the true order instants
    fut = set(world["defects"].filter((pl.col("source") == src) & (pl.col("defect_class") == "future_date"))["record_key"])
    ok = world["orders"].filter(~pl.col("order_id").is_in(list(fut)))
    assert (ok["ordered_at"] == ok["ordered_at_written_utc"]).all()


# ---------------------------------------------------------------------------------------------- silos / identity
def test_silo_shares_and_orphans(world):
    people, out = world["people"], world["out"]
    shares = people.group_by("silo").len().with_columns(pl.col("len") / people.height)
    planted = world["summary"]["params"]["silo_shares_planted"]
    for silo, share in shares.iter_rows():
        assert abs(share - planted[silo]) < 0.02, silo
    _, contacts, _ = read_csv_rows(out / "crm_contacts.csv")
    crm_emails = {r["Email"].strip().lower() for r in contacts}
    crm_users = {r["Website User ID"] for r in contacts if r["Website User ID"]}
    _, orders, _ = read_csv_rows(out / "crm_orders.csv")
    orphan = {r["Customer Email"].strip().lower() for r in orders if not r["Contact Record ID"]
              and r["Customer Email"] not in PLACEHOLDERS} - crm_emails
    orders_only = set(people.filter(pl.col("silo") == "orders_only")["canonical_email"])
    defected = set(world["defects"].filter(pl.col("source") == "crm_contacts")["original_value"].drop_nulls())
    assert len(orders_only - orphan) <= 0.02 * len(orders_only) + 2  # only those whose sole order had a placeholder
    assert orphan - orders_only <= defected  # other orphans: CRM people whose CRM email is broken
    _, survey, _ = read_csv_rows(out / "survey_responses.csv")
    s_emails = {r["Email Address"] for r in survey}
    survey_only = set(people.filter(pl.col("silo") == "survey_only")["canonical_email"])
    assert len(survey_only & s_emails) >= 0.95 * len(survey_only) and not survey_only & crm_emails
    con = duckdb.connect()
    web_users = {u for (u,) in con.sql(f"select distinct user_id from read_parquet('{out}/web_events/*.parquet') "
                                       "where user_id is not null").fetchall()}
    web_only = set(people.filter((pl.col("silo") == "web_only") & pl.col("in_web_logged_in"))["web_user_id"])
    assert web_users - crm_users == web_only and len(web_only) > 0
    anon = people.filter(pl.col("silo") == "anon_web")
    anon_pseudo = set(anon.explode("pseudo_ids")["pseudo_ids"].drop_nulls())
    logged = {p for (p,) in con.sql(f"select distinct user_pseudo_id from read_parquet('{out}/web_events/*.parquet') "
                                    "where user_id is not null").fetchall()}
    assert anon_pseudo and not anon_pseudo & logged


def test_identifiers_cover_every_record(world):
    out, ids = world["out"], world["ids"]
    keys = {s: set(g["record_key"]) for (s,), g in ids.group_by("source")}
    _, orders, _ = read_csv_rows(out / "crm_orders.csv")
    assert {r["Order ID"] for r in orders} == keys["crm_orders"]
    _, contacts, _ = read_csv_rows(out / "crm_contacts.csv")
    assert {r["Record ID"] for r in contacts} == keys["crm_contacts"]
    con = duckdb.connect()
    pseudo = {p for (p,) in con.sql(f"select distinct user_pseudo_id from read_parquet('{out}/web_events/*.parquet')").fetchall()}
    assert pseudo == keys["web_user_pseudo_id"]
    assert ids.select("source", "record_key").is_duplicated().sum() == 0
    # web purchases carry the order ids of web orders
    tids = {t for (t,) in con.sql(f"select ecommerce.transaction_id from read_parquet('{out}/web_events/*.parquet') "
                                  "where event_name = 'purchase'").fetchall()}
    assert tids and tids <= {r["Order ID"] for r in orders if r["Sales Channel"] == "web"}


# ---------------------------------------------------------------------------------------------- groups / behaviour
def test_groups_differ_as_planted(world):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    people, ids, out = world["people"], world["ids"], world["out"]
    survey = pl.read_csv(out / "survey_responses.csv", infer_schema_length=0)
    items = list(survey.columns[3:9])
    x = survey.with_columns([pl.col(c).cast(pl.Int64) for c in items]).filter(
        pl.all_horizontal([pl.col(c).is_between(1, 5) for c in items]))
    x = x.join(ids.filter(pl.col("source") == "survey_responses").select(
        pl.col("record_key").alias("Response ID"), "person_id"), on="Response ID").join(
        people.select("person_id", "group_id"), on="person_id")
    labels = KMeans(4, n_init=5, random_state=0).fit_predict(x.select(items).to_numpy().astype(float))
    assert adjusted_rand_score(x["group_id"], labels) >= 0.8
    g = people.group_by("group_id").agg(pl.col("annual_income").median(), pl.col("birth_date").max().alias("b"),
                                        pl.col("mean_order_value_usd").mean()).sort("group_id")
    assert g["annual_income"].arg_max() == 1 and g["mean_order_value_usd"].arg_max() == 1
    con = duckdb.connect()
    dev = con.sql(f"""select user_pseudo_id as record_key, avg((device.category = 'mobile')::int) as mobile
                      from read_parquet('{out}/web_events/*.parquet') group by 1""").pl()
    mob = dev.join(ids.filter(pl.col("source") == "web_user_pseudo_id"), on="record_key").join(
        people.select("person_id", "group_id"), on="person_id").group_by("group_id").agg(pl.col("mobile").mean())
    mob = dict(mob.iter_rows())
    assert mob[0] > 0.6 > 0.35 > mob[1]
    assert people.filter(pl.col("decaying")).height / people.height == pytest.approx(0.10, abs=0.02)


def test_decaying_customers_fall_off(world):
    o = world["orders"].join(world["people"].select("person_id", "decaying"), on="person_id")
    end = dt.datetime(2025, 6, 30)
    late = o.filter(pl.col("ordered_at") >= end - dt.timedelta(days=90)).group_by("decaying").len()
    early = o.filter(pl.col("ordered_at").is_between(end - dt.timedelta(days=180), end - dt.timedelta(days=90),
                                                     closed="left")).group_by("decaying").len()
    r = dict(late.iter_rows())[True] / dict(early.iter_rows())[True]
    r0 = dict(late.iter_rows())[False] / dict(early.iter_rows())[False]
    assert r < 0.3 < r0
    p = world["people"]
    assert p["p_purchase_next_30d"].is_between(0, 1).all()
    assert p.filter(~pl.col("alive_at_as_of"))["p_purchase_next_30d"].max() == 0


def test_ab_conversions_reflect_planted_effect(world):
    out = world["out"]
    people = world["people"].select(pl.col("canonical_email").alias("email"), "group_id")
    exps = pl.read_csv(out / "experiments.csv", infer_schema_length=0)
    window = dict(zip(exps["Experiment ID"], exps["Conversion Window (days)"].cast(pl.Int64)))
    _, asg, _ = read_csv_rows(out / "ab_assignments.csv")
    _, orders, _ = read_csv_rows(out / "crm_orders.csv")
    by_email: dict[str, list[dt.datetime]] = {}
    for r in orders:
        by_email.setdefault(r["Customer Email"].strip().lower(), []).append(parse_ts(r["Order Date"]))
    rows = []
    for r in asg:
        if r["Experiment ID"] not in window:
            continue
        t0 = parse_ts(r["Assigned At"])
        t1 = t0 + dt.timedelta(days=window[r["Experiment ID"]])
        conv = any(t0 <= t < t1 for t in by_email.get(r["Customer Email"], []))
        rows.append((r["Experiment ID"], r["Variant"], r["Customer Email"], conv))
    df = pl.DataFrame(rows, schema=["exp", "variant", "email", "conv"], orient="row").join(people, on="email")
    rates = df.group_by("exp", "group_id", "variant").agg(pl.col("conv").mean()).pivot(
        "variant", index=["exp", "group_id"], values="conv").with_columns(
        (pl.col("treatment") - pl.col("control")).alias("lift"))
    lift = {(e, g): v for e, g, v in rates.select("exp", "group_id", "lift").iter_rows()}
    assert lift[("EXP-01", 2)] > 0.03
    assert lift[("EXP-01", 2)] > max(lift[("EXP-01", g)] for g in (0, 1, 3))
    assert max(abs(lift[("EXP-02", g)]) for g in range(4)) < lift[("EXP-01", 2)]
    truth = world["ab"]
    assert truth.filter((pl.col("experiment_id") == "EXP-01") & (pl.col("group_id") == 2)
                        & (pl.col("variant") == "treatment"))["true_lift"].item() == pytest.approx(0.06)
    assert truth.filter(pl.col("experiment_id") == "EXP-02")["true_lift"].abs().max() == 0


def test_money_and_web_consistency(world):
    out = world["out"]
    fx = pl.read_csv(out / "fx_rates.csv")
    assert fx.height == 365 * 3 and set(fx["Currency"]) == {"USD", "EUR", "GBP"}
    spend = pl.read_csv(out / "ad_spend.csv")
    cur = spend.group_by("Currency").agg(pl.col("Spend").sum())
    assert dict(cur.iter_rows())["USD"] > 0.5 * spend["Spend"].sum()
    con = duckdb.connect()
    rev = dict(con.sql(f"""select ecommerce.transaction_id, ecommerce.purchase_revenue
                           from read_parquet('{out}/web_events/*.parquet') where event_name = 'purchase'""").fetchall())
    truth = world["orders"].filter(pl.col("order_id").is_in(list(rev)))
    assert all(abs(rev[o] - u) < 0.01 for o, u in truth.select("order_id", "amount_usd").iter_rows())
    media = {m for (m,) in con.sql(f"select distinct traffic_source.medium from read_parquet('{out}/web_events/*.parquet')").fetchall()}
    assert {"cpc", "paid_social", "display", "email"} <= media
    params = con.sql(f"""select distinct p.key from (select unnest(event_params) as p
                         from read_parquet('{out}/web_events/*.parquet') limit 1000)""").fetchall()
    assert {k for (k,) in params} == {"ga_session_id", "page_location", "engagement_time_msec"}
    countries = {c for (c,) in con.sql(f"select distinct geo.country from read_parquet('{out}/web_events/*.parquet')").fetchall()}
    assert "United States" in countries and "US" not in countries


def test_pages_viewed_follow_each_groups_interests(world):
    """Category pages and products viewed follow the planted interest_probs of the person's group, so
    browsing says what a customer is interested in; the category is the URL's first path segment."""
    from datagen import catalog

    people, ids, out = world["people"], world["ids"], world["out"]
    con = duckdb.connect()
    ev = con.sql(f"""
        select user_pseudo_id as record_key, event_name,
               list_filter(event_params, lambda p: p.key = 'page_location')[1].value.string_value as url
        from read_parquet('{out}/web_events/*.parquet')""").pl()
    cats = catalog.CATEGORY_PATHS
    ev = ev.with_columns(cat=pl.col("url").str.extract(r"^https://[^/]+/([a-z]+)/", 1))
    # every page is either generic, a category page / product or a login / checkout step
    assert ev.filter(pl.col("cat").is_not_null() & ~pl.col("cat").is_in(cats + ["account", "checkout"])).height == 0
    assert ev.filter(pl.col("event_name").is_in(["view_item", "add_to_cart"]))["cat"].is_in(cats).all()
    pv = ev.filter(pl.col("event_name") == "page_view")
    generic = pv["cat"].is_null().mean()
    assert 0.2 < generic < 0.4  # home, sale, account, ... pages carry no category
    by_person = ids.filter(pl.col("source") == "web_user_pseudo_id").select("record_key", "person_id").join(
        people.select("person_id", "group_id"), on="person_id")
    for events, tol in ((["page_view"], 0.04), (["view_item", "add_to_cart"], 0.04)):
        sub = ev.filter(pl.col("event_name").is_in(events) & pl.col("cat").is_in(cats)).join(by_person, on="record_key")
        share = sub.group_by("group_id", "cat").len().with_columns(
            share=pl.col("len") / pl.col("len").sum().over("group_id"))
        got = {(g, c): s for g, c, s in share.select("group_id", "cat", "share").iter_rows()}
        for g in catalog.GROUPS:
            for c, planted in zip(cats, g.interest_probs, strict=True):
                assert got.get((g.group_id, c), 0.0) == pytest.approx(planted, abs=tol), (events, g.name, c)


def test_device_and_email_engagement_differ_by_group(world):
    people, ids, out = world["people"], world["ids"], world["out"]
    con = duckdb.connect()
    dev = con.sql(f"""select user_pseudo_id as record_key, avg((device.category = 'mobile')::int) as mobile
                      from read_parquet('{out}/web_events/*.parquet') group by 1""").pl()
    mob = dict(dev.join(ids.filter(pl.col("source") == "web_user_pseudo_id"), on="record_key").join(
        people.select("person_id", "group_id"), on="person_id").group_by("group_id").agg(pl.col("mobile").mean()).iter_rows())
    # families (2) browse on desktops and tablets, outdoor enthusiasts (3) on their phones
    assert mob[3] - mob[2] > 0.2
    kind, key = col("email_events", "event_type"), col("email_events", "event_id")
    email = pl.read_csv(out / "email_events" / "*.csv", infer_schema_length=0).select(key, kind)
    rates = email.join(ids.filter(pl.col("source") == "email_events").select(pl.col("record_key").alias(key), "person_id"),
                       on=key).join(people.select("person_id", "group_id"), on="person_id") \
        .group_by("group_id").agg(((pl.col(kind) == "open").sum() / (pl.col(kind) == "send").sum()).alias("open"))
    rates = dict(rates.iter_rows())
    # prestige seekers (1) read the newsletter most, price-sensitive families (2) least
    assert rates[1] > rates[3] > rates[0] > rates[2] and rates[1] - rates[2] > 0.2
