"""Figures that describe an Olist folder, to compare generated data with the real Kaggle files side by side.

    python -m olist_synth.calibration --real ../shared/data/olist --generated warehouse/data/scale_1.0_seed_42 \
        --out docs/calibration.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False, na_values=[""])


def describe_folder(folder: str | Path) -> dict[str, str]:
    """Calibration figures (as display strings) for one folder of Olist CSVs."""
    f = Path(folder)
    orders = _read(f, "olist_orders_dataset.csv")
    items = _read(f, "olist_order_items_dataset.csv")
    customers = _read(f, "olist_customers_dataset.csv")
    products = _read(f, "olist_products_dataset.csv")
    sellers = _read(f, "olist_sellers_dataset.csv")
    reviews = _read(f, "olist_order_reviews_dataset.csv")
    payments = _read(f, "olist_order_payments_dataset.csv")

    price = items["price"].astype(float)
    freight = items["freight_value"].astype(float)
    per_order = items.groupby("order_id").size()
    distinct = items.groupby("order_id")["product_id"].nunique()
    sales = items.groupby("product_id").size().sort_values(ascending=False)
    per_customer = customers.groupby("customer_unique_id").size()
    status = orders["order_status"].value_counts(normalize=True)
    score = reviews["review_score"].astype(int).value_counts(normalize=True).sort_index()
    undelivered = orders["order_status"] != "delivered"
    order_has_items = orders["order_id"].isin(items["order_id"])

    # repeat structure: later orders of customers with 2+ orders (within the orders present in the folder)
    joined = (
        orders[["order_id", "customer_id", "order_purchase_timestamp"]]
        .merge(customers[["customer_id", "customer_unique_id"]], on="customer_id")
        .merge(items[["order_id", "product_id"]], on="order_id")
        .merge(products[["product_id", "product_category_name"]], on="product_id")
        .sort_values(["customer_unique_id", "order_purchase_timestamp", "order_id"])
    )
    same_product = same_category = later = 0
    multi = joined.groupby("customer_unique_id")["order_id"].transform("nunique") > 1
    for _, df in joined[multi].groupby("customer_unique_id", sort=False):
        seen_p: set[str] = set()
        seen_c: set[str] = set()
        for k, (_, od) in enumerate(df.groupby("order_id", sort=False)):
            if k > 0:
                later += 1
                same_product += bool(set(od["product_id"]) & seen_p)
                same_category += bool(set(od["product_category_name"].dropna()) & seen_c)
            seen_p |= set(od["product_id"])
            seen_c |= set(od["product_category_name"].dropna())

    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    def q(s: pd.Series) -> str:
        return " / ".join(f"{v:,.2f}" for v in s.quantile([0.25, 0.5, 0.75, 0.99]))

    return {
        "orders": f"{len(orders):,}",
        "order items": f"{len(items):,}",
        "customer rows (customer_id)": f"{len(customers):,}",
        "customer_unique_id": f"{customers['customer_unique_id'].nunique():,}",
        "customers buying more than once": pct((per_customer > 1).mean()),
        "products": f"{len(products):,}",
        "categories (non-empty)": f"{products['product_category_name'].nunique()}",
        "products without category": f"{products['product_category_name'].isna().sum():,}",
        "sellers": f"{len(sellers):,}",
        "reviews": f"{len(reviews):,}",
        "duplicate review_id rows": pct(reviews["review_id"].duplicated().mean()),
        "payments": f"{len(payments):,}",
        "status delivered / shipped / canceled / unavailable": " / ".join(
            pct(status.get(s, 0.0)) for s in ("delivered", "shipped", "canceled", "unavailable")
        ),
        "orders without items": pct((~order_has_items).mean()),
        "undelivered orders with null delivery date": pct(
            orders.loc[undelivered, "order_delivered_customer_date"].isna().mean() if undelivered.any() else 0.0
        ),
        "items per order 1 / 2 / 3+": " / ".join(
            pct(x) for x in ((per_order == 1).mean(), (per_order == 2).mean(), (per_order >= 3).mean())
        ),
        "orders with 2+ distinct products": pct((distinct > 1).mean()),
        "price p25 / p50 / p75 / p99 (BRL)": q(price),
        "price mean / log-mean / log-sd": (
            f"{price.mean():.2f} / {np.log(price).mean():.2f} / {np.log(price).std():.2f}"
        ),
        "freight p25 / p50 / p75 / p99 (BRL)": q(freight),
        "corr(log price, log1p freight)": f"{np.corrcoef(np.log(price), np.log1p(freight))[0, 1]:.2f}",
        "products sold exactly once": pct((sales == 1).mean()),
        "sales share of top 1% products": pct(sales.head(max(1, len(sales) // 100)).sum() / sales.sum()),
        "review score 1 / 2 / 3 / 4 / 5": " / ".join(pct(score.get(s, 0.0)) for s in range(1, 6)),
        "reviews with a message / a title": (
            f"{pct(reviews['review_comment_message'].notna().mean())} / "
            f"{pct(reviews['review_comment_title'].notna().mean())}"
        ),
        "later orders re-buying a product / sharing a category": (
            f"{pct(same_product / later)} / {pct(same_category / later)} (n={later:,})" if later else "n/a"
        ),
        "purchase dates": (
            f"{orders['order_purchase_timestamp'].min()[:10]} .. {orders['order_purchase_timestamp'].max()[:10]}"
        ),
    }


def side_by_side(real: str | Path, generated: str | Path) -> str:
    r = describe_folder(real)
    g = describe_folder(generated)
    lines = ["| figure | real Olist files | generated |", "|---|---|---|"]
    lines += [f"| {k} | {r[k]} | {g[k]} |" for k in r]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare generated Olist data with the real files.")
    parser.add_argument("--real", required=True)
    parser.add_argument("--generated", required=True)
    parser.add_argument("--out", help="write the markdown table here (default: print)")
    args = parser.parse_args(argv)
    table = side_by_side(args.real, args.generated)
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
