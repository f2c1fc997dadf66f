"""GA4 BigQuery-export style web events, streamed one Parquet file per day (bounded memory)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import catalog

DAY = 86_400
EVENT_NAMES = ["session_start", "login", "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
PARAM_KEYS = ["ga_session_id", "page_location", "engagement_time_msec"]
# URL table (see catalog.SITE): generic pages, then per category its sub-pages, then per category its
# products, then login / checkout / confirmation. Index arithmetic below relies on this layout.
N_CAT = len(catalog.CATEGORY_PATHS)
N_GENERIC = len(catalog.GENERIC_PAGES)
N_SUB = len(catalog.CATEGORY_SUBPAGES[catalog.CATEGORY_PATHS[0]])
assert all(len(v) == N_SUB for v in catalog.CATEGORY_SUBPAGES.values())
N_PROD = catalog.PRODUCTS_PER_CATEGORY
URL_CATEGORY0 = N_GENERIC
URL_PRODUCT0 = N_GENERIC + N_CAT * N_SUB
URLS = ([catalog.SITE + p for p in catalog.GENERIC_PAGES]
        + [f"{catalog.SITE}/{c}/{sub}" for c in catalog.CATEGORY_PATHS for sub in catalog.CATEGORY_SUBPAGES[c]]
        + [f"{catalog.SITE}/{c}/p/{ci * N_PROD + k:04d}" for ci, c in enumerate(catalog.CATEGORY_PATHS)
           for k in range(N_PROD)]
        + [catalog.SITE + "/account/login", catalog.SITE + "/checkout", catalog.SITE + "/checkout/confirmation"])
URL_LOGIN, URL_CHECKOUT, URL_CONFIRM = len(URLS) - 3, len(URLS) - 2, len(URLS) - 1
P_GENERIC_PAGE = 0.3     # share of page views on pages without a category (home, sale, account, ...)
P_SESSION_CATEGORY = 0.75  # a categorised page view stays in the session's category, else a fresh draw
DEVICE_OS = [("desktop", "Windows"), ("desktop", "Macintosh"), ("mobile", "iOS"), ("mobile", "Android"),
             ("tablet", "iOS"), ("tablet", "Android")]

VALUE_TYPE = pa.struct([("string_value", pa.string()), ("int_value", pa.int64()),
                        ("float_value", pa.float64()), ("double_value", pa.float64())])
PARAM_TYPE = pa.struct([("key", pa.string()), ("value", VALUE_TYPE)])
SCHEMA = pa.schema([
    ("event_date", pa.string()),
    ("event_timestamp", pa.int64()),
    ("event_name", pa.string()),
    ("event_params", pa.list_(PARAM_TYPE)),
    ("user_id", pa.string()),
    ("user_pseudo_id", pa.string()),
    ("geo", pa.struct([("country", pa.string()), ("region", pa.string()), ("city", pa.string())])),
    ("device", pa.struct([("category", pa.string()), ("operating_system", pa.string())])),
    ("traffic_source", pa.struct([("source", pa.string()), ("medium", pa.string()), ("name", pa.string())])),
    ("ecommerce", pa.struct([("transaction_id", pa.string()), ("purchase_revenue", pa.float64())])),
])


@dataclass
class WebWorld:
    """Per-person web state prepared by the core generator."""

    person: np.ndarray          # person ids with web presence
    weight: np.ndarray          # relative session intensity
    start: np.ndarray           # first possible visit (epoch s)
    dead_at: np.ndarray         # BG/NBD dropout time (epoch s, huge when alive)
    decaying: np.ndarray        # bool
    logged_in_capable: np.ndarray  # bool: has a website login (user_id)
    n_pseudo: np.ndarray        # cookies per person (1..3)
    # indexed by person id (full population):
    pseudo_ids: pa.Array        # P*3 strings, index person*3 + j
    user_ids: pa.Array          # P strings (null when no login)
    geo_idx: np.ndarray         # P ints into geo table
    device_idx: np.ndarray      # (P, 3) ints into DEVICE_OS
    source_idx: np.ndarray      # (P, 3) ints into the traffic-source table
    interest_cum: np.ndarray    # (P, N_CAT) cumulative interest mix (catalog.CATEGORY_PATHS order)


def _take(table: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return table.take(pa.array(idx, mask=mask))


def _draw_category(rng, cum: np.ndarray) -> np.ndarray:
    """One category per row of a (n, N_CAT) matrix of cumulative probabilities."""
    return np.minimum((rng.random(len(cum))[:, None] > cum).sum(1), N_CAT - 1)


def _day_sessions(rng, world: WebWorld, cum_w, target: int, day_start: int, decay_from: int):
    """Sample `target` browsing sessions for one day (person positions into world arrays)."""
    got: list[np.ndarray] = []
    have = 0
    rate = 0.5
    tries = 0
    while have < target and tries < 50:
        n = int((target - have) / max(rate, 0.02) * 1.1) + 16
        cand = np.searchsorted(cum_w, rng.random(n) * cum_w[-1], side="right")
        cand = np.minimum(cand, len(cum_w) - 1)
        acc = np.where(world.start[cand] <= day_start + DAY, 1.0, 0.0)
        acc *= np.where(world.decaying[cand] & (day_start >= decay_from), 0.15, 1.0)
        acc *= np.where(world.dead_at[cand] < day_start, 0.3, 1.0)
        keep = cand[rng.random(n) < acc]
        rate = max(len(keep) / n, 0.02)
        got.append(keep)
        have += len(keep)
        tries += 1
    return np.concatenate(got)[:target] if got else np.zeros(0, np.int64)


def write_days(out_dir: Path, world: WebWorld, seed: int, start_day: int, n_days: int, decay_from: int,
               total_browse_sessions: float, web_orders: dict, geo_table, source_table) -> dict:
    """Write web_events/events_YYYYMMDD.parquet for each day; return counts and the pseudo ids seen.

    web_orders: arrays person, ts, order_id (pa string array), revenue_usd, sorted by ts.
    """
    web_dir = out_dir / "web_events"
    web_dir.mkdir(parents=True, exist_ok=True)
    P = len(world.geo_idx)
    seen = np.zeros(P * 3, dtype=bool)
    user_seen = np.zeros(P, dtype=bool)
    urls = pa.array(URLS)
    names = pa.array(EVENT_NAMES)
    keys = pa.array(PARAM_KEYS)
    geo_c, geo_r, geo_ci = (pa.array([g[i] for g in geo_table]) for i in range(3))
    dev_c, dev_o = pa.array([d[0] for d in DEVICE_OS]), pa.array([d[1] for d in DEVICE_OS])
    src_s, src_m, src_n = (pa.array([s[i] for s in source_table]) for i in range(3))
    n_geo = len(geo_table)

    # expected browsing sessions per day follow the (weighted) number of acquired web people
    start_dayidx = np.clip((world.start - start_day) // DAY, 0, n_days - 1)
    active_w = np.cumsum(np.bincount(start_dayidx, weights=world.weight, minlength=n_days))
    per_day = total_browse_sessions * active_w / active_w.sum()
    cum_w = np.cumsum(world.weight)
    order_day = (web_orders["ts"] - start_day) // DAY
    order_bounds = np.searchsorted(order_day, np.arange(n_days + 1))
    n_events_total = 0
    n_sessions_total = 0
    pool = ThreadPoolExecutor(max_workers=1)  # write day d while day d+1 is generated (one table in flight)
    pending = None
    for d in range(n_days):
        rng = np.random.default_rng([seed, 9000 + d])
        day_start = start_day + d * DAY
        weekday = ((day_start // DAY) + 3) % 7  # 0 = Monday
        target = int(round(per_day[d] * (0.85 if weekday >= 5 else 1.06)))
        pos = _day_sessions(rng, world, cum_w, target, day_start, decay_from) if target > 0 else np.zeros(0, np.int64)
        nb = len(pos)
        # purchase sessions for the web orders of the day
        lo, hi = order_bounds[d], order_bounds[d + 1]
        o_person = web_orders["person"][lo:hi]
        no = len(o_person)
        person = np.concatenate([world.person[pos], o_person])
        capable = np.concatenate([world.logged_in_capable[pos], web_orders["capable"][lo:hi]])
        npseudo = np.concatenate([world.n_pseudo[pos], web_orders["n_pseudo"][lo:hi]])
        S = nb + no
        day_str = np.datetime_as_string(np.datetime64(day_start, "s"), unit="D").replace("-", "")
        if S == 0:
            pq.write_table(SCHEMA.empty_table(), web_dir / f"events_{day_str}.parquet", compression="snappy")
            continue
        is_pur = np.r_[np.zeros(nb, bool), np.ones(no, bool)]
        j = (rng.random(S) * npseudo).astype(np.int64)
        login = capable & (rng.random(S) < np.where(is_pur, 0.85, 0.45))
        n_pv = np.where(is_pur, 1, 1 + rng.poisson(2.2, S))
        vi = np.where(is_pur, 1, rng.random(S) < 0.5)
        cart = np.where(is_pur, 1, vi & (rng.random(S) < 0.3))
        co = np.where(is_pur, 1, cart & (rng.random(S) < 0.35))
        o_idx = np.r_[np.full(nb, -1, np.int64), np.arange(lo, hi)]
        s0 = np.empty(S, np.int64)  # browsing: a random second; purchase: ends at the order time
        s0[:nb] = day_start + rng.integers(0, DAY - 1800, nb)
        s0[nb:] = np.maximum(day_start, web_orders["ts"][lo:hi] - (5 + login[nb:]) * 30)
        perm = np.argsort(s0, kind="stable")  # sessions in time order (no sort of the nested table)
        person, j, login, n_pv, vi, cart, co, is_pur, o_idx, s0 = (
            a[perm] for a in (person, j, login, n_pv, vi, cart, co, is_pur, o_idx, s0))
        c1 = 1 + login
        c2 = c1 + n_pv
        c3 = c2 + vi
        c4 = c3 + cart
        c5 = c4 + co
        c6 = c5 + is_pur
        n_ev = c6.astype(np.int64)
        N = int(n_ev.sum())
        offs = np.zeros(S + 1, np.int64)
        np.cumsum(n_ev, out=offs[1:])
        sess = np.repeat(np.arange(S), n_ev)
        p = np.arange(N) - offs[sess]
        code = ((p >= 1).astype(np.int8) + (p >= c1[sess]) + (p >= c2[sess]) + (p >= c3[sess])
                + (p >= c4[sess]) + (p >= c5[sess]))
        gap = (5 + rng.exponential(40.0, N)).astype(np.int64)
        gap[offs[:-1]] = 0
        csum = np.cumsum(gap)
        rel = csum - csum[offs[:-1]][sess]
        rel_p = np.where(is_pur[sess], p * 30, rel)
        ts_s = np.minimum(s0[sess] + rel_p, day_start + DAY - 1)
        pur_ev = code == 6
        pur_order = o_idx[sess][pur_ev]
        if no:
            ts_s[pur_ev] = web_orders["ts"][pur_order]
        ts_us = ts_s * 1_000_000 + rng.integers(0, 1_000_000, N)
        # per-event attributes
        ep = person[sess]
        ej = j[sess]
        pseudo_flat = ep * 3 + ej
        seen[pseudo_flat] = True
        logged_ev = login[sess] & (code >= 1)
        user_seen[ep[logged_ev]] = True
        # pages follow the person's interests: each session has a category drawn from the person's
        # mix; page views are generic or categorised (mostly the session's category), the items
        # viewed and added to the cart are products of the session's category
        s_cat = _draw_category(rng, world.interest_cum[person])
        e_cat = s_cat[sess]
        cat = np.where(rng.random(N) < P_SESSION_CATEGORY, e_cat, _draw_category(rng, world.interest_cum[ep]))
        page = np.where(rng.random(N) < P_GENERIC_PAGE, rng.integers(0, N_GENERIC, N),
                        URL_CATEGORY0 + cat * N_SUB + rng.integers(0, N_SUB, N))
        url = np.where(code <= 2, page, 0)
        url = np.where((code == 3) | (code == 4), URL_PRODUCT0 + e_cat * N_PROD + rng.integers(0, N_PROD, N), url)
        url = np.where(code == 1, URL_LOGIN, url)
        url = np.where(code == 5, URL_CHECKOUT, url)
        url = np.where(code == 6, URL_CONFIRM, url)
        eng = rng.integers(200, 60_000, N)
        # event_params: 3 params per event, interleaved
        sid = s0[sess]
        ints = np.zeros(3 * N, np.int64)
        ints[0::3] = sid
        ints[2::3] = eng
        int_mask = np.zeros(3 * N, bool)
        int_mask[1::3] = True
        str_idx = np.zeros(3 * N, np.int64)
        str_idx[1::3] = url
        str_mask = np.ones(3 * N, bool)
        str_mask[1::3] = False
        value = pa.StructArray.from_arrays(
            [_take(urls, str_idx, str_mask), pa.array(ints, mask=int_mask),
             pa.nulls(3 * N, pa.float64()), pa.nulls(3 * N, pa.float64())],
            fields=list(VALUE_TYPE))
        params = pa.StructArray.from_arrays([keys.take(pa.array(np.tile(np.arange(3), N))), value],
                                            fields=list(PARAM_TYPE))
        event_params = pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * N + 1, 3, dtype=np.int32)), params)
        # geo: 95% the person's city, else a random place
        g = world.geo_idx[ep]
        g = np.where(rng.random(N) < 0.05, rng.integers(0, n_geo, N), g)
        # keep geo stable within a session
        g = g[offs[:-1]][sess]
        dv = world.device_idx[ep, ej]
        src = world.source_idx[ep, ej]
        ecom_tid = np.full(N, -1, np.int64)
        ecom_rev = np.zeros(N)
        if no:
            ecom_tid[pur_ev] = pur_order
            ecom_rev[pur_ev] = web_orders["revenue_usd"][pur_order]
        ecommerce = pa.StructArray.from_arrays(
            [_take(web_orders["order_id"], np.maximum(ecom_tid, 0), ~pur_ev), pa.array(ecom_rev, mask=~pur_ev)],
            fields=list(SCHEMA.field("ecommerce").type), mask=pa.array(~pur_ev))
        table = pa.table({
            "event_date": pa.array([day_str]).take(pa.array(np.zeros(N, np.int64))),
            "event_timestamp": pa.array(ts_us),
            "event_name": names.take(pa.array(code.astype(np.int64))),
            "event_params": event_params,
            "user_id": _take(world.user_ids, ep, ~logged_ev),
            "user_pseudo_id": world.pseudo_ids.take(pa.array(pseudo_flat)),
            "geo": pa.StructArray.from_arrays([geo_c.take(pa.array(g)), geo_r.take(pa.array(g)),
                                               geo_ci.take(pa.array(g))], fields=list(SCHEMA.field("geo").type)),
            "device": pa.StructArray.from_arrays([dev_c.take(pa.array(dv)), dev_o.take(pa.array(dv))],
                                                 fields=list(SCHEMA.field("device").type)),
            "traffic_source": pa.StructArray.from_arrays(
                [src_s.take(pa.array(src)), src_m.take(pa.array(src)), src_n.take(pa.array(src))],
                fields=list(SCHEMA.field("traffic_source").type)),
            "ecommerce": ecommerce,
        }, schema=SCHEMA)
        if pending is not None:
            pending.result()
        pending = pool.submit(pq.write_table, table, web_dir / f"events_{day_str}.parquet", compression="snappy")
        n_events_total += N
        n_sessions_total += S
    if pending is not None:
        pending.result()
    pool.shutdown()
    return {"events": n_events_total, "sessions": n_sessions_total, "pseudo_seen": seen, "user_seen": user_seen}
