"""CSV writing: contract headers, mixed timestamp offsets, and malformed raw lines at known positions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from . import contract

# How a UTC instant is written. Every variant denotes the same instant.
TS_FORMATS = [
    ("%Y-%m-%dT%H:%M:%SZ", 0, ""),          # 2025-03-01T10:00:00Z
    ("%Y-%m-%d %H:%M:%S+0000", 0, ""),      # 2025-03-01 10:00:00+0000
    ("%Y-%m-%d %H:%M:%S", 2, "+02:00"),     # 2025-03-01 12:00:00+02:00
    ("%Y-%m-%d %H:%M:%S", -5, "-05:00"),    # 2025-03-01 05:00:00-05:00
    ("%Y-%m-%d %H:%M:%S", 0, ""),           # 2025-03-01 10:00:00 (no offset = UTC)
]
TS_FORMAT_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.1, 0.25])


def ts_expr(epoch_col: str, fmt_col: str) -> pl.Expr:
    """Expression formatting epoch seconds in `epoch_col` with the TS_FORMATS variant in `fmt_col`."""
    ts = pl.from_epoch(pl.col(epoch_col), time_unit="s")
    expr = None
    for i, (fmt, hours, suffix) in enumerate(TS_FORMATS):
        shifted = ts + pl.duration(hours=hours) if hours else ts
        text = shifted.dt.strftime(fmt) + pl.lit(suffix) if suffix else shifted.dt.strftime(fmt)
        expr = pl.when(pl.col(fmt_col) == i).then(text) if expr is None else expr.when(pl.col(fmt_col) == i).then(text)
    return expr.otherwise(None)


def date_expr(epoch_col: str) -> pl.Expr:
    """Epoch seconds -> 'YYYY-MM-DD'."""
    return pl.from_epoch(pl.col(epoch_col), time_unit="s").dt.strftime("%Y-%m-%d")


def random_ts_formats(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(len(TS_FORMATS), size=n, p=TS_FORMAT_WEIGHTS).astype(np.int8)


def _raw_line(values: list[str]) -> str:
    return ",".join(values)


def make_malformed_lines(rng: np.random.Generator, n: int, n_cols: int, first_key: int,
                         key_prefix: str = "") -> list[tuple[str, str]]:
    """n ragged raw lines (too few or too many fields). Returns (kind, line)."""
    tokens = np.array(["n/a", "Smith", "2024-13-45", "???", "Berlin", "true", "0", "USD", "web", "Jane"])
    out = []
    for i in range(n):
        too_many = bool(rng.integers(0, 2))
        n_fields = int(n_cols + rng.integers(1, 4)) if too_many else int(rng.integers(2, max(3, n_cols - 1)))
        fields = [f"{key_prefix}{first_key + i}"] + list(rng.choice(tokens, size=n_fields - 1))
        out.append(("malformed_too_many_fields" if too_many else "malformed_too_few_fields", _raw_line(fields)))
    return out


def write_csv(df: pl.DataFrame, source: str, out_dir: Path, *, float_precision: int | None = 2,
              malformed: list[tuple[int, str]] | None = None, file_name: str | None = None) -> list[int]:
    """Write `df` (canonical column names) as the contract's CSV with its export headers.

    `malformed`: (data_row_index, raw_line) pairs; each raw line is inserted before that data row.
    Returns the 1-based physical line numbers (header = line 1) of the inserted raw lines.
    """
    names = contract.export_names(source)
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: frame lacks contract columns {missing}")
    out = df.select([pl.col(c).alias(e) for c, e in names.items()])
    path = out_dir / (file_name or contract.file_name(source))
    malformed = sorted(malformed or [], key=lambda t: t[0])
    line_numbers: list[int] = []
    with open(path, "wb") as fh:
        prev = 0
        header = True
        for k, (pos, raw) in enumerate(malformed):
            chunk = out.slice(prev, pos - prev)
            if header or chunk.height:
                chunk.write_csv(fh, include_header=header, float_precision=float_precision)
                header = False
            fh.write((raw + "\n").encode("utf-8"))
            line_numbers.append(1 + pos + k + 1)
            prev = pos
        chunk = out.slice(prev)
        if header or chunk.height:
            chunk.write_csv(fh, include_header=header, float_precision=float_precision)
    return line_numbers


def write_csv_days(df: pl.DataFrame, source: str, out_dir: Path, epoch_col: str, start: int, n_days: int) -> None:
    """Write a daily-partitioned source: one file per UTC day of `epoch_col` (epoch seconds) over the
    n_days from `start`, named by the contract's glob with the day (YYYYMMDD) for '*'. Every day gets
    a file; a day without rows gets the header only, as a daily export does."""
    pattern = contract.file_name(source)
    (out_dir / pattern).parent.mkdir(parents=True, exist_ok=True)
    day_index = ((pl.col(epoch_col) - start) // 86_400).alias("_day")
    by_day = df.with_columns(day_index).partition_by("_day", as_dict=True, include_key=False)
    for d in range(n_days):
        name = pattern.replace("*", dt.datetime.fromtimestamp(start + d * 86_400, dt.timezone.utc).strftime("%Y%m%d"))
        rows = by_day.get((d,), df.clear())
        write_csv(rows, source, out_dir, file_name=name)
