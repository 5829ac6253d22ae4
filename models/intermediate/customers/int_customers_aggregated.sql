{#
    One row per customer_unique_id with purchase aggregates over valid purchases (var valid_purchase_statuses).
    as_of_at is the last purchase in the data, so recency and tenure do not depend on the day the model runs.
#}

with

items as (

    select
        customer_unique_id,
        order_id,
        product_id,
        product_category_name_english,
        purchased_at,
        paid_value,
        order_review_score
    from {{ ref('int_order_items_enriched') }}
    where is_valid_purchase

),

as_of as (

    select max(purchased_at) as as_of_at from items

),

orders as (

    select
        customer_unique_id,
        order_id,
        min(purchased_at) as purchased_at,
        sum(paid_value) as order_value,
        max(order_review_score) as review_score
    from items
    group by customer_unique_id, order_id

),

per_customer_orders as (

    select
        customer_unique_id,
        count(*) as order_count,
        sum(order_value) as monetary_value,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at,
        avg(review_score) as mean_review_score_given,
        count(review_score) as review_count
    from orders
    group by customer_unique_id

),

per_customer_items as (

    select
        customer_unique_id,
        count(*) as item_count,
        {{ count_distinct('product_id') }} as distinct_product_count,
        {{ count_distinct('product_category_name_english') }} as distinct_category_count
    from items
    group by customer_unique_id

),

final as (

    select
        per_customer_orders.customer_unique_id,
        per_customer_orders.order_count,
        per_customer_items.item_count,
        per_customer_orders.monetary_value,
        per_customer_items.distinct_product_count,
        per_customer_items.distinct_category_count,
        per_customer_orders.first_purchased_at,
        per_customer_orders.last_purchased_at,
        per_customer_orders.mean_review_score_given,
        per_customer_orders.review_count,
        as_of.as_of_at,
        datediff(as_of.as_of_at, per_customer_orders.last_purchased_at) as recency_days,
        datediff(as_of.as_of_at, per_customer_orders.first_purchased_at) as tenure_days
    from per_customer_orders
    inner join per_customer_items
        on per_customer_orders.customer_unique_id = per_customer_items.customer_unique_id
    cross join as_of

)

select * from final
