"""The Olist-shaped data generator: headers, determinism, scale, and the original files' quirks."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from olist_synth import OLIST_FILES, GeneratorConfig, generate_olist
from olist_synth.calibration import describe_folder
from olist_synth.generate import (
    P_COMPANION,
    P_REBUY_PRODUCT,
    P_SAME_CATEGORY,
    _assign_products,
    _companions,
    _customers_and_orders,
    _fmt_num,
    _fmt_ts,
    _products,
    _sequence_numbers,
    _write_csv,
    _zero_padded,
)


def _digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OLIST_FILES}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen_small")
    generate_olist(out, GeneratorConfig(scale=0.02, seed=7))
    return out


def test_writes_every_file_with_the_original_header(small: Path) -> None:
    for name, header in OLIST_FILES.items():
        with open(small / name, encoding="utf-8-sig", newline="") as fh:
            assert next(csv.reader(fh)) == header, name
    products_header = (small / "olist_products_dataset.csv").read_text().splitlines()[0]
    assert '"product_name_lenght","product_description_lenght"' in products_header


def test_same_seed_same_bytes_other_seed_other_data(small: Path, tmp_path: Path) -> None:
    generate_olist(tmp_path / "again", GeneratorConfig(scale=0.02, seed=7))
    generate_olist(tmp_path / "other", GeneratorConfig(scale=0.02, seed=8))
    assert _digest(tmp_path / "again") == _digest(small)
    other = _digest(tmp_path / "other")
    assert other["olist_orders_dataset.csv"] != _digest(small)["olist_orders_dataset.csv"]


def test_scale_sets_table_sizes(small: Path, tmp_path: Path) -> None:
    generate_olist(tmp_path / "double", GeneratorConfig(scale=0.04, seed=7))
    rows_small = {
        n: len(pd.read_csv(small / n, dtype=str)) for n in ("olist_orders_dataset.csv", "olist_products_dataset.csv")
    }
    rows_double = {n: len(pd.read_csv(tmp_path / "double" / n, dtype=str)) for n in rows_small}
    assert rows_small["olist_orders_dataset.csv"] == round(99_441 * 0.02)
    assert rows_double["olist_orders_dataset.csv"] == round(99_441 * 0.04)
    assert rows_double["olist_products_dataset.csv"] == round(32_951 * 0.04)


def test_scale_one_matches_real_table_sizes(tmp_path: Path) -> None:
    generate_olist(tmp_path, GeneratorConfig(scale=1.0, seed=42))
    figures = describe_folder(tmp_path)
    assert figures["orders"] == "99,441"
    assert figures["products"] == "32,951"
    assert figures["sellers"] == "3,095"
    assert figures["categories (non-empty)"] == "73"
    assert figures["products without category"] == "610"
    items = int(figures["order items"].replace(",", ""))
    assert abs(items - 112_650) / 112_650 < 0.02
    unique_customers = int(figures["customer_unique_id"].replace(",", ""))
    assert abs(unique_customers - 96_096) / 96_096 < 0.01
    repeat_share = float(figures["customers buying more than once"].rstrip("%"))
    assert 2.5 <= repeat_share <= 3.6
    rebuy, same_category = (
        float(x.split("%")[0]) for x in figures["later orders re-buying a product / sharing a category"].split(" / ")
    )
    assert 10 <= rebuy <= 20 and 35 <= same_category <= 55


def test_original_quirks_are_reproduced(small: Path) -> None:
    translation = (small / "product_category_name_translation.csv").read_bytes()
    assert translation.startswith(b"\xef\xbb\xbf")  # BOM
    assert b"\r\n" in translation and not translation.endswith(b"\n")  # CRLF, no trailing newline
    reviews = (small / "olist_order_reviews_dataset.csv").read_bytes()
    assert reviews.count(b"\r\n") > 0 and reviews.replace(b"\r\n", b"").count(b"\n") == 0  # CRLF only
    parsed = pd.read_csv(small / "olist_order_reviews_dataset.csv", dtype=str, keep_default_na=False)
    messages = parsed["review_comment_message"]
    assert messages.str.contains("\r\n").any(), "multi-line quoted comments"
    assert messages.str.contains(",").any() and messages.str.contains('"').any()
    customers = pd.read_csv(small / "olist_customers_dataset.csv", dtype=str)
    assert customers["customer_zip_code_prefix"].str.startswith("0").any()
    assert customers["customer_zip_code_prefix"].str.len().eq(5).all()
    # quoting rule of the original files: ids are quoted exactly when they begin with a digit
    for line in (small / "olist_orders_dataset.csv").read_text().splitlines()[1:50]:
        order_id = line.split(",")[0]
        assert order_id.startswith('"') == order_id.strip('"')[0].isdigit()


def test_untranslated_categories_and_missing_categories_exist(small: Path) -> None:
    products = pd.read_csv(small / "olist_products_dataset.csv", dtype=str)
    translation = pd.read_csv(small / "product_category_name_translation.csv", dtype=str, encoding="utf-8-sig")
    categories = set(products["product_category_name"].dropna())
    assert {"pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"} & categories
    assert not {"pc_gamer", "portateis_cozinha_e_preparadores_de_alimentos"} & set(translation["product_category_name"])
    assert products["product_category_name"].isna().any()
    assert len(translation) == 71


def test_rejects_a_bad_scale() -> None:
    with pytest.raises(ValueError, match="scale"):
        GeneratorConfig(scale=0)


@pytest.mark.parametrize("decimals", [0, 2])
def test_numbers_are_written_as_printf_writes_them(decimals: int) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.lognormal(3, 2, 20_000) * rng.choice([-1, 1], 20_000),
            np.round(rng.uniform(0, 500, 20_000), 2),  # what the generator writes: money rounded to cents
            np.arange(-400, 400) / 8,  # exact binary ties: 0.125, 2.5, ... (printf rounds them half to even)
            [2.675, 1.005, 0.045, -0.001, -0.0, 0.0, 0.5, 1.5, -2.5, 6735.0],  # ties in decimal, not in binary
            [np.nan, np.inf, -np.inf, 1e20, -3.5e16, 123456789012.345, 2.0**31 / 100],  # large values
        ]
    )
    expected = [f"{v:.{decimals}f}" if np.isfinite(v) else "" for v in values]
    assert _fmt_num(values, decimals).tolist() == expected


def test_sequence_numbers_count_each_parents_rows_from_one() -> None:
    assert _sequence_numbers(np.array([2, 0, 3, 1])).tolist() == [1, 2, 1, 2, 3, 1]
    assert _sequence_numbers(np.array([], dtype=int)).tolist() == []


def test_zero_padded_numbers_are_what_printf_writes() -> None:
    values = np.array([0, 7, 1001, 19999, 99999, 12345])
    assert _zero_padded(values, 5).tolist() == [f"{v:05d}" for v in values]


def test_timestamps_are_written_as_numpy_writes_them() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [
            np.datetime64("1000-01-01T00:00:00") + rng.integers(0, 8990 * 365 * 86400, 20_000).astype("timedelta64[s]"),
            np.array(["2016-02-29T23:59:59", "2017-12-31T00:00:00", "2018-09-03T09:06:05"], dtype="datetime64[s]"),
            np.array(["NaT", "2018-01-01T12:00:00.750"], dtype="datetime64[ms]").astype("datetime64[s]"),
        ]
    )
    expected = ["" if np.isnat(v) else str(np.datetime_as_string(v, unit="s")).replace("T", " ") for v in values]
    assert [text.decode() for text in _fmt_ts(values).tolist()] == expected
    assert _fmt_ts(np.array([], dtype="datetime64[s]")).tolist() == []


@pytest.mark.parametrize(
    ("options", "encoding"),
    [
        ({}, "utf-8"),
        ({"quote_header": False, "newline": "\r\n", "bom": True, "trailing_newline": False}, "utf-8-sig"),
    ],
)
def test_a_table_is_written_as_its_cells_joined_line_by_line(tmp_path: Path, monkeypatch, options, encoding) -> None:
    """Every kind of column the generator passes (bytes, fixed-width text, objects; ASCII or not; empty cells), over
    several blocks of rows: the file is what joining the cells row by row writes."""
    import olist_synth.generate as generate

    monkeypatch.setattr(generate, "CSV_BLOCK_ROWS", 3)
    columns = [
        np.array([b'"0a"', b"b", b"", b"cc", b'"1"', b"d", b"e"]),
        np.array(["são paulo", "x", "", "ÿ", "abc", "d", "1"]),
        np.array(["a", "", "bb", "c", "dd", "e", "f"], dtype=object),
        np.array(["não", '"a, b"', "c\r\nd", "", "e", "f", "g"], dtype=object),
    ]
    header = ["one", "two", "three", "four"]
    _write_csv(tmp_path / "t.csv", header, columns, **options)
    newline = options.get("newline", "\n")
    lines = [",".join(h if options.get("quote_header") is False else f'"{h}"' for h in header)]
    lines += [",".join(c.decode() if isinstance(c, bytes) else c for c in row) for row in zip(*columns, strict=True)]
    expected = newline.join(lines) + (newline if options.get("trailing_newline", True) else "")
    assert (tmp_path / "t.csv").read_bytes() == expected.encode(encoding)
    _write_csv(tmp_path / "empty.csv", header, [column[:0] for column in columns], **options)
    assert (tmp_path / "empty.csv").read_bytes() == (lines[0] + expected[len(expected.rstrip()) :]).encode(encoding)


def test_a_missing_or_nul_cell_is_an_error_naming_the_file_and_column(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"t\.csv, column city: a missing value in row 3 "):
        _write_csv(tmp_path / "t.csv", ["id", "city"], [np.array(["a", "b", "c"]), np.array(["x", "y", None])])
    with pytest.raises(ValueError, match="NUL byte"):
        _write_csv(tmp_path / "t.csv", ["id"], [np.array([b"a\x00b", b"c"])])


def _assign_products_order_by_order(rng, orders, products, n_items) -> np.ndarray:
    """The generator's product assignment as it was written before it was vectorised: one order at a time."""
    pop, cat = products["popularity"].to_numpy(), products["category"].to_numpy()
    comp = _companions(rng, products)
    by_cat = {c: (idx, np.cumsum(pop[idx] / pop[idx].sum())) for c, idx in products.groupby("category").indices.items()}
    n_orders = len(orders)
    anchor = rng.choice(len(products), size=n_orders, p=pop)
    free = np.ones(n_orders, dtype=bool)
    n_distinct = np.ones(n_orders, dtype=int)
    multi = n_items > 1
    n_distinct[multi] = np.where(
        rng.random(multi.sum()) < 0.67, 1, np.minimum(n_items[multi], 2 + (rng.random(multi.sum()) < 0.1))
    )
    cust, seq = orders["cust"].to_numpy(), orders["seq"].to_numpy()
    history: dict[int, list[int]] = {}
    u, pick = rng.random(n_orders), rng.random(n_orders)
    for i in np.lexsort((seq, cust)):
        if n_items[i] == 0:
            continue
        if seq[i] > 0 and cust[i] in history:
            past = history[cust[i]]
            j = past[int(pick[i] * len(past))]
            if u[i] < P_REBUY_PRODUCT:
                anchor[i], free[i] = j, False
            elif u[i] < P_REBUY_PRODUCT + P_COMPANION:
                anchor[i], free[i] = comp[j, int(pick[i] * 997) % comp.shape[1]], False
            elif u[i] < P_REBUY_PRODUCT + P_COMPANION + P_SAME_CATEGORY and cat[j] >= 0:
                idx, cum_w = by_cat[cat[j]]
                anchor[i], free[i] = idx[min(np.searchsorted(cum_w, pick[i] * 0.999), len(idx) - 1)], False
        history.setdefault(cust[i], []).append(int(anchor[i]))
    for _ in range(10):
        sold = np.bincount(anchor[n_items > 0], minlength=len(products))
        unsold = np.flatnonzero(sold == 0)
        if len(unsold) == 0:
            break
        donors = np.flatnonzero(free & (n_items == 1) & (sold[anchor] >= 3))
        take = rng.choice(donors, size=min(len(unsold), len(donors)), replace=False)
        anchor[take], free[take] = unsold[: len(take)], False
    items = []
    extra_u = rng.random((n_orders, 3))
    for i in np.flatnonzero(n_items > 0):
        a = anchor[i]
        chosen = [a]
        for e in range(n_distinct[i] - 1):
            if extra_u[i, e] < 0.5:
                chosen.append(int(comp[a, e % comp.shape[1]]))
            elif cat[a] >= 0:
                idx, cum_w = by_cat[cat[a]]
                chosen.append(int(idx[min(np.searchsorted(cum_w, extra_u[i, 2]), len(idx) - 1)]))
            else:
                chosen.append(int(rng.choice(len(products), p=pop)))
        items.append(np.sort(np.array(chosen + [a] * (n_items[i] - len(chosen)), dtype=np.int64)))
    return np.concatenate(items)


