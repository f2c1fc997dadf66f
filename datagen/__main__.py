"""CLI: python -m datagen --out DIR --truth DIR --customers N --events-per-customer E --seed S --as-of YYYY-MM-DD --days D"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from .core import generate


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m datagen", description=__doc__)
    ap.add_argument("--out", required=True, help="landing folder to write the source files to")
    ap.add_argument("--truth", required=True, help="folder for the ground truth (never read by the pipeline)")
    ap.add_argument("--customers", type=int, default=10_000, help="number of people (latent customers)")
    ap.add_argument("--events-per-customer", type=float, default=20, help="average web events per person")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="end of history (default today UTC)")
    ap.add_argument("--days", type=int, default=365, help="days of history")
    a = ap.parse_args(argv)
    summary = generate(a.out, a.truth, a.customers, a.events_per_customer, a.seed, a.as_of, a.days)
    print(json.dumps({"sources": summary["sources"], "defects": summary["defects"], "seconds": summary["seconds"]},
                     indent=2))
    return summary


if __name__ == "__main__":
    main()
