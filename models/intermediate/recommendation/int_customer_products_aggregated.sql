{#  One row per (customer_unique_id, product_id) over valid purchases: counts, value, timing, reviews. #}

with

items as (

    select
        customer_unique_id,
        product_id,
        product_category_name_english,
        order_id,
        purchased_at,
        price,
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
        product_id,
        order_id,
        min(product_category_name_english) as product_category_name_english,
        min(purchased_at) as purchased_at,
        count(*) as item_count,
        sum(price) as order_value,
        max(order_review_score) as review_score
    from items
    group by customer_unique_id, product_id, order_id

),

final as (

    select
        orders.customer_unique_id,
        orders.product_id,
        min(orders.product_category_name_english) as product_category_name_english,
        count(*) as purchase_count,
        sum(orders.item_count) as item_count,
        sum(orders.order_value) as monetary_value,
        min(orders.purchased_at) as first_purchased_at,
        max(orders.purchased_at) as last_purchased_at,
        datediff(max(as_of.as_of_at), max(orders.purchased_at)) as recency_days,
        avg(orders.review_score) as mean_review_score
    from orders
    cross join as_of
    group by orders.customer_unique_id, orders.product_id

)

select * from final
