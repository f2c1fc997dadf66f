"""Stored model fits (models.fitted_models): which fit a run date may use, and what storing keeps."""
import datetime as dt
import sys

import duckdb
import pytest

from assets.fitted_models import KEEP_FITS, signature, store_fit, usable_fit

DAY = dt.date(2026, 11, 20)


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("create schema models")
    yield con
    con.close()


def fit_date(con, run_date: dt.date, every: int = 7, sig: str = "s1") -> dt.date | None:
    fit = usable_fit(con, "m", run_date, every, sig)
    return fit.fit_date if fit else None


def test_a_fit_is_used_for_refit_every_days_run_dates_from_its_own(con):
    assert fit_date(con, DAY) is None
    store_fit(con, "m", DAY, "s1", {"weights": [1, 2]}, training_rows=10)
    assert usable_fit(con, "m", DAY, 7, "s1").model == {"weights": [1, 2]}
    assert fit_date(con, DAY + dt.timedelta(days=6)) == DAY
    assert fit_date(con, DAY + dt.timedelta(days=7)) is None  # a week old: refit
    assert fit_date(con, DAY, every=1) == DAY  # a same-day rerun uses the day's fit


def test_a_rerun_for_an_earlier_date_never_uses_a_later_fit(con):
    store_fit(con, "m", DAY, "s1", "late", training_rows=10)
    assert fit_date(con, DAY - dt.timedelta(days=1)) is None
    store_fit(con, "m", DAY - dt.timedelta(days=3), "s1", "early", training_rows=10)
    assert usable_fit(con, "m", DAY - dt.timedelta(days=1), 7, "s1").model == "early"
    assert usable_fit(con, "m", DAY + dt.timedelta(days=1), 7, "s1").model == "late"  # the newest usable


def test_another_configuration_or_model_is_not_reused(con):
    store_fit(con, "m", DAY, signature({"k_max": 8}, ["a", "b"]), "fit", training_rows=10)
    assert usable_fit(con, "m", DAY, 7, signature({"k_max": 8}, ["a", "b"])) is not None
    assert usable_fit(con, "m", DAY, 7, signature({"k_max": 9}, ["a", "b"])) is None
    assert usable_fit(con, "m", DAY, 7, signature({"k_max": 8}, ["b", "a"])) is None
    assert usable_fit(con, "other", DAY, 7, signature({"k_max": 8}, ["a", "b"])) is None


def test_storing_replaces_the_same_date_and_keeps_the_newest_fits(con):
    for days in range(KEEP_FITS + 3):
        store_fit(con, "m", DAY + dt.timedelta(days=days), "s1", days, training_rows=10)
    store_fit(con, "m", DAY + dt.timedelta(days=KEEP_FITS + 2), "s1", "again", training_rows=10)
    store_fit(con, "other", DAY, "s1", "other", training_rows=10)
    kept = con.execute("select fit_date from models.fitted_models where model = 'm' order by 1").fetchall()
    assert [d for (d,) in kept] == [DAY + dt.timedelta(days=d) for d in range(3, KEEP_FITS + 3)]
    assert usable_fit(con, "m", DAY + dt.timedelta(days=KEEP_FITS + 2), 7, "s1").model == "again"
    assert fit_date(con, DAY) is None and usable_fit(con, "other", DAY, 7, "s1").model == "other"


def test_refit_interval_must_be_positive(con):
    with pytest.raises(ValueError, match="refit_every_days"):
        usable_fit(con, "m", DAY, 0, "s1")


class Stored:
    """A model class that a later version of the code no longer has."""


def test_a_fit_whose_class_is_gone_is_refitted(con, monkeypatch):
    store_fit(con, "m", DAY, "s1", Stored(), training_rows=10)
    monkeypatch.delattr(sys.modules[__name__], "Stored")
    assert usable_fit(con, "m", DAY, 7, "s1") is None
