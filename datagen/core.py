"""The synthetic world: latent people -> silo'd, defective source exports + the ground truth.

All per-person work is vectorized with numpy; every stage draws from its own seeded stream
(`np.random.default_rng([seed, stage])`) so output is deterministic by seed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from . import catalog, contract, csvout, web

DAY = 86_400
YEAR = 365.25 * DAY
SILOS = ["crm", "orders_only", "survey_only", "web_only", "anon_web"]
SILO_SHARES = [0.85, 0.05, 0.04, 0.03, 0.03]
DECAY_DAYS = 90
DECAY_FACTOR = 0.1
RATES = {  # planted defect / behaviour rates
    "duplicate_contact": 0.03, "company_share": 0.10,
    "crm_invalid_email": 0.015, "crm_placeholder_email": 0.015, "crm_future_date": 0.005,
    "crm_unknown_country": 0.01, "crm_implausible_birth_date": 0.005, "crm_malformed": 0.002,
    "order_future_date": 0.003, "order_negative_amount": 0.004, "order_invalid_currency": 0.003,
    "order_placeholder_email": 0.01, "order_malformed": 0.002, "guest_checkout": 0.10,
    "survey_placeholder_email": 0.01, "survey_invalid_email": 0.005, "likert_out_of_range": 0.005,
    "nps_out_of_range": 0.01, "email_orphan_campaign": 0.003, "ab_unknown_experiment": 0.005,
    "decaying": 0.10, "opt_in": 0.72, "survey_crm": 0.40,
}


def _strs(values) -> pl.Series:
    """A String series from a numpy (object) array that may hold None."""
    return pl.Series(values.tolist() if isinstance(values, np.ndarray) else values, dtype=pl.String)


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage])


def _pick(rng, n: int, rate: float, min_n: int = 0) -> np.ndarray:
    """Indices of exactly round(n*rate) (at least min_n, at most n) distinct rows."""
    k = min(n, max(min_n, int(round(n * rate))))
    return np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)


def _to_epoch(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc).timestamp())


class Defects:
    """Collects planted defects: one row per (source, record_key, column)."""

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []

    def add(self, source: str, keys, column: str | None, defect_class, original, written) -> None:
        n = len(keys)
        if n == 0:
            return
        cls = defect_class if not isinstance(defect_class, str) else [defect_class] * n
        self.frames.append(pl.DataFrame({
            "source": [source] * n, "record_key": pl.Series(keys).cast(pl.String),
            "column": [column] * n,
            "export_column": [contract.export_names(source)[column] if column else None] * n,
            "defect_class": _strs(cls),
            "original_value": pl.Series(original).cast(pl.String),
            "written_value": pl.Series(written).cast(pl.String),
        }, schema_overrides={"column": pl.String, "export_column": pl.String}))

    def frame(self) -> pl.DataFrame:
        return pl.concat(self.frames) if self.frames else pl.DataFrame()


def generate(out_dir, truth_dir, customers: int = 10_000, events_per_customer: float = 20, seed: int = 42,
             as_of: dt.date | str | None = None, days: int = 365) -> dict:
    """Generate the landing files under out_dir and the ground truth under truth_dir; return a summary."""
    t_start = time.time()
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    if as_of is None:
        as_of = dt.datetime.now(dt.timezone.utc).date()
    elif isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    P = int(customers)
    end = _to_epoch(as_of)  # history covers [start, end)
    start = end - days * DAY
    decay_from = end - DECAY_DAYS * DAY
    defects = Defects()
    counts: dict[str, dict] = {}
    G = catalog.GROUPS
    g_arr = lambda attr: np.array([getattr(g, attr) for g in G], dtype=float)  # noqa: E731

    # ------------------------------------------------------------------ people
    rng = _rng(seed, 1)
    pid = np.arange(P)
    group = rng.choice(len(G), size=P, p=g_arr("share") / g_arr("share").sum())
    silo = rng.choice(len(SILOS), size=P, p=SILO_SHARES)
    female = rng.random(P) < g_arr("p_female")[group]
    nonbinary = rng.random(P) < 0.03
    gender = np.where(nonbinary, 2, np.where(female, 0, 1))  # 0 female 1 male 2 non-binary
    age = np.clip(rng.normal(g_arr("age_mean")[group], g_arr("age_sd")[group]), 18, 85)
    birth = end - (age * YEAR).astype(np.int64)
    birth = birth - birth % DAY
    income = np.round(g_arr("income_median")[group] * np.exp(rng.normal(0, 0.3, P)), -2)
    cprobs = np.array([[g.countries.get(c, 0.0) for c in catalog.COUNTRY_CODES] for g in G])
    cum = np.cumsum(cprobs / cprobs.sum(1, keepdims=True), axis=1)
    country = np.minimum((rng.random(P)[:, None] > cum[group]).sum(1), len(catalog.COUNTRY_CODES) - 1)
    geo_table, geo_first = [], []
    for c in catalog.COUNTRY_CODES:
        name, _, cities = catalog.COUNTRIES[c]
        geo_first.append(len(geo_table))
        geo_table += [(name, region, city) for city, region in cities]
    n_cities = np.array([len(catalog.COUNTRIES[c][2]) for c in catalog.COUNTRY_CODES])
    geo_idx = np.array(geo_first)[country] + (rng.random(P) * n_cities[country]).astype(np.int64)
    fn_idx = rng.integers(0, 20, P)
    ln_idx = rng.integers(0, len(catalog.LAST_NAMES), P)
    dom_idx = rng.integers(0, len(catalog.EMAIL_DOMAINS), P)
    acquired = start + (rng.beta(0.9, 1.4, P) * (days - 7) * DAY).astype(np.int64)

    first_names = np.where(gender == 0, np.array(catalog.FIRST_NAMES_F)[fn_idx],
                           np.where(gender == 1, np.array(catalog.FIRST_NAMES_M)[fn_idx],
                                    np.where(fn_idx % 2 == 0, np.array(catalog.FIRST_NAMES_F)[fn_idx],
                                             np.array(catalog.FIRST_NAMES_M)[fn_idx])))
    last_names = np.array(catalog.LAST_NAMES)[ln_idx]
    ppl = pl.DataFrame({"person_id": pid, "first": first_names, "last": last_names,
                        "dom": np.array(catalog.EMAIL_DOMAINS)[dom_idx]})
    email = ppl.select(pl.format("{}.{}{}@{}", pl.col("first").str.to_lowercase(),
                                 pl.col("last").str.to_lowercase().str.replace_all(" ", ""),
                                 pl.col("person_id"), pl.col("dom")).alias("e"))["e"]

    # interests: each person's mix over catalog.INTERESTS is Dirichlet around the group's
    # interest_probs (own stream, so adding it moved no other draw); it drives the survey's
    # main_interest and the categories of the web pages and products viewed
    rng = _rng(seed, 12)
    interest_mix = rng.gamma(catalog.INTEREST_CONCENTRATION * np.array([g.interest_probs for g in G])[group])
    interest_mix /= interest_mix.sum(1, keepdims=True)
    interest_cum = np.cumsum(interest_mix, axis=1)

    # ------------------------------------------------------------------ purchases (BG/NBD-like)
    rng = _rng(seed, 2)
    lam = rng.gamma(3.0, g_arr("purchase_rate")[group] / 3.0)  # purchases / year while alive
    m = g_arr("dropout_p")[group]
    drop_p = rng.beta(2.0, 2.0 * (1 - m) / m)
    aov = g_arr("order_value_usd")[group] * np.exp(rng.normal(0, 0.3, P))
    eligible = acquired < end - 2 * DECAY_DAYS * DAY
    decaying = eligible & (rng.random(P) < RATES["decaying"] / max(eligible.mean(), 1e-9))
    lam = np.where(decaying, np.maximum(lam, 4.0), lam)
    K = rng.geometric(drop_p)  # purchases until dropout (BG/NBD: inactive after each purchase w.p. p)
    K = np.where(decaying, np.iinfo(np.int32).max, K)
    M = rng.poisson(lam * (end - acquired) / YEAR)
    rep = np.repeat(pid, M)
    pt = acquired[rep] + (rng.random(len(rep)) * (end - acquired)[rep]).astype(np.int64)
    key = rep.astype(np.int64) * (1 << 36) + (pt - start)
    srt = np.argsort(key, kind="stable")
    rep, pt, key = rep[srt], pt[srt], key[srt]
    first = np.zeros(P + 1, np.int64)
    np.cumsum(M, out=first[1:])
    rank = np.arange(len(rep)) - first[rep]
    dead_at = np.where(K <= M, pt[np.minimum(first[:-1] + K - 1, max(len(pt) - 1, 0))] if len(pt) else end, 2**62)
    dead_at = np.where(K <= M, dead_at, 2**62)
    keep = rank < K[rep]
    thin = decaying[rep] & (pt >= decay_from) & (rng.random(len(rep)) > DECAY_FACTOR)
    keep &= ~thin
    o_person, o_ts = rep[keep], pt[keep]

    def count_le(t: np.ndarray) -> np.ndarray:  # latent Poisson points of each person at or before t
        return np.searchsorted(key, pid * (1 << 36) + (t - start), side="right") - first[:-1]

    def lam_at(t) -> np.ndarray:
        return lam * np.where(decaying & (t >= decay_from), DECAY_FACTOR, 1.0)

    def p_window(t, width) -> tuple[np.ndarray, np.ndarray]:
        t = np.broadcast_to(t, (P,))
        alive = K > count_le(t)
        exposure = np.clip(t + width - np.maximum(t, acquired), 0, None)
        return alive, alive * (1 - np.exp(-lam_at(t) * exposure / YEAR))

    alive_now, p_next = p_window(np.int64(end), 30 * DAY)
    alive_prev, p_prev = p_window(np.int64(end - 30 * DAY), 30 * DAY)

    # silo: who appears in which source
    in_crm = silo == 0
    keep_orders = in_crm[o_person] | (silo[o_person] == 1)
    o_person, o_ts = o_person[keep_orders], o_ts[keep_orders]
    need = np.flatnonzero((silo == 1) & (np.bincount(o_person, minlength=P) == 0))
    o_person = np.r_[o_person, need]
    o_ts = np.r_[o_ts, acquired[need] + (rng.random(len(need)) * (end - acquired[need])).astype(np.int64)]
    o_kind = np.r_[np.zeros(len(o_person) - len(need), np.int8), np.ones(len(need), np.int8)]  # 1 forced

    # web presence: 0 none, 1 login-capable (user_id), 2 anonymous-only
    rng = _rng(seed, 3)
    u = rng.random(P)
    web_mode = np.where(in_crm, np.where(u < 0.6, 1, np.where(u < 0.7, 2, 0)), 0)
    web_mode = np.where(silo == 3, 1, np.where(silo == 4, 2, web_mode))
    web_user_num = 100_000_000 + rng.permutation(P)
    web_user_id = pl.Series(np.where(web_mode == 1, web_user_num, -1)).cast(pl.String)
    web_user_id = pl.select(pl.when(pl.lit(web_mode == 1)).then(pl.format("WU{}", web_user_id))
                            .otherwise(None).alias("w"))["w"] if P else web_user_id

    # ------------------------------------------------------------------ email sends, A/B tests
    rng = _rng(seed, 4)
    camp = catalog.CAMPAIGNS
    camp_start = [start + int(c[3] * days) * DAY for c in camp]
    camp_end = [start + max(int(c[4] * days) - 1, int(c[3] * days)) * DAY for c in camp]
    opt_in0 = in_crm & (rng.random(P) < RATES["opt_in"])
    opt_in_at = acquired + rng.integers(0, 3 * DAY, P)
    unsub_at = np.full(P, 2**62, np.int64)
    sends = []
    for ci, c in enumerate(camp):
        if c[2] != "email":
            continue
        s = camp_start[ci]
        while s <= camp_end[ci] and s < end:
            sends.append((s + 9 * 3600, ci))
            s += catalog.EMAIL_SEND_EVERY_DAYS * DAY
    sends.sort()
    ev_p, ev_c, ev_t, ev_ts = [], [], [], []  # person, campaign idx, type, ts
    first_send_of = {}
    p_open_g, p_click_g = g_arr("email_open"), g_arr("email_click")
    for s_ts, ci in sends:
        r = np.flatnonzero(opt_in0 & (opt_in_at <= s_ts) & (unsub_at > s_ts))
        n = len(r)
        t_send = s_ts + rng.integers(0, 7200, n)
        late = decaying[r] & (s_ts >= decay_from)
        bounce = rng.random(n) < 0.015
        engaged = np.where(late, 0.2, 1.0) * np.where(dead_at[r] < s_ts, 0.5, 1.0)
        opened = ~bounce & (rng.random(n) < p_open_g[group[r]] * engaged)
        t_open = t_send + (rng.exponential(6 * 3600, n)).astype(np.int64) + 60
        clicked = opened & (rng.random(n) < p_click_g[group[r]] * np.where(late, 0.3, 1.0))
        t_click = t_open + (rng.exponential(300, n)).astype(np.int64) + 5
        unsub = opened & (rng.random(n) < np.where(late, 0.05, 0.01))
        t_unsub = t_open + (rng.exponential(600, n)).astype(np.int64) + 5
        unsub_at[r[unsub]] = t_unsub[unsub]
        for mask, t, code in [(np.ones(n, bool), t_send, 0), (opened, t_open, 1), (clicked, t_click, 2),
                              (unsub, t_unsub, 3), (bounce, t_send + 30, 4)]:
            ev_p.append(r[mask]); ev_t.append(np.full(mask.sum(), code, np.int8))
            ev_ts.append(t[mask]); ev_c.append(np.full(mask.sum(), ci, np.int16))
        if ci not in first_send_of:
            first_send_of[ci] = (r, t_send)
    ev_p, ev_c, ev_t, ev_ts = (np.concatenate(a) for a in (ev_p, ev_c, ev_t, ev_ts))
    keep_ev = ev_ts < end
    ev_p, ev_c, ev_t, ev_ts = ev_p[keep_ev], ev_c[keep_ev], ev_t[keep_ev], ev_ts[keep_ev]

    # A/B assignments on the first send of each experiment campaign; treatment creates real orders
    o_key = np.sort(o_person.astype(np.int64) * (1 << 36) + (o_ts - start))
    ab_rows, ab_truth, extra_p, extra_ts = [], [], [], []
    camp_idx = {c[0]: i for i, c in enumerate(camp)}
    for ei, (exp_id, exp_name, cid, window, lifts) in enumerate(catalog.EXPERIMENTS):
        ci = camp_idx[cid]
        if ci not in first_send_of:
            continue
        r, t_a = first_send_of[ci]
        if len(r) == 0:
            continue
        treat = rng.random(len(r)) < 0.5
        width = np.minimum(window * DAY, end - t_a)
        alive = K[r] > count_le_at(key, first, r, t_a, start)
        b = alive * (1 - np.exp(-lam[r] * np.where(decaying[r] & (t_a >= decay_from), DECAY_FACTOR, 1.0)
                                * width / YEAR))
        lo = np.searchsorted(o_key, r.astype(np.int64) * (1 << 36) + (t_a - start), side="left")
        hi = np.searchsorted(o_key, r.astype(np.int64) * (1 << 36) + (t_a + width - start), side="left")
        organic = hi > lo
        lift = np.array([lifts[g] for g in range(len(G))])[group[r]]
        q = np.clip(lift / np.maximum(1 - b, 1e-9), 0, 1)
        add = treat & ~organic & (rng.random(len(r)) < q)
        extra_p.append(r[add])
        extra_ts.append(t_a[add] + (rng.random(add.sum()) * width[add]).astype(np.int64))
        ab_rows.append(pl.DataFrame({"experiment_id": exp_id, "person": r, "treat": treat, "assigned": t_a}))
        for gi, g in enumerate(G):
            for tv, vname in [(False, "control"), (True, "treatment")]:
                sel = (group[r] == gi) & (treat == tv)
                ab_truth.append({"experiment_id": exp_id, "experiment_name": exp_name, "campaign_id": cid,
                                 "conversion_window_days": window, "group_id": gi, "group_name": g.name,
                                 "variant": vname, "n_assigned": int(sel.sum()),
                                 "true_baseline_rate": float(b[sel].mean()) if sel.any() else None,
                                 "true_lift": float(lifts[gi]) if tv else 0.0,
                                 "true_conversion_rate": (float(b[sel].mean()) + (lifts[gi] if tv else 0.0))
                                 if sel.any() else None})
    if extra_p:
        ep_ = np.concatenate(extra_p)
        o_person = np.r_[o_person, ep_]
        o_ts = np.r_[o_ts, np.concatenate(extra_ts)]
        o_kind = np.r_[o_kind, np.full(len(ep_), 2, np.int8)]  # 2 = A/B treatment order

    # ------------------------------------------------------------------ fx rates
    rng = _rng(seed, 5)
    fx = {"USD": np.ones(days)}
    for cur in ("EUR", "GBP"):
        fx[cur] = np.round(catalog.FX_BASE[cur] * np.exp(np.cumsum(rng.normal(0, 0.004, days))), 6)
    fx_df = pl.DataFrame({
        "rate_date": np.repeat(np.arange(days), 3) * DAY + start,
        "currency": np.tile(["USD", "EUR", "GBP"], days),
        "usd_per_unit": np.stack([fx["USD"], fx["EUR"], fx["GBP"]], 1).reshape(-1)})
    cur_names = ["USD", "EUR", "GBP"]
    fx_mat = np.stack([fx[c] for c in cur_names])

    # ------------------------------------------------------------------ orders
    rng = _rng(seed, 6)
    srt = np.lexsort((o_person, o_ts))
    o_person, o_ts, o_kind = o_person[srt], o_ts[srt], o_kind[srt]
    NO = len(o_person)
    o_id = pl.Series(np.arange(1, NO + 1)).cast(pl.String).str.zfill(8)
    o_id = ("SO-" + o_id) if NO else o_id.cast(pl.String)
    o_usd = np.round(rng.gamma(5.0, aov[o_person] / 5.0), 2)
    o_cur = np.array([cur_names.index(catalog.COUNTRIES[c][1]) for c in catalog.COUNTRY_CODES])[country[o_person]]
    o_day = np.clip((o_ts - start) // DAY, 0, days - 1)
    o_rate = fx_mat[o_cur, o_day]
    o_amount = np.round(o_usd / o_rate, 2)
    o_usd = np.round(o_amount * o_rate, 2)
    u = rng.random(NO)
    o_status = np.where(o_kind == 2, 0, np.where(u < 0.92, 0, np.where(u < 0.97, 1, 2)))
    cap = web_mode[o_person]
    u = rng.random(NO)
    o_channel = np.where(cap == 1, np.where(u < 0.7, 0, np.where(u < 0.9, 1, 2)),
                         np.where(cap == 2, np.where(u < 0.4, 0, np.where(u < 0.85, 1, 2)),
                                  np.where(u < 0.8, 1, 2)))  # 0 web 1 store 2 phone
    guest = ~in_crm[o_person] | (rng.random(NO) < RATES["guest_checkout"])
    o_fmt = csvout.random_ts_formats(rng, NO)
    o_written_ts = o_ts.copy()
    o_email = email.gather(o_person) if NO else email.clear()
    o_cur_written = pl.Series(np.array(cur_names)[o_cur]) if NO else _strs([])
    o_amount_written = o_amount.copy()
    defectable = np.flatnonzero(o_kind != 2)
    nd = len(defectable)
    fut = defectable[_pick(rng, nd, RATES["order_future_date"], 1 if nd else 0)]
    o_written_ts[fut] = o_ts[fut] + rng.integers(2 * 365, 6 * 365, len(fut)) * DAY
    neg = defectable[_pick(rng, nd, RATES["order_negative_amount"], 1 if nd else 0)]
    o_amount_written[neg] = -o_amount[neg]
    badcur = defectable[_pick(rng, nd, RATES["order_invalid_currency"], 1 if nd else 0)]
    bad_vals = np.array(catalog.INVALID_CURRENCIES)[rng.integers(0, len(catalog.INVALID_CURRENCIES), len(badcur))]
    o_cur_arr = o_cur_written.to_numpy().astype(object)
    orig_cur = o_cur_arr[badcur].copy()
    o_cur_arr[badcur] = bad_vals
    ph = defectable[_pick(rng, nd, RATES["order_placeholder_email"], 1 if nd else 0)]
    ph_vals = np.array(catalog.PLACEHOLDER_EMAILS)[rng.integers(0, 4, len(ph))]
    o_email_arr = o_email.to_numpy().astype(object)
    orig_email = o_email_arr[ph].copy()
    o_email_arr[ph] = ph_vals
    contact_of_person = np.full(P, -1, np.int64)  # filled below (primary contact id)

    # ------------------------------------------------------------------ CRM contacts
    rng = _rng(seed, 7)
    crm_p = np.flatnonzero(in_crm)
    dup_p = crm_p[_pick(rng, len(crm_p), RATES["duplicate_contact"], 1 if len(crm_p) else 0)]
    c_person = np.r_[crm_p, dup_p]
    c_is_dup = np.r_[np.zeros(len(crm_p), bool), np.ones(len(dup_p), bool)]
    NC = len(c_person)
    c_id = 1_000_001 + rng.permutation(NC) * 3 + rng.integers(0, 3, NC)
    contact_of_person[crm_p] = c_id[: len(crm_p)]
    c_created = np.where(c_is_dup, np.minimum(acquired[c_person] + rng.integers(DAY, 200 * DAY, NC), end - 3600),
                         acquired[c_person])
    # companies: ~10% of people in CRM belong to companies with 2-6 contacts each
    comp_people = crm_p[_pick(rng, len(crm_p), RATES["company_share"])]
    rng.shuffle(comp_people)
    sizes = rng.integers(2, 7, max(1, len(comp_people) // 2 + 1))
    comp_idx = np.repeat(np.arange(len(sizes)), sizes)[: len(comp_people)]
    company_of = np.full(P, -1, np.int64)
    company_of[comp_people] = comp_idx
    n_comp = int(comp_idx.max()) + 1 if len(comp_idx) else 0
    w1, w2, sfx = catalog.COMPANY_WORDS_1, catalog.COMPANY_WORDS_2, catalog.COMPANY_SUFFIXES
    ci_ = np.arange(n_comp)
    comp_names = [f"{w1[i % 20]} {w2[(i // 20) % 20]} {sfx[(i // 400) % 5]}" + (f" {i // 2000 + 1}" if i >= 2000 else "")
                  for i in ci_]
    comp_names_arr = np.array(comp_names + [""], dtype=object)
    # emails: duplicates differ only by case / whitespace
    c_email = email.gather(c_person).to_numpy().astype(object) if NC else np.zeros(0, object)
    dup_rows = np.flatnonzero(c_is_dup)
    variant = rng.integers(0, 3, len(dup_rows))
    for k, r_ in enumerate(dup_rows):  # small (3% of contacts)
        e = c_email[r_]
        c_email[r_] = e.upper() if variant[k] == 0 else (f"  {e} " if variant[k] == 1 else e[:1].upper() + e[1:])
    defects.add("crm_contacts", c_id[dup_rows], "email", "duplicate_contact",
                contact_of_person[c_person[dup_rows]], c_email[dup_rows])
    prim_rows = np.flatnonzero(~c_is_dup & ~np.isin(c_person, dup_p))  # keep duplicate pairs recognisable
    u = rng.random(len(prim_rows))
    bad_e = prim_rows[u < RATES["crm_invalid_email"]]
    ph_e = prim_rows[(u >= RATES["crm_invalid_email"]) & (u < RATES["crm_invalid_email"] + RATES["crm_placeholder_email"])]
    orig = c_email[bad_e].copy()
    mode = rng.integers(0, 4, len(bad_e))
    c_email[bad_e] = [e.replace("@", "") if md == 0 else (e.replace("@", "@@") if md == 1 else
                      (e.replace(".", " ", 1) if md == 2 else e.split("@")[0] + "@" + e.split("@")[1].replace(".", "")))
                      for e, md in zip(orig, mode)]
    defects.add("crm_contacts", c_id[bad_e], "email", "invalid_email_syntax", orig, c_email[bad_e])
    orig = c_email[ph_e].copy()
    c_email[ph_e] = np.array(catalog.PLACEHOLDER_EMAILS, dtype=object)[rng.integers(0, 4, len(ph_e))]
    defects.add("crm_contacts", c_id[ph_e], "email", "placeholder_email", orig, c_email[ph_e])
    c_country = np.array(catalog.COUNTRY_CODES, dtype=object)[country[c_person]]
    c_city = np.array([g[2] for g in geo_table], dtype=object)[geo_idx[c_person]]
    unk = _pick(rng, NC, RATES["crm_unknown_country"], 1 if NC else 0)
    orig = c_country[unk].copy()
    c_country[unk] = np.array(catalog.UNKNOWN_COUNTRY_CODES, dtype=object)[rng.integers(0, 4, len(unk))]
    defects.add("crm_contacts", c_id[unk], "country_code", "unknown_country", orig, c_country[unk])
    c_birth = birth[c_person].copy()
    c_birth_null = rng.random(NC) < 0.10
    imp = np.flatnonzero(~c_birth_null)[_pick(rng, int((~c_birth_null).sum()), RATES["crm_implausible_birth_date"], 1 if NC else 0)]
    orig_b = c_birth[imp].copy()
    old = rng.random(len(imp)) < 0.5
    c_birth[imp] = np.where(old, end - rng.integers(111, 140, len(imp)) * int(YEAR) - rng.integers(0, 365, len(imp)) * DAY,
                            end - rng.integers(1, 13, len(imp)) * int(YEAR) + rng.integers(0, 300, len(imp)) * DAY)
    c_birth[imp] -= c_birth[imp] % DAY
    c_written_created = c_created.copy()
    fut_c = _pick(rng, NC, RATES["crm_future_date"], 1 if NC else 0)
    c_written_created[fut_c] = c_created[fut_c] + rng.integers(2 * 365, 6 * 365, len(fut_c)) * DAY
    c_fmt = csvout.random_ts_formats(rng, NC)
    c_opt_fmt = csvout.random_ts_formats(rng, NC)
    # consent: primaries carry the person's opt-in state as of the export; unsubscribes flip it
    c_opt = np.where(c_is_dup, False, opt_in0[c_person] & (unsub_at[c_person] >= end))
    c_opt_at = np.where(c_is_dup, -1, np.where(opt_in0[c_person],
                                                np.where(unsub_at[c_person] < end, unsub_at[c_person], opt_in_at[c_person]),
                                                -1))
    c_opt_at = np.where((c_opt_at >= end), -1, c_opt_at)
    n_completed = np.bincount(o_person[o_status == 0], minlength=P)
    u = rng.random(NC)
    c_stage = np.where(n_completed[c_person] > 0, np.where(u < 0.1, "evangelist", "customer"),
                       np.where(u < 0.5, "subscriber", "lead"))
    gender_names = np.array(["female", "male", "non-binary"], dtype=object)
    contacts = pl.DataFrame({
        "contact_id": c_id,
        "first_name": first_names[c_person], "last_name": last_names[c_person],
        "email": _strs(c_email),
        "phone_n": rng.integers(1_000_000, 9_999_999, NC), "phone_null": rng.random(NC) < 0.15,
        "birth": c_birth, "birth_null": c_birth_null,
        "gender": _strs(np.where(rng.random(NC) < 0.05, None, gender_names[gender[c_person]])),
        "annual_income": pl.Series(np.where(rng.random(NC) < 0.2, np.nan, income[c_person])).fill_nan(None),
        "city": _strs(c_city),
        "country_code": _strs(c_country),
        "company_name": _strs(comp_names_arr[company_of[c_person]]),
        "web_user_id": web_user_id.gather(c_person) if NC else _strs([]),
        "is_dup": c_is_dup,
        "lifecycle_stage": c_stage,
        "marketing_opt_in": c_opt,
        "opt_at": c_opt_at, "opt_fmt": c_opt_fmt,
        "created": c_written_created, "c_fmt": c_fmt,
    }).with_columns(
        pl.when(pl.col("phone_null")).then(None).otherwise(pl.format("+1-555-{}", pl.col("phone_n"))).alias("phone"),
        pl.when(pl.col("birth_null")).then(None).otherwise(csvout.date_expr("birth")).alias("birth_date"),
        pl.when(pl.col("company_name") == "").then(None).otherwise(pl.col("company_name")).alias("company_name"),
        pl.when(pl.col("is_dup")).then(None).otherwise(pl.col("web_user_id")).alias("web_user_id"),
        pl.when(pl.col("opt_at") < 0).then(None).otherwise(csvout.ts_expr("opt_at", "opt_fmt")).alias("opt_in_changed_at"),
        csvout.ts_expr("created", "c_fmt").alias("created_at"),
    )
    defects.add("crm_contacts", c_id[fut_c], "created_at", "future_date",
                [dt.datetime.fromtimestamp(int(t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in c_created[fut_c]],
                contacts["created_at"].gather(fut_c))
    defects.add("crm_contacts", c_id[imp], "birth_date", "implausible_birth_date",
                [dt.datetime.fromtimestamp(int(t), dt.timezone.utc).strftime("%Y-%m-%d") for t in orig_b],
                contacts["birth_date"].gather(imp))
    rng_m = _rng(seed, 8)
    n_mal = max(3, int(round(NC * RATES["crm_malformed"]))) if NC else 0
    mal = csvout.make_malformed_lines(rng_m, n_mal, len(contract.columns("crm_contacts")), 9_000_000_001)
    mal_pos = np.sort(rng_m.integers(0, max(NC, 1), n_mal))
    lines = csvout.write_csv(contacts, "crm_contacts", out_dir, malformed=[(int(p), l) for p, (_, l) in zip(mal_pos, mal)])
    defects.add("crm_contacts", [f"line:{n}" for n in lines], None, [k for k, _ in mal], [l for _, l in mal],
                [l for _, l in mal])
    counts["crm_contacts"] = {"rows": NC, "malformed_lines": len(lines)}

    # orders CSV
    o_contact = np.where(guest, -1, contact_of_person[o_person])
    orders = pl.DataFrame({
        "order_id": o_id,
        "contact_id": pl.Series(o_contact, dtype=pl.Int64),
        "email": _strs(o_email_arr),
        "ts": o_written_ts, "fmt": o_fmt,
        "amount": o_amount_written,
        "currency": _strs(o_cur_arr),
        "status": np.array(["completed", "refunded", "cancelled"])[o_status] if NO else np.zeros(0, str),
        "sales_channel": np.array(["web", "store", "phone"])[o_channel] if NO else np.zeros(0, str),
    }).with_columns(csvout.ts_expr("ts", "fmt").alias("ordered_at"),
                    pl.when(pl.col("contact_id") < 0).then(None).otherwise(pl.col("contact_id")).alias("contact_id"))
    defects.add("crm_orders", o_id.gather(fut), "ordered_at", "future_date",
                [dt.datetime.fromtimestamp(int(t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in o_ts[fut]],
                orders["ordered_at"].gather(fut))
    defects.add("crm_orders", o_id.gather(neg), "amount", "negative_amount",
                [f"{v:.2f}" for v in o_amount[neg]], [f"{v:.2f}" for v in o_amount_written[neg]])
    defects.add("crm_orders", o_id.gather(badcur), "currency", "invalid_currency", orig_cur, o_cur_arr[badcur])
    defects.add("crm_orders", o_id.gather(ph), "email", "placeholder_email", orig_email, o_email_arr[ph])
    n_mal = max(3, int(round(NO * RATES["order_malformed"]))) if NO else 0
    mal = csvout.make_malformed_lines(rng_m, n_mal, len(contract.columns("crm_orders")), 90_000_001, "SO-X")
    mal_pos = np.sort(rng_m.integers(0, max(NO, 1), n_mal))
    lines = csvout.write_csv(orders, "crm_orders", out_dir, malformed=[(int(p), l) for p, (_, l) in zip(mal_pos, mal)])
    defects.add("crm_orders", [f"line:{n}" for n in lines], None, [k for k, _ in mal], [l for _, l in mal],
                [l for _, l in mal])
    counts["crm_orders"] = {"rows": NO, "malformed_lines": len(lines)}

    # ------------------------------------------------------------------ survey
    rng = _rng(seed, 9)
    resp = np.flatnonzero((in_crm & (rng.random(P) < RATES["survey_crm"])) | (silo == 2))
    NS = len(resp)
    s_id = pl.Series(rng.permutation(NS) + 10_000_000).cast(pl.String)
    s_id = "R_" + s_id if NS else s_id
    s_ts = acquired[resp] + (rng.random(NS) * (end - acquired[resp])).astype(np.int64)
    s_email = email.gather(resp).to_numpy().astype(object) if NS else np.zeros(0, object)
    u = rng.random(NS)
    ph_s = np.flatnonzero(u < RATES["survey_placeholder_email"])
    orig = s_email[ph_s].copy()
    s_email[ph_s] = np.array(catalog.PLACEHOLDER_EMAILS, dtype=object)[rng.integers(0, 4, len(ph_s))]
    defects.add("survey_responses", s_id.gather(ph_s), "email", "placeholder_email", orig, s_email[ph_s])
    bad_s = np.flatnonzero((u >= RATES["survey_placeholder_email"]) &
                           (u < RATES["survey_placeholder_email"] + RATES["survey_invalid_email"]))
    orig = s_email[bad_s].copy()
    s_email[bad_s] = [e.replace("@", " at ") for e in orig]
    defects.add("survey_responses", s_id.gather(bad_s), "email", "invalid_email_syntax", orig, s_email[bad_s])
    likert_means = np.array([g.likert_means for g in G])
    survey = {"response_id": s_id, "email": _strs(s_email), "ts": s_ts,
              "fmt": csvout.random_ts_formats(rng, NS)}
    for k, item in enumerate(catalog.SURVEY_ITEMS):
        v = np.clip(np.round(likert_means[group[resp], k] + rng.normal(0, 0.75, NS)), 1, 5).astype(np.int64)
        miss = rng.random(NS) < 0.03
        bad = np.flatnonzero(~miss)[_pick(rng, int((~miss).sum()), RATES["likert_out_of_range"], 1 if NS else 0)]
        orig_v = v[bad].copy()
        v[bad] = np.array([0, 6, 7, 9, 55])[rng.integers(0, 5, len(bad))]
        defects.add("survey_responses", s_id.gather(bad), item, "likert_out_of_range", orig_v, v[bad])
        survey[item] = pl.Series(v, dtype=pl.Int64).scatter(np.flatnonzero(miss), None)
    interest = np.minimum((rng.random(NS)[:, None] > interest_cum[resp]).sum(1), len(catalog.INTERESTS) - 1)
    survey["main_interest"] = np.array(catalog.INTERESTS)[interest] if NS else np.zeros(0, str)
    nps = np.clip(np.round(rng.normal(g_arr("nps_mean")[group[resp]], 1.6)), 0, 10).astype(np.int64)
    bad = _pick(rng, NS, RATES["nps_out_of_range"], 1 if NS else 0)
    orig_v = nps[bad].copy()
    nps[bad] = np.array([11, 12, -1, 99, 100])[rng.integers(0, 5, len(bad))]
    defects.add("survey_responses", s_id.gather(bad), "nps_score", "nps_out_of_range", orig_v, nps[bad])
    survey["nps_score"] = nps
    survey_df = pl.DataFrame(survey).with_columns(csvout.ts_expr("ts", "fmt").alias("submitted_at"))
    csvout.write_csv(survey_df, "survey_responses", out_dir)
    counts["survey_responses"] = {"rows": NS, "malformed_lines": 0}

    # ------------------------------------------------------------------ campaigns, spend, email events, A/B
    rng = _rng(seed, 10)
    campaigns = pl.DataFrame({
        "campaign_id": [c[0] for c in camp], "campaign_name": [c[1] for c in camp], "channel": [c[2] for c in camp],
        "s": camp_start, "e": camp_end, "objective": [c[5] for c in camp],
    }).with_columns(csvout.date_expr("s").alias("start_date"), csvout.date_expr("e").alias("end_date"))
    csvout.write_csv(campaigns, "campaigns", out_dir)
    counts["campaigns"] = {"rows": len(camp), "malformed_lines": 0}
    scale = P / 100_000
    sp = []
    for ci, c in enumerate(camp):
        d0, d1 = (camp_start[ci] - start) // DAY, min((camp_end[ci] - start) // DAY, days - 1)
        dd = np.arange(d0, d1 + 1)
        n = len(dd)
        spend_usd = c[6] * scale * np.exp(rng.normal(0, 0.2, n))
        cur_i = cur_names.index(c[7])
        spend = np.round(spend_usd / fx_mat[cur_i, dd], 2)
        impressions = rng.poisson(spend_usd / catalog.CHANNEL_CPM[c[2]] * 1000)
        clicks = rng.binomial(impressions, catalog.CHANNEL_CTR[c[2]])
        sp.append(pl.DataFrame({"d": start + dd * DAY, "campaign_id": c[0], "channel": c[2], "spend": spend,
                                "currency": c[7], "impressions": impressions, "clicks": clicks}))
    spend_df = pl.concat(sp).sort("d", "campaign_id").with_columns(csvout.date_expr("d").alias("spend_date"))
    csvout.write_csv(spend_df, "ad_spend", out_dir)
    counts["ad_spend"] = {"rows": spend_df.height, "malformed_lines": 0}

    srt = np.lexsort((ev_p, ev_ts))
    ev_p, ev_c, ev_t, ev_ts = ev_p[srt], ev_c[srt], ev_t[srt], ev_ts[srt]
    NE = len(ev_p)
    e_id = pl.Series(np.arange(1, NE + 1)).cast(pl.String).str.zfill(9)
    e_id = "EV-" + e_id if NE else e_id
    e_camp = np.array([c[0] for c in camp], dtype=object)[ev_c]
    orphan = _pick(rng, NE, RATES["email_orphan_campaign"], 1 if NE else 0)
    orig = e_camp[orphan].copy()
    e_camp[orphan] = np.array(catalog.UNKNOWN_CAMPAIGN_IDS, dtype=object)[rng.integers(0, 3, len(orphan))]
    defects.add("email_events", e_id.gather(orphan), "campaign_id", "orphan_campaign", orig, e_camp[orphan])
    email_df = pl.DataFrame({
        "event_id": e_id, "campaign_id": _strs(e_camp),
        "email": email.gather(ev_p) if NE else email.clear(),
        "event_type": np.array(["send", "open", "click", "unsubscribe", "bounce"])[ev_t],
        "ts": ev_ts, "fmt": csvout.random_ts_formats(rng, NE),
    }).with_columns(csvout.ts_expr("ts", "fmt").alias("occurred_at"))
    csvout.write_csv_days(email_df, "email_events", out_dir, "ts", start, days)
    counts["email_events"] = {"rows": NE, "malformed_lines": 0}

    exps = pl.DataFrame({
        "experiment_id": [e[0] for e in catalog.EXPERIMENTS], "experiment_name": [e[1] for e in catalog.EXPERIMENTS],
        "campaign_id": [e[2] for e in catalog.EXPERIMENTS],
        "s": [camp_start[camp_idx[e[2]]] for e in catalog.EXPERIMENTS],
        "e": [camp_start[camp_idx[e[2]]] + DAY for e in catalog.EXPERIMENTS],
        "control_variant": "control", "conversion_window_days": [e[3] for e in catalog.EXPERIMENTS],
    }).with_columns(csvout.date_expr("s").alias("start_date"), csvout.date_expr("e").alias("end_date"))
    csvout.write_csv(exps, "experiments", out_dir)
    counts["experiments"] = {"rows": exps.height, "malformed_lines": 0}
    if ab_rows:
        ab = pl.concat(ab_rows)
    else:
        ab = pl.DataFrame({"experiment_id": [], "person": [], "treat": [], "assigned": []},
                          schema={"experiment_id": pl.String, "person": pl.Int64, "treat": pl.Boolean, "assigned": pl.Int64})
    ab = ab.with_columns(pl.Series("email", email.gather(ab["person"].to_numpy())) if ab.height else pl.lit(None, pl.String).alias("email"))
    unk_rows = _pick(rng, ab.height, RATES["ab_unknown_experiment"], 1 if ab.height else 0)
    # a person picked twice gets different unknown ids, so (experiment_id, email) stays a unique key
    unk = ab[unk_rows].with_columns(pl.Series("u", rng.integers(0, 3, len(unk_rows)))).with_columns(
        ((pl.col("u").first().over("email") + pl.int_range(pl.len()).over("email")) % 3).alias("u"))
    unk = unk.with_columns(
        pl.Series("experiment_id", np.array(catalog.UNKNOWN_EXPERIMENT_IDS)[unk["u"].to_numpy()]),
        (pl.col("assigned") + 3600).alias("assigned")).drop("u")
    ab_all = pl.concat([ab.with_columns(pl.lit(False).alias("unknown")), unk.with_columns(pl.lit(True).alias("unknown"))])
    ab_all = ab_all.with_row_index("i").with_columns(
        pl.when(pl.col("treat")).then(pl.lit("treatment")).otherwise(pl.lit("control")).alias("variant"),
        pl.Series("fmt", csvout.random_ts_formats(rng, ab_all.height)),
    ).with_columns(csvout.ts_expr("assigned", "fmt").alias("assigned_at"),
                   (pl.col("experiment_id") + "|" + pl.col("email")).alias("record_key")).sort("assigned", "i")
    u_rows = ab_all.filter(pl.col("unknown"))
    defects.add("ab_assignments", u_rows["record_key"], "experiment_id", "unknown_experiment",
                [None] * u_rows.height, u_rows["experiment_id"])
    csvout.write_csv(ab_all, "ab_assignments", out_dir)
    counts["ab_assignments"] = {"rows": ab_all.height, "malformed_lines": 0}
    csvout.write_csv(fx_df.with_columns(csvout.date_expr("rate_date").alias("rate_date")), "fx_rates", out_dir,
                     float_precision=6)
    counts["fx_rates"] = {"rows": fx_df.height, "malformed_lines": 0}

    # ------------------------------------------------------------------ web events
    rng = _rng(seed, 11)
    n_pseudo = rng.integers(1, 4, P)
    pseudo_base = 1_000_000_000 + (rng.permutation(P)[:, None] * 3 + np.arange(3)[None, :]) * 7
    pseudo_sfx = acquired[:, None] + np.arange(3)[None, :] * 3600 * 24 * 7
    pseudo_ids = pl.select(pl.format("{}.{}", pl.Series(pseudo_base.reshape(-1)), pl.Series(pseudo_sfx.reshape(-1)))
                           .alias("p"))["p"]
    dev_probs = np.array([g.device_probs for g in G])
    cum_d = np.cumsum(dev_probs, axis=1)
    dev_cat = np.minimum((rng.random((P, 3, 1)) > cum_d[group][:, None, :]).sum(2), 2)
    device_idx = dev_cat * 2 + (rng.random((P, 3)) < 0.5)
    paid = [i for i, c in enumerate(camp) if c[2] != "email"]
    emails_c = [i for i, c in enumerate(camp) if c[2] == "email"]
    source_table = [("(direct)", "(none)", "(direct)"), ("google", "organic", "(organic)")]
    for i in emails_c + paid:
        s_, m_ = catalog.CHANNEL_MEDIUM[camp[i][2]]
        source_table.append((s_, m_, camp[i][1]))
    u = rng.random((P, 3))
    src = np.where(u < 0.35, 0, np.where(u < 0.6, 1, 0))
    is_email_src = (u >= 0.6) & (u < 0.7)
    src = np.where(is_email_src, 2 + rng.integers(0, len(emails_c), (P, 3)), src)
    # paid first touch: a paid campaign active around the person's first visit
    active = np.array([[(camp_start[i] <= a + 30 * DAY) and (camp_end[i] >= a - 30 * DAY) for i in paid]
                       for a in (start + np.arange(0, days + 1, 7) * DAY)])
    week = np.clip((acquired - start) // (7 * DAY), 0, active.shape[0] - 1)
    choice_u = rng.random((P, 3))
    act = active[week].astype(float) + 1e-6
    cum_a = np.cumsum(act / act.sum(1, keepdims=True), axis=1)
    paid_pick = np.minimum((choice_u[:, :, None] > cum_a[:, None, :]).sum(2), len(paid) - 1)
    src = np.where(u >= 0.7, 2 + len(emails_c) + paid_pick, src)
    web_people = np.flatnonzero(web_mode > 0)
    weight = g_arr("web_activity")[group[web_people]] * np.exp(rng.normal(0, 0.5, len(web_people)))
    world = web.WebWorld(
        person=web_people, weight=weight, start=acquired[web_people], dead_at=dead_at[web_people],
        decaying=decaying[web_people], logged_in_capable=web_mode[web_people] == 1,
        n_pseudo=n_pseudo[web_people], pseudo_ids=pseudo_ids.to_arrow().cast(pa.string()),
        user_ids=web_user_id.to_arrow().cast(pa.string()), geo_idx=geo_idx, device_idx=device_idx, source_idx=src,
        interest_cum=interest_cum)
    wo = np.flatnonzero((o_channel == 0) & (web_mode[o_person] > 0))
    wo = wo[np.argsort(o_ts[wo], kind="stable")]
    web_orders = {"person": o_person[wo], "ts": o_ts[wo], "order_id": o_id.gather(wo).to_arrow().cast(pa.string()) if len(wo) else pa.array([], pa.string()),
                  "revenue_usd": o_usd[wo], "capable": web_mode[o_person[wo]] == 1, "n_pseudo": n_pseudo[o_person[wo]]}
    purchase_events = len(wo) * 6
    total_browse = max(P * events_per_customer - purchase_events, 0.3 * P * events_per_customer) / 5.4
    wres = web.write_days(out_dir, world, seed, start, days, decay_from, total_browse, web_orders, geo_table,
                          source_table)
    counts["web_events"] = {"rows": wres["events"], "sessions": wres["sessions"], "files": days, "malformed_lines": 0}

    # ------------------------------------------------------------------ truth
    seen = wres["pseudo_seen"].reshape(P, 3)
    user_seen = wres["user_seen"]
    pseudo_mat = pseudo_ids.to_numpy().reshape(P, 3)
    sp_p, sp_j = np.nonzero(seen)
    ids = [
        pl.DataFrame({"source": "crm_contacts", "record_key": pl.Series(c_id).cast(pl.String), "person_id": c_person}),
        pl.DataFrame({"source": "crm_orders", "record_key": o_id, "person_id": o_person}),
        pl.DataFrame({"source": "survey_responses", "record_key": s_id, "person_id": resp}),
        pl.DataFrame({"source": "email_events", "record_key": e_id, "person_id": ev_p}),
        pl.DataFrame({"source": "web_user_pseudo_id", "record_key": _strs(pseudo_mat[sp_p, sp_j]),
                      "person_id": sp_p}),
        pl.DataFrame({"source": "web_user_id", "record_key": web_user_id.gather(np.flatnonzero(user_seen)),
                      "person_id": np.flatnonzero(user_seen)}),
        ab_all.select(pl.lit("ab_assignments").alias("source"), "record_key", pl.col("person").alias("person_id")),
    ]
    identifiers = pl.concat([d.with_columns(pl.col("person_id").cast(pl.Int64), pl.col("source").cast(pl.String),
                                            pl.col("record_key").cast(pl.String)) for d in ids])
    identifiers.write_parquet(truth_dir / "identifiers.parquet")

    n_orders = np.bincount(o_person, minlength=P)
    prev_lo = end - 30 * DAY
    bought_prev = np.bincount(o_person[(o_ts >= prev_lo) & (o_ts < end)], minlength=P) > 0
    contact_lists = pl.DataFrame({"person_id": c_person, "cid": c_id}).group_by("person_id").agg(
        pl.col("cid").sort().alias("contact_ids"))
    pseudo_lists = pl.DataFrame({"person_id": sp_p, "pseudo": pseudo_mat[sp_p, sp_j]}).group_by("person_id").agg(
        pl.col("pseudo").sort().alias("pseudo_ids"))
    in_survey = np.zeros(P, bool); in_survey[resp] = True
    in_email = np.zeros(P, bool); in_email[ev_p] = True
    in_ab = np.zeros(P, bool); in_ab[ab_all["person"].to_numpy()] = True
    in_web = np.zeros(P, bool); in_web[sp_p] = True
    people = pl.DataFrame({
        "person_id": pid, "group_id": group, "group_name": np.array([g.name for g in G])[group],
        "silo": np.array(SILOS)[silo],
        "canonical_email": email,
        "web_user_id": web_user_id,
        "first_name": first_names, "last_name": last_names,
        "gender": np.array(["female", "male", "non-binary"])[gender],
        "birth_date": pl.from_epoch(pl.Series(birth), time_unit="s").dt.date(),
        "annual_income": income, "country_code": np.array(catalog.COUNTRY_CODES)[country],
        "city": np.array([g[2] for g in geo_table])[geo_idx],
        "company_name": _strs(comp_names_arr[company_of]).replace("", None),
        "acquired_at": pl.from_epoch(pl.Series(acquired), time_unit="s"),
        "in_crm": in_crm, "in_orders": n_orders > 0, "in_web": in_web, "in_web_logged_in": user_seen,
        "in_survey": in_survey, "in_email": in_email, "in_ab": in_ab,
        "web_mode": np.array(["none", "login", "anonymous"])[web_mode],
        "purchase_rate_per_year": lam, "dropout_p": drop_p, "mean_order_value_usd": aov,
        "alive_at_as_of": alive_now, "alive_at_as_of_minus_30": alive_prev,
        "p_purchase_next_30d": p_next, "p_purchase_30d_after_as_of_minus_30": p_prev,
        "purchased_in_30d_before_as_of": bought_prev,
        "decaying": decaying, "n_orders": n_orders,
    }).join(contact_lists, on="person_id", how="left").join(pseudo_lists, on="person_id", how="left").sort("person_id")
    people.write_parquet(truth_dir / "people.parquet")
    defects_df = defects.frame()
    defects_df.write_parquet(truth_dir / "defects.parquet")
    pl.DataFrame(ab_truth).write_parquet(truth_dir / "ab_effects.parquet")
    pl.DataFrame({
        "order_id": o_id, "person_id": o_person, "ordered_at": pl.from_epoch(pl.Series(o_ts), time_unit="s"),
        "ordered_at_written_utc": pl.from_epoch(pl.Series(o_written_ts), time_unit="s"),
        "amount": o_amount, "currency": np.array(cur_names)[o_cur], "amount_usd": o_usd,
        "status": orders["status"], "sales_channel": orders["sales_channel"],
        "kind": np.array(["organic", "forced_orphan", "ab_treatment"])[o_kind],
    }).write_parquet(truth_dir / "orders.parquet")

    summary = {
        "params": {"customers": P, "events_per_customer": events_per_customer, "seed": seed,
                   "as_of": as_of.isoformat(), "days": days, "history_start": dt.datetime.fromtimestamp(start, dt.timezone.utc).isoformat(),
                   "decay_days": DECAY_DAYS, "decay_factor": DECAY_FACTOR, "rates": RATES,
                   "silo_shares_planted": dict(zip(SILOS, SILO_SHARES)),
                   "groups": [{"group_id": g.group_id, "name": g.name, "share": g.share} for g in G]},
        "sources": counts,
        "defects": {r["defect_class"]: r["len"] for r in defects_df.group_by("defect_class").len().sort("defect_class").to_dicts()},
        "defects_by_source": {f"{r['source']}.{r['defect_class']}": r["len"]
                              for r in defects_df.group_by("source", "defect_class").len().sort("source", "defect_class").to_dicts()},
        "people": {"total": P, "silo": {s: int((silo == i).sum()) for i, s in enumerate(SILOS)},
                   "groups": {g.name: int((group == g.group_id).sum()) for g in G},
                   "decaying": int(decaying.sum()), "companies": n_comp,
                   "company_contacts": int(len(comp_people)), "duplicate_contacts": int(len(dup_p))},
        "seconds": round(time.time() - t_start, 2),
    }
    from .privacy import plant as plant_privacy  # consent file, deletion requests, erasure truth
    summary["sources"].update(plant_privacy(out_dir, truth_dir, people, seed, as_of))
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return summary


def count_le_at(key: np.ndarray, first: np.ndarray, r: np.ndarray, t: np.ndarray, start: int) -> np.ndarray:
    """Number of latent purchase points of persons r at or before times t."""
    return np.searchsorted(key, r.astype(np.int64) * (1 << 36) + (t - start), side="right") - first[r]
