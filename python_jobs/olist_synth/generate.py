"""Generate Olist-shaped CSV files, deterministic for a given seed.

Every figure below is calibrated against the real Kaggle files (see docs/calibration.md for real vs generated).
The generator writes the nine-file layout's eight tables the warehouse reads, with the original file names,
headers (typos included) and quoting quirks.

Structure given to repeat customers (the only signal a recommender can learn here, as on the real data):
- a later order re-buys a product the customer bought before (real: 15% of later orders),
- or buys a "companion" of an earlier product (the products that are co-purchased in multi-product orders),
- or buys in a category the customer bought before (real: 45% of later orders share a category),
- otherwise it follows global popularity.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olist_synth.vocabulary import CATEGORIES, REVIEW_MESSAGES_BAD, REVIEW_MESSAGES_GOOD, REVIEW_TITLES, STATES

log = logging.getLogger(__name__)

# Real table sizes at scale 1.0 (Kaggle olistbr/brazilian-ecommerce).
REAL_ORDERS = 99_441
REAL_PRODUCTS = 32_951
REAL_SELLERS = 3_095

# Orders per month over the real date range (full Kaggle orders table), the shape of the purchase timeline.
MONTHLY_ORDERS = {
    "2016-09": 4, "2016-10": 324, "2016-12": 1,
    "2017-01": 800, "2017-02": 1780, "2017-03": 2682, "2017-04": 2404, "2017-05": 3700, "2017-06": 3245,
    "2017-07": 4026, "2017-08": 4331, "2017-09": 4285, "2017-10": 4631, "2017-11": 7544, "2017-12": 5673,
    "2018-01": 7269, "2018-02": 6728, "2018-03": 7211, "2018-04": 6939, "2018-05": 6873, "2018-06": 6167,
    "2018-07": 6292, "2018-08": 6512, "2018-09": 16, "2018-10": 4,
}  # fmt: skip

ORDER_STATUS_SHARE = {
    "delivered": 0.97020, "shipped": 0.01113, "canceled": 0.00629, "unavailable": 0.00612,
    "invoiced": 0.00316, "processing": 0.00303, "created": 0.00005, "approved": 0.00002,
}  # fmt: skip

# Orders per customer_unique_id (real: 93,099 buy once, 2,745 twice, ...; ~3.1% buy more than once).
ORDERS_PER_CUSTOMER = {1: 93_099, 2: 2_745, 3: 203, 4: 30, 5: 8, 6: 6, 7: 3, 9: 1}
# Items per order with items (real order_items).
ITEMS_PER_ORDER = {1: 88_863, 2: 7_516, 3: 1_322, 4: 505, 5: 204, 6: 198, 7: 22, 8: 8, 9: 3, 10: 8}
# Review score distributions: delivered on time, delivered late, never delivered.
SCORE_ON_TIME = np.array([0.040, 0.025, 0.075, 0.205, 0.655])
SCORE_LATE = np.array([0.380, 0.100, 0.130, 0.150, 0.240])
SCORE_UNDELIVERED = np.array([0.700, 0.080, 0.080, 0.050, 0.090])

# Behaviour of a repeat customer's later order (calibrated to the real repeat-purchase figures).
P_REBUY_PRODUCT = 0.17
P_COMPANION = 0.08
P_SAME_CATEGORY = 0.22

PRODUCT_MEASURES = ("name_len", "desc_len", "photos", "weight", "length", "height", "width")

START = np.datetime64("2016-09-04T00:00:00")
END = np.datetime64("2018-10-17T23:59:59")


@dataclass(frozen=True)
class GeneratorConfig:
    scale: float = 1.0
    seed: int = 42

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    @property
    def n_orders(self) -> int:
        return max(50, round(REAL_ORDERS * self.scale))

    @property
    def n_products(self) -> int:
        return max(20, round(REAL_PRODUCTS * self.scale))

    @property
    def n_sellers(self) -> int:
        return max(5, round(REAL_SELLERS * self.scale))


# ----------------------------------------------------------------------------------------------- helpers


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct 32-character lowercase hex ids (md5-shaped, like Olist's)."""
    raw = rng.integers(0, np.iinfo(np.uint64).max, size=(n, 2), dtype=np.uint64, endpoint=True)
    # each row's two numbers as 16 big-endian hex digits each, then cut into 32-character ids
    digits = raw.astype(">u8").tobytes().hex().encode("ascii")
    ids = np.frombuffer(digits, dtype="S32").astype("U32")
    # a collision is astronomically unlikely; keep the guarantee explicit. Ids are distinct when their first 16 digits
    # are, checked by a sort (np.unique hashes these numbers 10x slower); the full ids only if those repeat
    first_halves = np.sort(raw[:, 0])
    if (first_halves[1:] == first_halves[:-1]).any() and len(set(ids.tolist())) != n:
        raise RuntimeError("id collision")
    return ids


def _draw(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=weights / weights.sum())]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers' last `width` decimal digits, with leading zeros, as ASCII bytes: one row per value."""
    return (np.asarray(values, dtype=np.int64)[:, None] // 10 ** np.arange(width - 1, -1, -1) % 10 + ord("0")).astype(
        np.uint8
    )


