"""The report's figures and facts, drawn from warehouse tables only (marts and the ALS job's published tables).

Every function takes `query` (SQL text -> pandas DataFrame; in the notebook: Spark SQL on the warehouse catalog)
and the dbt schema prefix, and returns a matplotlib Figure or a small DataFrame. No metric is computed here that
dbt or the job has not computed; the functions select, reshape and draw.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

Query = Callable[[str], pd.DataFrame]
METRIC_LABELS = {"hit_rate": "hit rate", "precision": "precision", "recall": "recall", "ndcg": "nDCG", "map": "MAP"}

sns.set_theme(style="whitegrid", context="notebook")


def _log_hist(ax: plt.Axes, values: pd.Series, title: str, unit: str) -> None:
    positive = values[values > 0]
    bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 50) if len(positive) else 10
    ax.hist(positive, bins=bins, color="#4C72B0")
    ax.set_xscale("log")
    ax.set_title(f"{title} (log scale)")
    ax.set_xlabel(f"{unit}, log scale")
    ax.set_ylabel("count")


def _bar_panels(axes, frames: list[pd.DataFrame], label_column: str, panels: list[tuple], color: str) -> None:
    """One horizontal bar chart per panel (value column, axis label, title), bars in each frame's row order."""
    for ax, data, (column, label, title) in zip(axes, frames, panels, strict=True):
        sns.barplot(data=data, y=label_column, x=column, ax=ax, color=color, order=data[label_column])
        ax.set_title(title)
        ax.set_xlabel(label)
        ax.set_ylabel("")