@pytest.mark.parametrize("seed", [1, 2])
def test_products_are_assigned_as_order_by_order_with_the_same_draws(seed: int) -> None:
    # the vectorised assignment against the loop it replaced: the same products, and the same random numbers used
    rng = np.random.default_rng(seed)
    products = _products(rng, 3_000)
    orders = _customers_and_orders(rng, 30_000)
    n_items = np.where(rng.random(len(orders)) < 0.05, 0, rng.choice([1, 1, 1, 2, 3, 4], size=len(orders)))
    # what the draws are there for: repeat customers, and products without a category (their orders' second
    # products are drawn from the whole catalog, one random number each)
    assert (orders["seq"].to_numpy() > 0).sum() > 500 and (products["category"].to_numpy() < 0).sum() > 10
    state = rng.bit_generator.state
    expected = _assign_products_order_by_order(rng, orders, products, n_items)
    expected_next = rng.random()
    rng.bit_generator.state = state
    assert np.array_equal(_assign_products(rng, orders, products, n_items), expected)
    assert rng.random() == expected_next


def test_two_processes_write_the_tables_and_a_failure_in_the_child_names_its_files(tmp_path: Path) -> None:
    # in a fresh interpreter: `_write_tables` forks only where no other thread runs (a test session may hold Spark's)
    script = """
import os, sys
from pathlib import Path
import numpy as np
from olist_synth.generate import _Table, _write_tables

out = Path(sys.argv[1])
pid = lambda: np.array([str(os.getpid())], dtype=object)
tables = [_Table(f"t{i}.csv", 1 + i, lambda i=i: [np.array([str(i)] * (1 + i), dtype=object), np.repeat(pid(), 1 + i)])
          for i in range(4)]
headers = {t.name: ["value", "writer"] for t in tables}
_write_tables(out, tables, headers)
print(os.getpid())
failing = [tables[3], _Table("broken.csv", 1, lambda: 1 / 0)]  # the smaller table goes to the child
_write_tables(out / "failing", failing, {**headers, "broken.csv": ["a"]})
"""
    (tmp_path / "failing").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "python_jobs")},
    )
    parent = done.stdout.split()[0]
    writers = {}
    for i in range(4):
        rows = list(csv.reader(open(tmp_path / f"t{i}.csv", newline="")))
        assert rows[0] == ["value", "writer"] and [r[0] for r in rows[1:]] == [str(i)] * (1 + i)
        writers[i] = {r[1] for r in rows[1:]}
    # the largest first, each to the process with fewer cells so far: t3 (8 cells) here, t2 and t1 in the child
    # (6, 10 cells), t0 here (10)
    child = writers[2]
    assert writers[3] == writers[0] == {parent} and writers[1] == child and len(child) == 1 and child != {parent}
    assert done.returncode != 0
    assert "broken.csv" in done.stderr and "failed in the generator's child process" in done.stderr
