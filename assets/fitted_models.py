"""models.fitted_models: fitted scikit-learn models kept in the warehouse beside the tables they
produce, so a run between refits scores with the last fit instead of fitting again.

A stored fit is used for a run date when it was fitted on or before that date (a rerun for an earlier
date never uses a model that saw later data), less than `refit_every_days` before it, and with the
same signature (configuration, model inputs, scikit-learn version). A fit that no longer unpickles
(the code that defined it moved) is not usable either. Otherwise the caller refits and
stores the new fit in its own transaction, together with the tables it wrote: a run killed before
the commit leaves neither. To force a refit: delete the model's rows from models.fitted_models.

Artifacts are pickles this pipeline wrote into its own warehouse; never load one from elsewhere.
"""

import datetime as dt
import hashlib
import json
import pickle
from dataclasses import dataclass

import sklearn

KEEP_FITS = 12  # per model: the newest fits, so reruns of recent run dates find theirs

DDL = """
create table if not exists models.fitted_models (
    model          varchar,      -- ml_segments | propensity
    fit_date       date,         -- the run date the model was fitted for (trained on data up to it)
    signature      varchar,      -- hash of configuration, model inputs and scikit-learn version
    training_rows  bigint,
    fitted_at      timestamptz,
    artifact       blob,         -- pickle of the fitted model
    primary key (model, fit_date)
)
"""


@dataclass(frozen=True)
class Fit:
    fit_date: dt.date
    model: object


def signature(config: dict, inputs: list[str]) -> str:
    """What a stored fit must match to be reused: the model's configuration, its inputs in order,
    and the scikit-learn version that pickled it."""
    payload = json.dumps({"config": config, "inputs": inputs, "sklearn": sklearn.__version__},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def usable_fit(con, model: str, run_date: dt.date, refit_every_days: int, sig: str) -> Fit | None:
    """The newest stored fit of `model` usable for `run_date`, or None when the caller must refit."""
    if refit_every_days < 1:
        raise ValueError(f"{model}: refit_every_days must be at least 1, got {refit_every_days}")
    con.execute(DDL)
    row = con.execute(
        """select fit_date, artifact from models.fitted_models
           where model = $m and signature = $s and fit_date <= $d and fit_date > $d::date - $every::integer
           order by fit_date desc limit 1""",
        {"m": model, "s": sig, "d": run_date, "every": refit_every_days},
    ).fetchall()
    if not row:
        return None
    try:
        return Fit(row[0][0], pickle.loads(row[0][1]))
    except (pickle.UnpicklingError, AttributeError, ImportError):
        return None  # pickled by code that has changed since: refit


def store_fit(con, model: str, fit_date: dt.date, sig: str, fitted: object, training_rows: int) -> None:
    """Store a fit (replacing one of the same model and date) and drop all but the newest KEEP_FITS.
    Runs in the caller's transaction."""
    con.execute(DDL)
    con.execute("delete from models.fitted_models where model = $m and fit_date = $d", {"m": model, "d": fit_date})
    con.execute(
        "insert into models.fitted_models values ($m, $d, $s, $n, now(), $a)",
        {"m": model, "d": fit_date, "s": sig, "n": training_rows, "a": pickle.dumps(fitted, protocol=5)},
    )
    con.execute(
        """delete from models.fitted_models where model = $m and fit_date not in
           (select fit_date from models.fitted_models where model = $m order by fit_date desc limit $keep)""",
        {"m": model, "keep": KEEP_FITS},
    )
