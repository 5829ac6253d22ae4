-- The ten categories with the most revenue, with orders, customers, mean price and review.
select
    product_category_name_english,
    revenue,
    order_count,
    customer_count,
    round(mean_price, 2) as mean_price,
    round(mean_review_score, 2) as mean_review_score
from {{ ref('category_performance') }}
order by revenue desc
limit 10