# "00" to "99" as ASCII bytes, a row per number
_TWO_DIGITS = np.array([[ord("0") + i // 10, ord("0") + i % 10] for i in range(100)], dtype=np.uint8)


def _fmt_ts(values: np.ndarray) -> np.ndarray:
    """datetime64 (years 1000-9999) -> 'YYYY-MM-DD HH:MM:SS' as ASCII bytes, NaT -> ''.

    Built from the calendar fields, two digits at a time from a table: numpy's `datetime_as_string` took most of the
    generator's time."""
    seconds = values.astype("datetime64[s]")
    nat = np.isnat(seconds)
    days = seconds.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]")
    time_of_day = np.where(nat, 0, (seconds - days).astype(np.int64))
    year = np.where(nat, 0, years.astype(np.int64) + 1970)
    pairs = [  # each field's two-digit pairs, at their columns of 'YYYY-MM-DD HH:MM:SS'
        (0, year // 100),
        (2, year % 100),
        (5, np.where(nat, 0, (months - years).astype(np.int64) + 1)),
        (8, np.where(nat, 0, (days - months).astype(np.int64) + 1)),
        (11, time_of_day // 3600),
        (14, time_of_day // 60 % 60),
        (17, time_of_day % 60),
    ]
    text = np.empty((len(values), 19), dtype=np.uint8)
    for column, number in pairs:
        text[:, column : column + 2] = _TWO_DIGITS[number]
    text[:, [4, 7, 10, 13, 16]] = np.frombuffer(b"-- ::", dtype=np.uint8)
    return np.where(nat, b"", text.view("S19").ravel())


def _fmt_num(values: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers as text with a fixed count of decimals (as '%.<decimals>f' writes them), NaN and infinities -> ''.

    Vectorised through integers: the value scaled by 10**decimals and rounded. A value whose scaled form lies within
    1e-6 of a rounding tie, or is 2**31 or more (where the scaling's own rounding error could reach 1e-6), is
    formatted by Python instead, so the text is always what '%.<decimals>f' gives.
    """
    if not len(values):
        return np.array([], dtype="U1")
    finite = np.isfinite(values)
    scaled = np.where(finite, values, 0.0) * 10**decimals
    units = np.rint(scaled)
    by_python = finite & ((np.abs(np.abs(scaled - units) - 0.5) < 1e-6) | (np.abs(units) >= 2**31))
    magnitude = np.abs(np.where(by_python, 0.0, units)).astype(np.int64)
    # the text's characters as a byte grid, a row per value: sign, whole part, point, fraction. The whole part's
    # leading zeros are spaces, the sign (if any) takes the last of them, and the spaces are stripped at the end
    whole_part = magnitude // 10**decimals
    whole = _digits(whole_part, len(str(int(whole_part.max()))))
    leading_zeros = np.logical_and.accumulate(whole[:, :-1] == ord("0"), axis=1)
    whole[:, :-1][leading_zeros] = ord(" ")
    grid = np.hstack([np.full((len(values), 1), ord(" "), dtype=np.uint8), whole])
    negative = np.flatnonzero(finite & np.signbit(values))  # printf keeps the sign of a negative value rounding to 0
    grid[negative, leading_zeros[negative].sum(axis=1)] = ord("-")
    if decimals:
        grid = np.hstack(
            [grid, np.full((len(values), 1), ord("."), dtype=np.uint8), _digits(magnitude % 10**decimals, decimals)]
        )
    text = np.strings.lstrip(grid.view(f"S{grid.shape[1]}").ravel())
    out = text.view(np.uint8).reshape(len(text), -1).astype(np.uint32).view(f"U{text.itemsize}").ravel()
    rows = np.flatnonzero(by_python)
    if rows.size:
        exact = np.array([f"{v:.{decimals}f}" for v in values[rows]])
        out = out.astype(np.promote_types(out.dtype, exact.dtype))  # wide enough for the longer texts
        out[rows] = exact
    out[~finite] = ""
    return out


def _first_rows(counts: np.ndarray) -> np.ndarray:
    """Where each parent's child rows start, when the children of parents with these counts are concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.cumsum(counts) - counts


def _sequence_numbers(counts: np.ndarray) -> np.ndarray:
    """1, 2, ..., count for each count, concatenated: the numbers of a parent's child rows."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(1, int(counts.sum()) + 1) - np.repeat(_first_rows(counts), counts)


# rows turned into CSV text at a time when a table is written
CSV_BLOCK_ROWS = 100_000


def _utf8(column: np.ndarray, first_row: int = 0) -> np.ndarray:
    """A column's cells as UTF-8 byte strings: from bytes, fixed-width text, or an object array of text.

    first_row: the column's first row in its table, for the error on a missing value."""
    if column.dtype.kind == "S":
        return column
    if column.dtype.kind == "O":
        # object columns hold text from small vocabularies (cities, categories, reviews): each value encoded once
        codes, distinct = pd.factorize(column)
        if (codes < 0).any():
            raise ValueError(f"a missing value in row {first_row + int(np.argmax(codes < 0))} of a text column")
        return np.array([str(value).encode() for value in distinct], dtype=bytes)[codes]
    if not column.size:
        return column.astype("S")
    points = column.view(np.uint32).reshape(len(column), -1)  # each character's code point
    if points.max() < 0x80:  # ASCII, the common case: the code points are the bytes (numpy's cast is 10x slower)
        return points.astype(np.uint8).view(f"S{points.shape[1]}").ravel()
    return np.strings.encode(column, "utf-8")


def _text(values: np.ndarray) -> np.ndarray:
    """Values as a fixed-width text array; a missing value (None, NaN) in an object array is ''."""
    values = np.asarray(values)
    if values.dtype.kind == "U":
        return values
    return pd.Series(values, dtype=object).fillna("").to_numpy().astype(str)


def _quoted(data: np.ndarray) -> np.ndarray:
    """UTF-8 byte strings in double quotes (bytes: a quarter of the memory of numpy's fixed-width text to copy)."""
    return np.strings.add(np.strings.add(b'"', data), b'"')


def _quote_if_digit(values: np.ndarray) -> np.ndarray:
    """Olist's quoting: a string field is quoted when it begins with a digit. As UTF-8 bytes."""
    text = _text(values)
    # the first character's code point, from the fixed-width array (0 for an empty string)
    first = text.view(np.uint32).reshape(len(text), -1)[:, 0] if text.size and text.itemsize else np.zeros(len(text))
    starts_digit = (first >= ord("0")) & (first <= ord("9"))
    data = _utf8(text)
    return np.where(starts_digit, _quoted(data), data)


def _quote_always(values: np.ndarray) -> np.ndarray:
    return _quoted(_utf8(_text(values)))


def _quote_text(values: np.ndarray) -> np.ndarray:
    """Reviews' free text: quoted only if it holds a comma, a quote or a line break; quotes doubled.

    The texts come from a small vocabulary, so each distinct text is quoted once and the results are taken back."""
    codes, distinct = pd.factorize(pd.Series(values, dtype=object).fillna(""), sort=False)
    s = pd.Series(distinct, dtype=object)
    needs = s.str.contains(r'[",\r\n]', regex=True).to_numpy(dtype=bool)
    quoted = '"' + s.str.replace('"', '""', regex=False) + '"'
    return np.where(needs, quoted, s).astype(object)[codes]


def _csv_rows(cells: list[np.ndarray], line_start: bytes) -> bytes:
    """Rows of byte-string cells as CSV text, each row starting with line_start and its cells joined by commas.

    Each cell's fixed-width bytes (NUL-padded) go into one byte grid, a row per line; dropping the NUL bytes leaves
    the text. UTF-8 text holds no NUL byte; a cell that does is an error, not a byte silently lost."""
    n = len(cells[0])
    parts = [np.tile(np.frombuffer(line_start, dtype=np.uint8), (n, 1))]
    for i, cell in enumerate(cells):
        if i:
            parts.append(np.full((n, 1), ord(","), dtype=np.uint8))
        parts.append(cell.view(np.uint8).reshape(n, cell.dtype.itemsize))
    grid = np.hstack(parts)
    text = grid[grid != 0]
    expected = n * (len(line_start) + len(cells) - 1) + sum(int(np.strings.str_len(cell).sum()) for cell in cells)
    if text.size != expected:
        raise ValueError(f"a cell holds a NUL byte ({expected - text.size} in these {n} rows)")
    return text.tobytes()


def _write_csv(
    path: Path,
    header: list[str],
    columns: list[np.ndarray],
    *,
    quote_header: bool = True,
    newline: str = "\n",
    bom: bool = False,
    trailing_newline: bool = True,
) -> None:
    """Write a CSV file from its columns (any numpy text: bytes, fixed-width, or objects), in blocks of rows."""
    rows = len(columns[0]) if columns else 0
    if any(len(column) != rows for column in columns):
        raise ValueError(f"{path.name}: columns of different lengths {[len(column) for column in columns]}")
    line_end = newline.encode()
    with open(path, "wb") as fh:
        head = ",".join(f'"{h}"' if quote_header else h for h in header)
        fh.write((("\ufeff" if bom else "") + head).encode())
        for start in range(0, rows, CSV_BLOCK_ROWS):
            cells = []
            for name, column in zip(header, columns, strict=True):
                try:
                    cells.append(_utf8(column[start : start + CSV_BLOCK_ROWS], first_row=start + 1))
                except ValueError as exc:
                    raise ValueError(f"{path.name}, column {name}: {exc}") from exc
            fh.write(_csv_rows(cells, line_end))
        if trailing_newline:
            fh.write(line_end)


@dataclass(frozen=True)
class _Table:
    """A CSV file to write: its name, its row count, its columns (formatted when called) and `_write_csv` options."""

    name: str
    rows: int
    columns: Callable[[], list[np.ndarray]]
    options: dict = field(default_factory=dict)


def _write_group(out: Path, tables: list[_Table], headers: dict[str, list[str]]) -> None:
    for table in tables:
        try:
            _write_csv(out / table.name, headers[table.name], table.columns(), **table.options)
        except Exception as exc:
            raise RuntimeError(f"could not write {out / table.name}: {exc!r}") from exc


def _write_tables(out: Path, tables: list[_Table], headers: dict[str, list[str]]) -> None:
    """Format and write the tables, about half of the cells in a forked child process, the rest in this one.

    Formatting text is most of the generator's time (10x: 1.1M rows a table), and it holds the GIL, so threads would
    not share it. The child inherits the generated arrays (fork), so nothing is copied to it. Written in this process
    alone where fork is unavailable, or where other threads run (a fork copies only the calling thread, and a lock
    another thread held would stay locked in the child)."""
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1 or len(tables) < 2:
        _write_group(out, tables, headers)
        return
    # the largest tables first, each to the process with fewer cells so far
    groups: tuple[list[_Table], list[_Table]] = ([], [])
    cells = [0, 0]
    for table in sorted(tables, key=lambda t: -t.rows * len(headers[t.name])):
        i = cells.index(min(cells))
        groups[i].append(table)
        cells[i] += table.rows * len(headers[table.name])
    child = mp.get_context("fork").Process(target=_write_group, args=(out, groups[1], headers), daemon=True)
    child.start()
    try:
        _write_group(out, groups[0], headers)
    finally:
        child.join()
    if child.exitcode != 0:
        names = ", ".join(table.name for table in groups[1])
        raise RuntimeError(f"writing {names} failed in the generator's child process (exit code {child.exitcode})")


# ----------------------------------------------------------------------------------------------- tables


def _make_categories(rng: np.random.Generator, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """Product -> category index (-1 = no category, ~1.85% of products as in the real data)."""
    n_cat = len(CATEGORIES)
    # long-tailed category sizes: real largest ~9% of products, smallest a handful
    size_w = 1.0 / np.arange(1, n_cat + 1) ** 1.05
    size_w[-2:] = size_w[-3] * np.array([0.6, 0.4])  # the two untranslated categories are small
    size_w = size_w / size_w.sum()
    n_with_category = n_products - round(n_products * 610 / REAL_PRODUCTS)
    counts = np.maximum(1, np.floor(size_w * n_with_category)).astype(int)
    counts[: max(0, n_with_category - counts.sum())] += 1  # largest categories take the remainder
    cat = np.repeat(np.arange(n_cat), counts)
    cat = np.concatenate([cat, np.full(max(0, n_products - len(cat)), -1)])[:n_products]
    rng.shuffle(cat)
    return cat, size_w


def _products(rng: np.random.Generator, n: int) -> pd.DataFrame:
    cat, _ = _make_categories(rng, n)
    no_cat = cat < 0
    weight = np.round(np.exp(rng.normal(6.6, 1.3, n))).clip(0, 40_425)
    length = np.round(np.exp(rng.normal(3.3, 0.5, n))).clip(7, 105)
    height = np.round(np.exp(rng.normal(2.55, 0.7, n))).clip(2, 105)
    width = np.round(np.exp(rng.normal(3.0, 0.45, n))).clip(6, 118)
    name_len = np.round(rng.normal(48.5, 10.2, n)).clip(5, 76)
    desc_len = np.round(np.exp(rng.normal(6.35, 0.75, n))).clip(4, 3992)
    photos = np.minimum(20, rng.geometric(0.45, n)).astype(float)
    for col in (name_len, desc_len, photos):
        col[no_cat] = np.nan
    missing_dims = rng.random(n) < 2 / REAL_PRODUCTS
    for col in (weight, length, height, width):
        col[missing_dims] = np.nan
    # price level: category shift + product noise; popularity: long tail (lognormal), category-correlated
    cat_price = rng.normal(0, 0.45, len(CATEGORIES) + 1)
    cat_pop = np.exp(rng.normal(0, 0.6, len(CATEGORIES) + 1))
    base_price = np.exp(4.40 + cat_price[cat] + rng.normal(0, 0.88, n)).clip(0.85, 6735)
    popularity = cat_pop[cat] * np.exp(rng.normal(0, 1.3, n)) * np.where(rng.random(n) < 0.01, 5.0, 1.0)
    quality = rng.normal(0, 0.6, n)  # shifts a product's review scores
    return pd.DataFrame(
        {
            "product_id": _hex_ids(rng, n),
            "category": cat,
            "name_len": name_len,
            "desc_len": desc_len,
            "photos": photos,
            "weight": weight,
            "length": length,
            "height": height,
            "width": width,
            "base_price": np.round(base_price, 2),
            "popularity": popularity / popularity.sum(),
            "quality": quality,
        }
    )


def _zero_padded(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as decimal strings of a fixed width, with leading zeros."""
    return _digits(values, width).view(f"S{width}").ravel().astype(f"U{width}")


def _places(rng: np.random.Generator, n: int, share_col: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shares = np.array([s[share_col] for s in STATES])
    idx = rng.choice(len(STATES), size=n, p=shares / shares.sum())
    states = np.array([s[0] for s in STATES])[idx]
    prefix = np.array([s[3] for s in STATES])[idx]
    digits = rng.integers(0, 10**5, size=n)
    # a zip is the state's prefix and the leading digits of a 5-digit number; SP zips are 01000-19999, a leading
    # zero on most of them, as in the real file (23,995 customer rows)
    width = np.array([len(s[3]) for s in STATES])[idx]
    lead = np.array([int(s[3]) for s in STATES])[idx]
    zip_code = np.where(prefix == "01", digits % 20000, lead * 10 ** (5 - width) + digits // 10**width)
    zips = _zero_padded(np.where(zip_code == 0, 1001, zip_code), 5)
    n_cities = np.array([len(s[4]) for s in STATES])[idx]
    first_city = np.cumsum([0] + [len(s[4]) for s in STATES])[idx]
    city = np.minimum((rng.random(n) * n_cities).astype(np.int64), n_cities - 1)
    cities = np.array([c for s in STATES for c in s[4]], dtype=object)[first_city + city]
    return zips, cities, states


def _sellers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    zips, cities, states = _places(rng, n, share_col=2)
    return pd.DataFrame(
        {
            "seller_id": _hex_ids(rng, n),
            "zip": zips,
            "city": cities,
            "state": states,
            "weight": np.exp(rng.normal(0, 1.9, n)),
        }
    )


def _order_times(rng: np.random.Generator, n: int) -> np.ndarray:
    months = np.array([np.datetime64(m) for m in MONTHLY_ORDERS])
    w = np.array(list(MONTHLY_ORDERS.values()), dtype=float)
    pick = rng.choice(len(months), size=n, p=w / w.sum())
    start = months[pick].astype("datetime64[s]")
    span = ((months[pick] + np.timedelta64(1, "M")).astype("datetime64[s]") - start).astype(np.int64)
    t = start + (rng.random(n) * span).astype("timedelta64[s]")
    return np.clip(t, START, END)


def _customers_and_orders(rng: np.random.Generator, n_orders: int) -> pd.DataFrame:
    """One row per order: customer_unique_id, order sequence number for that customer, purchase time."""
    mean_orders = sum(k * v for k, v in ORDERS_PER_CUSTOMER.items()) / sum(ORDERS_PER_CUSTOMER.values())
    k = _draw(rng, ORDERS_PER_CUSTOMER, int(n_orders / mean_orders * 1.02) + 10).astype(int)
    cum = np.cumsum(k)
    n_cust = int(np.searchsorted(cum, n_orders)) + 1
    k = k[:n_cust]
    k[-1] -= int(cum[n_cust - 1] - n_orders)  # hit the order count exactly
    k = k[k > 0]
    n_cust = len(k)
    cust = np.repeat(np.arange(n_cust), k)
    seq = _sequence_numbers(k) - 1
    first = _order_times(rng, n_cust)
    # later orders: a quarter the same day, otherwise a gap with median ~2-3 months (real repeat gaps)
    gap_days = np.where(rng.random(len(cust)) < 0.27, rng.random(len(cust)) * 0.5, rng.exponential(110, len(cust)))
    gap = (gap_days * 86400).astype("timedelta64[s]")
    gap[seq == 0] = np.timedelta64(0, "s")
    offs = pd.Series(gap.astype(np.int64)).groupby(cust).cumsum().to_numpy().astype("timedelta64[s]")
    t = first[cust] + offs
    # a sequence that runs past the end of the data is moved back as a whole
    overflow = (pd.Series((t - END).astype(np.int64)).groupby(cust).transform("max")).to_numpy()
    t = np.where(overflow[:, None].ravel() > 0, t - overflow.astype("timedelta64[s]"), t)
    t = np.clip(t, START, END)
    return pd.DataFrame({"cust": cust, "seq": seq, "purchased_at": t})


def _companions(rng: np.random.Generator, products: pd.DataFrame, per_product: int = 3) -> np.ndarray:
    """For each product, a few products of the same category that tend to be bought with it."""
    n = len(products)
    comp = np.empty((n, per_product), dtype=np.int64)
    for idx in products.groupby("category").indices.values():
        w = products["popularity"].to_numpy()[idx]
        comp[idx] = idx[rng.choice(len(idx), size=(len(idx), per_product), p=w / w.sum())]
    return comp


def _in_category(by_cat: dict, categories: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A product of each given category, drawn by its popularity with the uniform number u beside it."""
    drawn = np.empty(len(categories), dtype=np.int64)
    for c in np.unique(categories):
        rows = np.flatnonzero(categories == c)
        idx, cum_w = by_cat[c]
        drawn[rows] = idx[np.minimum(np.searchsorted(cum_w, u[rows]), len(idx) - 1)]
    return drawn


def _relate_to_history(
    anchor: np.ndarray, free: np.ndarray, orders: pd.DataFrame, n_items: np.ndarray, draws: tuple, catalog: tuple
) -> None:
    """Repeat customers: each later order's anchor relates to one of the products the customer bought before.

    An order with items and earlier orders with items (r of them) looks back at the product of the earlier one at
    `int(pick * r)` and re-buys it, takes one of its companions, or draws from its category. Orders are taken one
    rank r at a time, so the orders looked back at are settled first (the same as order by order in time).
    """
    u, pick = draws
    comp, cat, by_cat = catalog
    cust = orders["cust"].to_numpy()
    with_items = np.lexsort((orders["seq"].to_numpy(), cust))
    with_items = with_items[n_items[with_items] > 0]  # the orders with items, by customer and in time
    position = np.arange(len(with_items))
    first = np.r_[True, cust[with_items][1:] != cust[with_items][:-1]]
    rank = position - np.maximum.accumulate(np.where(first, position, 0))  # earlier orders with items
    for r in range(1, int(rank.max(initial=0)) + 1):
        at = np.flatnonzero(rank == r)
        i = with_items[at]
        j = anchor[with_items[at - r + (pick[i] * r).astype(np.int64)]]
        rebuy = u[i] < P_REBUY_PRODUCT
        companion = ~rebuy & (u[i] < P_REBUY_PRODUCT + P_COMPANION)
        same_category = ~rebuy & ~companion & (u[i] < P_REBUY_PRODUCT + P_COMPANION + P_SAME_CATEGORY) & (cat[j] >= 0)
        anchor[i[rebuy]] = j[rebuy]
        anchor[i[companion]] = comp[j[companion], (pick[i[companion]] * 997).astype(np.int64) % comp.shape[1]]
        anchor[i[same_category]] = _in_category(by_cat, cat[j[same_category]], pick[i[same_category]] * 0.999)
        free[i[rebuy | companion | same_category]] = False


def _order_item_products(
    rng: np.random.Generator, anchor: np.ndarray, n_items: np.ndarray, n_distinct: np.ndarray, catalog: tuple
) -> np.ndarray:
    """Each order's item products, order after order: its anchor, up to two other products, the anchor again.

    The other products are a companion of the anchor, else one of the anchor's category, else (an anchor without
    a category) one of the whole catalog; an order with two or three distinct products lists them sorted.
    """
    comp, cat, by_cat, pop = catalog
    n_orders = len(anchor)
    extra_u = rng.random((n_orders, 3))  # the second and third products' choices; a category draw
    # an order's products as three columns: the anchor, then the other products (choices extra_u[:, 0] and [:, 1])
    chosen = np.repeat(anchor[:, None], 3, axis=1)
    other = (np.arange(3) > 0) & (np.arange(3) < n_distinct[:, None]) & (n_items[:, None] > 0)
    picks_companion = np.c_[np.ones(n_orders), extra_u[:, :2]] < 0.5
    companion = other & picks_companion
    uncategorized = other & ~picks_companion & (cat[anchor] < 0)[:, None]
    in_category = other & ~picks_companion & ~uncategorized
    o, col = np.nonzero(companion)
    chosen[o, col] = comp[anchor[o], (col - 1) % comp.shape[1]]
    o, col = np.nonzero(in_category)
    chosen[o, col] = _in_category(by_cat, cat[anchor[o]], extra_u[o, 2])
    o, col = np.nonzero(uncategorized)  # by order, then by column: the order of the draws
    if len(o):
        chosen[o, col] = rng.choice(len(pop), size=len(o), p=pop)
    item_order = np.repeat(np.arange(n_orders), n_items)
    position = _sequence_numbers(n_items) - 1
    products = np.where(
        position < n_distinct[item_order], chosen[item_order, np.minimum(position, 2)], anchor[item_order]
    )
    mixed = np.flatnonzero(n_distinct[item_order] > 1)
    products[mixed] = products[mixed][np.lexsort((products[mixed], item_order[mixed]))]
    return products


def _assign_products(
    rng: np.random.Generator, orders: pd.DataFrame, products: pd.DataFrame, n_items: np.ndarray
) -> np.ndarray:
    """The product of each order item, order after order (n_items[i] rows for order i), with repeat-customer
    structure and every product sold at least once."""
    n_products = len(products)
    pop = products["popularity"].to_numpy()
    cat = products["category"].to_numpy()
    comp = _companions(rng, products)
    # each category's products and their cumulative popularity weights (a draw is a search in them)
    by_cat = {c: (idx, np.cumsum(pop[idx] / pop[idx].sum())) for c, idx in products.groupby("category").indices.items()}

    n_orders = len(orders)
    anchor = rng.choice(n_products, size=n_orders, p=pop)
    free = np.ones(n_orders, dtype=bool)  # anchors drawn from plain popularity (may be re-used for coverage)
    # distinct products per order: two-thirds of multi-item orders repeat one product (a quantity)
    n_distinct = np.ones(n_orders, dtype=int)
    multi = n_items > 1
    n_distinct[multi] = np.where(
        rng.random(multi.sum()) < 0.67, 1, np.minimum(n_items[multi], 2 + (rng.random(multi.sum()) < 0.1))
    )

    # repeat customers: later orders relate to what the customer bought before
    draws = (rng.random(n_orders), rng.random(n_orders))
    _relate_to_history(anchor, free, orders, n_items, draws, (comp, cat, by_cat))

    # every product in the catalog is sold at least once (true of the real catalog): unsold products take the
    # place of popularity-drawn anchors of single-item orders whose product sells at least three times
    for _ in range(10):
        sold = np.bincount(anchor[n_items > 0], minlength=n_products)
        unsold = np.flatnonzero(sold == 0)
        if len(unsold) == 0:
            break
        donors = np.flatnonzero(free & (n_items == 1) & (sold[anchor] >= 3))
        take = rng.choice(donors, size=min(len(unsold), len(donors)), replace=False)
        anchor[take] = unsold[: len(take)]
        free[take] = False

    return _order_item_products(rng, anchor, n_items, n_distinct, (comp, cat, by_cat, pop))


# ----------------------------------------------------------------------------------------------- main


def generate_olist(out_dir: str | Path, config: GeneratorConfig = GeneratorConfig()) -> dict[str, int]:
    """Write the eight Olist CSV files into out_dir; return rows written per file."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    log.info("generating Olist-shaped data: scale=%s seed=%s -> %s", config.scale, config.seed, out)

    products = _products(rng, config.n_products)
    sellers = _sellers(rng, config.n_sellers)
    product_seller = rng.choice(len(sellers), size=len(products), p=sellers["weight"] / sellers["weight"].sum())

    orders = _customers_and_orders(rng, config.n_orders)
    n = len(orders)
    status = _draw(rng, ORDER_STATUS_SHARE, n)
    # orders without items: unavailable and created ones, a quarter of the canceled
    has_items = ~np.isin(status, ["unavailable", "created"]) & ~((status == "canceled") & (rng.random(n) < 0.26))
    n_items = np.where(has_items, _draw(rng, ITEMS_PER_ORDER, n).astype(int), 0)
    it_prod = _assign_products(rng, orders, products, n_items)

    # --- order timeline
    purchased = orders["purchased_at"].to_numpy()
    sec = lambda days: (np.asarray(days) * 86400).astype("timedelta64[s]")  # noqa: E731
    approved = purchased + sec(np.where(rng.random(n) < 0.55, rng.exponential(0.02, n), rng.exponential(0.9, n)))
    carrier = approved + sec(rng.gamma(1.6, 1.9, n))
    delivered = carrier + sec(rng.gamma(2.2, 4.2, n))
    estimated = (purchased + sec(rng.normal(23.5, 8.5, n).clip(2, 150))).astype("datetime64[D]").astype("datetime64[s]")
    nat = np.datetime64("NaT")
    not_approved = (status == "created") | ((status == "canceled") & (rng.random(n) < 0.28)) | (rng.random(n) < 0.00015)
    approved = np.where(not_approved, nat, approved)
    no_carrier = np.isin(status, ["canceled", "unavailable", "invoiced", "processing", "created", "approved"])
    no_carrier &= ~((status == "canceled") & (rng.random(n) < 0.1))
    carrier = np.where(no_carrier | not_approved, nat, carrier)
    no_delivery = (status != "delivered") | (rng.random(n) < 0.00008)
    delivered = np.where(no_delivery, nat, delivered)
    late = ~np.isnat(delivered) & (delivered > estimated + np.timedelta64(1, "D"))

    cust_ids = _hex_ids(rng, n)  # customer_id: one per order
    order_ids = _hex_ids(rng, n)
    unique_ids = _hex_ids(rng, int(orders["cust"].max()) + 1)
    zips, cities, states = _places(rng, len(unique_ids), share_col=1)
    cu = orders["cust"].to_numpy()

    # --- items
    it_order = np.repeat(np.arange(n), n_items)
    it_seq = _sequence_numbers(n_items)
    price = products["base_price"].to_numpy()[it_prod] * np.where(
        rng.random(len(it_prod)) < 0.2, rng.uniform(0.9, 1.1, len(it_prod)), 1
    )
    price = np.round(price.clip(0.85, 6735), 2)
    w = np.nan_to_num(products["weight"].to_numpy()[it_prod], nan=700)
    freight = np.exp(1.45 + 0.2 * np.log(price) + 0.2 * np.log1p(w / 100) + rng.normal(0, 0.3, len(price)))
    freight *= np.where(rng.random(len(price)) < 0.04, rng.uniform(1.5, 4.5, len(price)), 1.0)  # bulky / remote
    freight = np.round(np.where(rng.random(len(price)) < 0.0034, 0.0, freight.clip(0, 410)), 2)
    shipping_limit = approved[it_order] if len(it_order) else purchased[it_order]
    shipping_limit = np.where(np.isnat(shipping_limit), purchased[it_order], shipping_limit) + sec(
        rng.uniform(3, 8, len(it_order))
    )

    # --- payments: the order total (price + freight), split over vouchers for a few orders
    totals = np.bincount(it_order, weights=price + freight, minlength=n)
    no_item_total = np.round(np.exp(rng.normal(4.6, 0.8, n)), 2)
    totals = np.round(np.where(n_items > 0, totals, no_item_total), 2)
    ptype = _draw(rng, {"credit_card": 0.757, "boleto": 0.199, "debit_card": 0.0154, "voucher": 0.0286}, n)
    not_defined = (status == "canceled") & (rng.random(n) < 3 / 625)
    n_pay = np.where(rng.random(n) < 0.03, 2 + rng.geometric(0.55, n).clip(1, 8) - 1, 1)
    pay_order = np.repeat(np.arange(n), n_pay)
    pay_seq = _sequence_numbers(n_pay)
    shares = rng.dirichlet([1.0, 1.0], size=len(pay_order))[:, 0]
    pay_type = np.where(pay_seq == n_pay[pay_order], ptype[pay_order], "voucher").astype(object)
    pay_value = np.zeros(len(pay_order))
    remaining = totals.copy()
    for s in range(1, n_pay.max() + 1):
        rows = np.flatnonzero(pay_seq == s)
        last = pay_seq[rows] == n_pay[pay_order[rows]]
        v = np.where(last, remaining[pay_order[rows]], np.round(remaining[pay_order[rows]] * shares[rows] * 0.5, 2))
        pay_value[rows] = v
        remaining[pay_order[rows]] -= v
    nd_rows = not_defined[pay_order]
    pay_type[nd_rows] = "not_defined"
    pay_value[nd_rows] = 0.0
    installments = np.where(
        pay_type == "credit_card",
        _draw(
            rng, {1: 50.5, 2: 12, 3: 10, 4: 6.8, 5: 5, 6: 3.8, 7: 1.6, 8: 4.1, 9: 0.6, 10: 5.1, 12: 0.5}, len(pay_order)
        ),
        1,
    )
    installments = np.where(nd_rows, 1, installments)

    # --- reviews: ~99% of orders, a few with two, a few review_ids re-used across orders
    n_rev = np.where(rng.random(n) < 0.992, 1, 0) + (rng.random(n) < 0.0055)
    rv_order = np.repeat(np.arange(n), n_rev)
    m = len(rv_order)
    first_prod = np.full(n, -1, dtype=np.int64)  # each order's first product, -1 for an order without items
    first_prod[n_items > 0] = it_prod[_first_rows(n_items)[n_items > 0]]
    first_prod = first_prod[rv_order]
    qual = np.where(first_prod >= 0, products["quality"].to_numpy()[np.maximum(first_prod, 0)], 0.0)
    dist = np.where(
        late[rv_order, None],
        SCORE_LATE,
        np.where(np.isnat(delivered[rv_order])[:, None], SCORE_UNDELIVERED, SCORE_ON_TIME),
    )
    shift = np.exp(np.outer(qual, np.arange(5) - 2) * 0.5)
    probs = dist * shift
    probs /= probs.sum(axis=1, keepdims=True)
    score = (probs.cumsum(axis=1) < rng.random(m)[:, None]).sum(axis=1) + 1
    base_day = np.where(np.isnat(delivered[rv_order]), estimated[rv_order], delivered[rv_order])
    created = (base_day.astype("datetime64[D]") + np.timedelta64(1, "D")).astype("datetime64[s]")
    answered = created + sec(rng.gamma(1.2, 2.0, m) + 0.1)
    review_ids = _hex_ids(rng, m)
    dup = rng.random(m) < 0.0082
    review_ids[dup] = review_ids[rng.integers(0, m, dup.sum())]
    has_msg = rng.random(m) < 0.414
    has_title = rng.random(m) < 0.114
    good = score >= 4
    msg_g = np.array(REVIEW_MESSAGES_GOOD, dtype=object)[rng.integers(0, len(REVIEW_MESSAGES_GOOD), m)]
    msg_b = np.array(REVIEW_MESSAGES_BAD, dtype=object)[rng.integers(0, len(REVIEW_MESSAGES_BAD), m)]
    message = np.where(good, msg_g, msg_b)
    multiline = rng.random(m) < 0.04
    message = np.where(
        multiline, message + "\r\n" + np.where(good, "Obrigado, loja nota 10", "Aguardo retorno, obrigado"), message
    )
    message = np.where(has_msg, message, "")
    title = np.where(has_title, np.array(REVIEW_TITLES, dtype=object)[rng.integers(0, len(REVIEW_TITLES), m)], "")

    # ------------------------------------------------------------------------------------------- write
    from olist_synth.files import OLIST_FILES as H

    pid = products["product_id"].to_numpy(dtype=str)  # fixed-width text: gathered and quoted as arrays
    sid = sellers["seller_id"].to_numpy(dtype=str)
    cat_names = np.array([c[0] for c in CATEGORIES] + [""], dtype=object)
    translated = [(pt, en) for pt, en in CATEGORIES if en is not None]
    # each table's columns are formatted when it is written (`_write_tables`), by one of two processes
    tables = [
        _Table("olist_orders_dataset.csv", len(order_ids), lambda: [
            _quote_if_digit(order_ids), _quote_if_digit(cust_ids), status, _fmt_ts(purchased),
            _fmt_ts(approved), _fmt_ts(carrier), _fmt_ts(delivered), _fmt_ts(estimated),
        ]),
        _Table("olist_customers_dataset.csv", len(cust_ids), lambda: [
            _quote_if_digit(cust_ids), _quote_if_digit(unique_ids[cu]), _quote_always(zips[cu]), cities[cu], states[cu],
        ]),
        _Table("olist_order_items_dataset.csv", len(it_order), lambda: [
            _quote_if_digit(order_ids[it_order]), it_seq.astype(str), _quote_if_digit(pid[it_prod]),
            _quote_if_digit(sid[product_seller[it_prod]]), _fmt_ts(shipping_limit), _fmt_num(price, 2),
            _fmt_num(freight, 2),
        ]),
        _Table("olist_products_dataset.csv", len(pid), lambda: [
            _quote_if_digit(pid), cat_names[products["category"].to_numpy()],
            *[_fmt_num(products[c].to_numpy(), 0) for c in PRODUCT_MEASURES],
        ]),
        _Table("olist_sellers_dataset.csv", len(sid), lambda: [
            _quote_if_digit(sid), _quote_always(sellers["zip"].to_numpy()),
            sellers["city"].to_numpy(), sellers["state"].to_numpy(),
        ]),
        _Table("olist_order_reviews_dataset.csv", len(review_ids), lambda: [
            _quote_always(review_ids), _quote_always(order_ids[rv_order]), score.astype(str),
            _quote_text(title), _quote_text(message), _fmt_ts(created), _fmt_ts(answered),
        ], {"newline": "\r\n"}),
        _Table("olist_order_payments_dataset.csv", len(pay_order), lambda: [
            _quote_if_digit(order_ids[pay_order]), pay_seq.astype(str), pay_type,
            installments.astype(int).astype(str), _fmt_num(pay_value, 2),
        ]),
        _Table("product_category_name_translation.csv", len(translated), lambda: [
            np.array([pt for pt, _ in translated], dtype=object), np.array([en for _, en in translated], dtype=object),
        ], {"quote_header": False, "newline": "\r\n", "bom": True, "trailing_newline": False}),
    ]  # fmt: skip
    _write_tables(out, tables, H)
    rows = {table.name: table.rows for table in tables}

    log.info("generated %s in %.1fs", ", ".join(f"{k}={v:,}" for k, v in rows.items()), time.perf_counter() - t0)
    return rows
