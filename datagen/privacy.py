"""Privacy sources of the demo: the consent file, deletion requests, and the erasure truth.

Called at the end of `generate()` with the truth `people` frame; reads the written CRM contacts CSV.
Vectorized and deterministic (seeded). Writes:
- landing/consents.csv: consent events (email or CRM Record ID, purpose, granted/withdrawn, time);
- landing/deletion_requests.csv: requests for people who are NOT in the exports (erased at the source
  before ever landing): processed, suppressed, nothing to remove. Landing a request for someone in the
  data removes their rows, which the line-accounting tests of a normal run would rightly flag, so:
- truth/erasure_request.csv: a ready-to-land request (same columns) for ONE planted customer present in
  every source (CRM, orders, logged-in web, survey, email, A/B); tests and demos append it to the
  landing file;
- truth/erasure.parquet: that person's identifiers (emails, names, phone, contact id, web ids);
- truth/consents.parquet: the consent events with their person_id.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from . import contract, csvout

PURPOSES = np.array(["email_marketing", "ad_targeting", "analytics"])
CONSENT_SHARE = 0.30        # share of reachable people with consent-file events
UNLANDED_REQUESTS = 3       # deletion requests for people absent from the exports


def _stage_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, 91])


def plant(out_dir: Path, truth_dir: Path, people: pl.DataFrame, seed: int, as_of: dt.date) -> dict[str, dict]:
    """Write the privacy files; return their row counts for summary.json (sources section)."""
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    rng = _stage_rng(seed)
    end = int(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc).timestamp())
    names = contract.export_names("crm_contacts")
    contacts = pl.read_csv(out_dir / contract.file_name("crm_contacts"), infer_schema=False,
                           truncate_ragged_lines=True, ignore_errors=True).rename(
        {v: k for k, v in names.items()}).with_columns(pl.col("contact_id").cast(pl.Int64, strict=False))

    # ------------------------------------------------------------------ consent file
    reachable = people.filter(pl.col("in_crm") | pl.col("in_email"))
    chosen = reachable.filter(pl.Series(rng.random(reachable.height) < CONSENT_SHARE))
    n = chosen.height
    first_contact = chosen["contact_ids"].list.first().to_numpy()
    by_id = (rng.random(n) < 0.3) & ~np.isnan(np.asarray(first_contact, dtype=float))
    identifier = np.where(by_id, pl.Series(first_contact).cast(pl.String).fill_null("").to_numpy(),
                          chosen["canonical_email"].to_numpy())
    # each chosen person: 1-3 events over the purposes; email_marketing events are mostly withdrawals
    k = rng.integers(1, 4, n)
    rep = np.repeat(np.arange(n), k)
    purpose = rng.integers(0, 3, len(rep))
    withdrawn = np.where(purpose == 0, rng.random(len(rep)) < 0.6, rng.random(len(rep)) < 0.2)
    ts = end - rng.integers(1 * 86400, 365 * 86400, len(rep))
    fmt = csvout.random_ts_formats(rng, len(rep))
    events = pl.DataFrame({
        "person_id": chosen["person_id"].to_numpy()[rep],
        "identifier": identifier[rep].astype(str),
        "purpose": PURPOSES[purpose],
        "status": np.where(withdrawn, "withdrawn", "granted"),
        "ts": ts, "fmt": fmt,
    }).with_columns(csvout.ts_expr("ts", "fmt").alias("consented_at")).sort("ts", "person_id", "purpose")
    csvout.write_csv(events, "consents", out_dir)
    events.select("person_id", "identifier", "purpose", "status",
                  pl.from_epoch("ts", time_unit="s").alias("consented_at_utc")).write_parquet(truth_dir / "consents.parquet")

    # ------------------------------------------------------------------ erasure
    crm = contacts.filter(pl.col("contact_id").is_not_null()).select(
        "contact_id", pl.col("email").str.strip_chars().str.to_lowercase().alias("crm_email"), "phone")
    everywhere = (people.filter(pl.col("in_crm") & pl.col("in_orders") & pl.col("in_web_logged_in")
                                & pl.col("in_survey") & pl.col("in_email") & pl.col("in_ab")
                                & (pl.col("contact_ids").list.len() == 1))
                  .with_columns(pl.col("contact_ids").list.first().alias("contact_id"))
                  .join(crm, on="contact_id")
                  .filter((pl.col("crm_email") == pl.col("canonical_email")) & pl.col("phone").is_not_null())
                  # a unique full name, so a test can prove the name is gone
                  .join(people.group_by("first_name", "last_name").len().filter(pl.col("len") == 1),
                        on=["first_name", "last_name"], how="semi")
                  .sort("person_id"))
    requested = dt.datetime.fromtimestamp(end - 86400, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # tiny datasets may have nobody in every source: then no request is planted (empty truth files)
    pick = everywhere[int(rng.integers(0, everywhere.height)):][:1] if everywhere.height else everywhere
    _write_named(pick.select(pl.col("canonical_email").alias("identifier"), pl.lit(requested).alias("requested_at")),
                 "deletion_requests", truth_dir / "erasure_request.csv")
    pick.select(
        "person_id", pl.col("canonical_email").alias("identifier"), pl.concat_list("canonical_email").alias("emails"),
        "first_name", "last_name", "phone", pl.col("contact_ids").cast(pl.List(pl.String)), "web_user_id",
        pl.col("pseudo_ids").fill_null([]), pl.lit(requested).alias("requested_at"),
    ).write_parquet(truth_dir / "erasure.parquet")

    unlanded = pl.DataFrame({
        "identifier": [f"erased.before.landing{i}@example.org" for i in range(UNLANDED_REQUESTS)],
        "requested_at": [dt.datetime.fromtimestamp(end - (i + 2) * 86400, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+0000")
                         for i in range(UNLANDED_REQUESTS)],
    })
    csvout.write_csv(unlanded, "deletion_requests", out_dir)
    return {"consents": {"rows": events.height, "malformed_lines": 0},
            "deletion_requests": {"rows": unlanded.height, "malformed_lines": 0}}


def _write_named(df: pl.DataFrame, source: str, path: Path) -> None:
    names = contract.export_names(source)
    df.select([pl.col(c).alias(e) for c, e in names.items()]).write_csv(path)