def distributions(query: Query, schema: str) -> plt.Figure:
    """Order value, item price and freight: raw and on a log scale (all three are right-skewed)."""
    orders = query(f"select payment_total from {schema}_marts.fct_orders where is_valid_purchase")
    items = query(f"select price, freight_value from {schema}_marts.fct_order_items where is_valid_purchase")
    series = [
        (orders.payment_total.astype(float), "Order value (payments)", "BRL"),
        (items.price.astype(float), "Item price", "BRL"),
        (items.freight_value.astype(float), "Item freight", "BRL"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(16, 8))
    for col, (values, title, unit) in enumerate(series):
        values = values.dropna()
        cap = values.quantile(0.99)
        axes[0, col].hist(values[values <= cap], bins=50, color="#DD8452")
        axes[0, col].set_title(f"{title} (raw, up to the 99th percentile {cap:,.0f} {unit})")
        axes[0, col].set_xlabel(unit)
        axes[0, col].set_ylabel("count")
        _log_hist(axes[1, col], values, title, unit)
    fig.suptitle("Distributions of order value, price and freight: raw vs log scale")
    fig.tight_layout()
    return fig


def review_scores(query: Query, schema: str) -> plt.Figure:
    scores = query(
        f"select review_score, count(*) as orders from {schema}_marts.fct_orders "
        "where review_score is not null group by review_score order by review_score"
    )
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.bar(scores.review_score.astype(float).astype(int).astype(str), scores.orders.astype(int), color="#55A868")
    total = scores.orders.sum()
    for x, n in zip(range(len(scores)), scores.orders, strict=True):
        ax.text(x, n, f"{n / total:.0%}", ha="center", va="bottom")
    ax.set_title("Review score distribution (one score per reviewed order)")
    ax.set_xlabel("review score (stars)")
    ax.set_ylabel("orders")
    fig.tight_layout()
    return fig


PRODUCT_ATTRIBUTES = {
    "product_weight_g": "weight (g)",
    "product_length_cm": "length (cm)",
    "product_height_cm": "height (cm)",
    "product_width_cm": "width (cm)",
    "product_photo_count": "photos",
    "product_description_length": "description length (characters)",
}


def product_attribute_summary(query: Query, schema: str) -> pd.DataFrame:
    columns = ", ".join(PRODUCT_ATTRIBUTES)
    products = query(f"select {columns} from {schema}_marts.dim_products").astype(float)
    summary = products.describe(percentiles=[0.25, 0.5, 0.75, 0.99]).T
    summary.index = [PRODUCT_ATTRIBUTES[c] for c in summary.index]
    return summary.round(1)


def product_attributes(query: Query, schema: str) -> plt.Figure:
    columns = ", ".join(PRODUCT_ATTRIBUTES)
    products = query(f"select {columns} from {schema}_marts.dim_products").astype(float)
    fig, axes = plt.subplots(2, 3, figsize=(16, 8))
    for ax, (column, label) in zip(axes.flat, PRODUCT_ATTRIBUTES.items(), strict=True):
        values = products[column].dropna()
        if column in ("product_photo_count",):
            counts = values.astype(int).value_counts().sort_index()
            ax.bar(counts.index.astype(str), counts.values, color="#8172B3")
            ax.set_xlabel(label)
        else:
            _log_hist(ax, values, label, label)
            ax.set_title(label)
        ax.set_ylabel("products")
    fig.suptitle("Product attributes (catalogue, one row per product; sizes on log scales)")
    fig.tight_layout()
    return fig


def category_aggregates(query: Query, schema: str, top: int = 15) -> plt.Figure:
    categories = query(
        f"select product_category_name_english as category, order_count, revenue, mean_price "
        f"from {schema}_marts.category_performance"
    )
    for c in ("order_count", "revenue", "mean_price"):
        categories[c] = categories[c].astype(float)
    fig, axes = plt.subplots(1, 3, figsize=(18, 7))
    panels = [
        ("order_count", "orders", f"Top {top} categories by orders"),
        ("revenue", "revenue (BRL)", f"Top {top} categories by revenue"),
        ("mean_price", "mean item price (BRL)", f"Mean item price of the top {top} categories by revenue"),
    ]
    by_revenue = categories.nlargest(top, "revenue")
    frames = [categories.nlargest(top, "order_count"), by_revenue, by_revenue]
    _bar_panels(axes, frames, "category", panels, "#4C72B0")
    fig.tight_layout()
    return fig


def monthly_orders(query: Query, schema: str) -> plt.Figure:
    monthly = query(
        f"select order_month, valid_order_count, revenue from {schema}_marts.monthly_sales order by order_month"
    )
    monthly["order_month"] = pd.to_datetime(monthly.order_month)
    fig, ax = plt.subplots(figsize=(12, 5))
    ax.plot(monthly.order_month, monthly.valid_order_count.astype(int), marker="o", color="#4C72B0")
    ax.set_xlabel("month")
    ax.set_ylabel("valid orders per month", color="#4C72B0")
    other = ax.twinx()
    other.plot(monthly.order_month, monthly.revenue.astype(float), marker=".", color="#C44E52", alpha=0.7)
    other.set_ylabel("revenue per month (BRL)", color="#C44E52")
    other.grid(False)
    ax.set_title("Monthly orders and revenue")
    fig.tight_layout()
    return fig


def rfm_segments(query: Query, schema: str) -> plt.Figure:
    segments = query(
        f"select segment, count(*) as customers, avg(monetary_value) as mean_monetary_value, "
        f"sum(monetary_value) as total_monetary_value from {schema}_marts.customer_rfm group by segment"
    ).sort_values("customers", ascending=False)
    for c in ("customers", "mean_monetary_value", "total_monetary_value"):
        segments[c] = segments[c].astype(float)
    fig, axes = plt.subplots(1, 3, figsize=(18, 5))
    panels = [
        ("customers", "customers", "RFM segment sizes"),
        ("mean_monetary_value", "mean spend per customer (BRL)", "Mean spend per customer"),
        ("total_monetary_value", "total spend (BRL)", "Total spend by segment"),
    ]
    _bar_panels(axes, [segments] * len(panels), "segment", panels, "#55A868")
    fig.tight_layout()
    return fig


def latest_evaluation(query: Query, schema: str) -> pd.DataFrame:
    """The latest run's mean-over-cut-offs metrics on all test users (model, k, metric, value, ci_low, ci_high)."""
    return query(
        f"select e.model, e.k, e.metric, e.value, e.ci_low, e.ci_high, e.n_users, r.chosen_model "
        f"from {schema}_marts.recommendation_evaluation e "
        f"join (select run_id, chosen_model from {schema}_marts.recommendation_runs "
        f"      order by finished_at desc limit 1) r on e.run_id = r.run_id "
        f"where e.cutoff = 'mean' and e.user_group = 'all' and e.metric != 'coverage'"
    )


def model_metrics(query: Query, schema: str) -> plt.Figure:
    """Every model side by side at K = 5/10/20, one panel per metric, 95% bootstrap intervals as error bars."""
    evaluation = latest_evaluation(query, schema)
    metrics = [m for m in METRIC_LABELS if m in set(evaluation.metric)]
    order = (
        evaluation[(evaluation.metric == "hit_rate") & (evaluation.k == 10)]
        .sort_values("value", ascending=False)
        .model.tolist()
    )
    ks = sorted(evaluation.k.unique())
    fig, grid = plt.subplots(2, 3, figsize=(18, 10))
    axes = grid.flat
    width = 0.8 / max(len(ks), 1)
    for n, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        part = evaluation[evaluation.metric == metric]
        for j, k in enumerate(ks):
            rows = part[part.k == k].set_index("model").reindex(order)
            y = np.arange(len(order)) + (j - (len(ks) - 1) / 2) * width
            low = (rows.value - rows.ci_low).clip(lower=0).to_numpy(dtype=float)
            high = (rows.ci_high - rows.value).clip(lower=0).to_numpy(dtype=float)
            ax.barh(y, rows.value.astype(float), height=width, xerr=[low, high], label=f"K={k}", capsize=2)
        ax.set_yticks(np.arange(len(order)))
        ax.set_yticklabels(order if n % 3 == 0 else [""] * len(order))
        ax.invert_yaxis()
        ax.set_title(f"{METRIC_LABELS[metric]}@K")
        ax.set_xlabel(f"{METRIC_LABELS[metric]} (mean over cut-offs, 95% CI)")
    legend_ax = grid.flat[-1]
    handles, labels = grid.flat[0].get_legend_handles_labels()
    legend_ax.axis("off")
    legend_ax.legend(handles, labels, loc="center", title="recommendations per user", fontsize="large")
    chosen = evaluation.chosen_model.iloc[0] if len(evaluation) else "?"
    users = int(evaluation.n_users.max()) if len(evaluation) else 0
    fig.suptitle(f"Models on all test users ({users:,} user-windows), latest run; chosen: {chosen}")
    fig.tight_layout()
    return fig


def example_customers(query: Query, schema: str, n: int = 3) -> pd.DataFrame:
    """History and recommendations of the n customers with the most distinct products bought."""
    return query(
        f"""
        with chosen as (
            select customer_unique_id from {schema}_marts.customer_product_interactions
            group by customer_unique_id order by count(*) desc, customer_unique_id limit {n}
        ),
        bought as (
            select i.customer_unique_id, 'bought' as kind, i.product_id, i.product_category_name_english as category,
                   cast(i.last_purchased_at as string) as detail
            from {schema}_marts.customer_product_interactions i join chosen using (customer_unique_id)
        ),
        recommended as (
            select r.customer_unique_id, concat('recommended #', r.rank) as kind, r.product_id,
                   r.product_category as category, r.source as detail
            from {schema}_marts.recommendations_by_customer r join chosen using (customer_unique_id)
        )
        select * from bought union all select * from recommended
        order by customer_unique_id, kind
        """
    )


def key_facts(query: Query, schema: str) -> dict[str, object]:
    """The numbers the report states in words: one-time buyers, top categories, the best model at K=10."""
    buyers = query(
        f"select count(*) as customers, sum(case when valid_order_count = 1 then 1 else 0 end) as one_time "
        f"from {schema}_marts.dim_customers where valid_order_count > 0"
    ).iloc[0]
    top = query(
        f"select product_category_name_english as category, revenue from {schema}_marts.category_performance "
        "order by revenue desc limit 3"
    )
    evaluation = latest_evaluation(query, schema)
    at10 = evaluation[(evaluation.k == 10) & (evaluation.metric == "hit_rate")].sort_values("value", ascending=False)
    best = at10.iloc[0] if len(at10) else None
    return {
        "customers_with_a_purchase": int(buyers.customers),
        "one_time_buyer_share": float(buyers.one_time) / max(float(buyers.customers), 1.0),
        "top_categories_by_revenue": top.category.tolist(),
        "best_model_hit_rate_at_10": None if best is None else (best.model, float(best.value)),
        "chosen_model": None if best is None else best.chosen_model,
    }


FIGURES: dict[str, Callable[[Query, str], plt.Figure]] = {
    "distributions_raw_vs_log": distributions,
    "review_scores": review_scores,
    "product_attributes": product_attributes,
    "category_aggregates": category_aggregates,
    "monthly_orders": monthly_orders,
    "rfm_segments": rfm_segments,
    "model_metrics": model_metrics,
}
