"""Sources, staging, reconciliation and bad input, through a real dbt build on a real Spark session."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from olist_synth import OLIST_FILES

STAGING_ONLY = ["path:seeds", "path:models/staging", "path:tests/assert_raw_rows_reconcile.sql"]


def _csv_records(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def test_every_raw_row_is_staged_or_rejected(spark, default_warehouse) -> None:
    counts = {
        r.source_table: r
        for r in spark.sql(f"select * from {default_warehouse.table('staging', 'stg_olist__row_counts')}").collect()
    }
    assert len(counts) == 8
    for source_table, row in counts.items():
        assert row.is_reconciled, row
        file_name = next(f for f in OLIST_FILES if source_table in f.replace("olist_", "").replace("_dataset", ""))
        assert row.raw_rows == _csv_records(default_warehouse.data_dir / file_name), source_table
        assert row.staged_rows > 0


def test_quirks_parse_back_through_spark(spark, default_warehouse) -> None:
    stg = lambda name: default_warehouse.table("staging", name)  # noqa: E731
    multiline = (
        spark.sql(
            f"select count(*) as n from {stg('stg_olist__order_reviews')} "
            "where instr(review_comment_message, char(10)) > 0"
        )
        .first()
        .n
    )
    # a quoted comment spanning lines stays one field (the CSV parser normalises its CRLF to a line feed)
    assert multiline > 0, "multi-line comments survive as one field"
    quoted = (
        spark.sql(
            f"select count(*) as n from {stg('stg_olist__order_reviews')} where review_comment_message like '%\"%'"
        )
        .first()
        .n
    )
    assert quoted > 0, "embedded quotes are un-doubled"
    zeros = (
        spark.sql(f"select count(*) as n from {stg('stg_olist__customers')} where customer_zip_code_prefix like '0%'")
        .first()
        .n
    )
    assert zeros > 0, "zip codes keep their leading zeros"
    first = spark.sql(
        f"select product_category_name from {stg('stg_olist__category_translations')} where not is_fallback"
    ).collect()
    names = {r.product_category_name for r in first}
    assert "cama_mesa_banho" in names, "the BOM does not leak into the first value"
    fallback = (
        spark.sql(f"select count(*) as n from {stg('stg_olist__products')} where product_category_name_english is null")
        .first()
        .n
    )
    assert fallback == 0
    uncategorized = (
        spark.sql(
            f"select count(*) as n from {stg('stg_olist__products')} where not has_category "
            "and product_category_name_english = 'uncategorized'"
        )
        .first()
        .n
    )
    assert uncategorized > 0


def _write_lines(path: Path, lines: list[str], newline: str = "\n") -> None:
    with open(path, "a", encoding="utf-8", newline="") as fh:
        for line in lines:
            fh.write(line + newline)


@pytest.fixture(scope="module")
def bad_data(make_data, session_dir: Path) -> Path:
    """Small generated data with one injected problem per rule."""
    good = make_data("for_bad", scale=0.01, seed=3)
    bad = session_dir / "data" / "bad_input"
    shutil.copytree(good, bad, dirs_exist_ok=True)
    orders = (bad / "olist_orders_dataset.csv").read_text().splitlines()
    a_real_order = orders[1]
    _write_lines(
        bad / "olist_orders_dataset.csv",
        [
            # a malformed CSV record (too many fields)
            "badbadbadbadbadbadbadbadbadbad01,cust,delivered,2017-01-01 10:00:00,,,,2017-01-10 00:00:00,EXTRA,FIELDS",
            # an unparseable timestamp
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa02,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,delivered,"
            "2017-02-30 25:61:00,,,,2017-03-10 00:00:00",
            # a duplicate key (an existing order_id again, with another status)
            a_real_order.replace(",delivered,", ",canceled,").replace(",shipped,", ",canceled,"),
            # a missing key
            ",bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,delivered,2017-01-01 10:00:00,,,,2017-01-10 00:00:00",
        ],
    )
    items = (bad / "olist_order_items_dataset.csv").read_text().splitlines()
    some_item = items[1].split(",")
    negative = [some_item[0], "99", *some_item[2:5], "-5.00", some_item[6]]
    _write_lines(bad / "olist_order_items_dataset.csv", [",".join(negative)])
    return bad.resolve()


def test_bad_rows_are_rejected_with_reasons_and_nothing_is_lost(spark, build_warehouse, bad_data: Path) -> None:
    wh = build_warehouse("t_bad", bad_data, select=STAGING_ONLY)
    assert wh.build.success, wh.build.failed()
    rejected = spark.sql(
        f"select source_table, record_key, reject_reason, raw_record "
        f"from {wh.table('staging', 'stg_olist__rejected_rows')}"
    ).collect()
    reasons = {(r.source_table, r.reject_reason) for r in rejected}
    assert ("orders", "malformed csv record") in reasons
    assert ("orders", "unparseable order_purchase_timestamp") in reasons
    assert ("orders", "duplicate order_id") in reasons
    assert ("orders", "missing order_id") in reasons
    assert ("order_items", "price below 0") in reasons
    malformed = next(r for r in rejected if r.reject_reason == "malformed csv record")
    assert "badbadbad" in malformed.raw_record, "the raw record is kept for the user to see"
    # every rejected row keeps its raw record, a duplicate key's too; a staged row keeps none
    duplicate = next(r for r in rejected if r.reject_reason == "duplicate order_id")
    assert f'"order_id":"{duplicate.record_key}"' in duplicate.raw_record
    assert all(r.raw_record for r in rejected), [r for r in rejected if not r.raw_record]
    raw_records = {
        r.is_staged: (r.raw_records, r.row_count)
        for r in spark.sql(
            f"select reject_reason is null as is_staged, count(raw_record) as raw_records, count(*) as row_count "
            f"from {wh.table('staging', 'base_olist__orders')} group by 1"
        ).collect()
    }
    assert raw_records[True][0] == 0 < raw_records[True][1], raw_records
    assert raw_records[False] == (4, 4), raw_records
    counts = {
        r.source_table: r for r in spark.sql(f"select * from {wh.table('staging', 'stg_olist__row_counts')}").collect()
    }
    assert counts["orders"].rejected_rows == 4
    assert counts["orders"].raw_rows == counts["orders"].staged_rows + 4
    assert counts["order_items"].rejected_rows == 1
    assert all(r.is_reconciled for r in counts.values())


def test_a_missing_file_stops_the_build_naming_file_and_folder(build_warehouse, make_data, session_dir: Path) -> None:
    folder = session_dir / "data" / "missing_sellers"
    shutil.copytree(make_data("for_bad", scale=0.01, seed=3), folder, dirs_exist_ok=True)
    (folder / "olist_sellers_dataset.csv").unlink()
    wh = build_warehouse("t_missing", folder.resolve(), select=STAGING_ONLY)
    assert not wh.build.success
    message = f"{wh.build.log}\n{wh.build.exception}"
    assert "olist_sellers_dataset.csv" in message
    assert str(folder.resolve()) in message


def test_a_missing_folder_stops_the_build_naming_it(build_warehouse, session_dir: Path) -> None:
    folder = (session_dir / "data" / "no_such_folder").resolve()
    wh = build_warehouse("t_nofolder", folder, select=STAGING_ONLY)
    assert not wh.build.success
    assert str(folder) in f"{wh.build.log}\n{wh.build.exception}"


def test_a_file_with_the_wrong_header_fails_naming_the_file(build_warehouse, make_data, session_dir: Path) -> None:
    folder = session_dir / "data" / "wrong_header"
    shutil.copytree(make_data("for_bad", scale=0.01, seed=3), folder, dirs_exist_ok=True)
    sellers = folder / "olist_sellers_dataset.csv"
    sellers.write_text(sellers.read_text().replace('"seller_city"', '"city_of_seller"', 1))
    wh = build_warehouse("t_header", folder.resolve(), select=STAGING_ONLY)
    assert not wh.build.success
    assert "olist_sellers_dataset.csv" in f"{wh.build.log}\n" + "\n".join(wh.build.failed())
