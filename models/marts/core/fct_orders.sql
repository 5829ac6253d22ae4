with

orders as (

    select * from {{ ref('stg_olist__orders') }}

),

customers as (

    select
        customer_id,
        customer_unique_id
    from {{ ref('stg_olist__customers') }}

),

order_items as (

    select
        order_id,
        count(*) as item_count,
        {{ count_distinct('product_id') }} as distinct_product_count,
        {{ count_distinct('seller_id') }} as seller_count,
        sum(price) as items_price_total,
        sum(freight_value) as freight_total,
        sum(item_value) as order_item_value
    from {{ ref('int_order_items_enriched') }}
    group by order_id

),

order_payments as (

    select * from {{ ref('int_order_payments_aggregated') }}

),

order_reviews as (

    select
        order_id,
        review_score,
        review_count
    from {{ ref('int_order_reviews_aggregated') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        customers.customer_unique_id,
        orders.order_status,
        orders.order_status in {{ valid_purchase_statuses() }} as is_valid_purchase,
        orders.purchased_at,
        orders.approved_at,
        orders.delivered_to_carrier_at,
        orders.delivered_to_customer_at,
        orders.estimated_delivery_at,
        datediff(orders.delivered_to_customer_at, orders.purchased_at) as delivery_days,
        orders.delivered_to_customer_at > orders.estimated_delivery_at + interval 1 day as is_delivered_late,
        order_items.order_id is not null as has_items,
        coalesce(order_items.item_count, 0) as item_count,
        coalesce(order_items.distinct_product_count, 0) as distinct_product_count,
        order_items.seller_count,
        order_items.items_price_total,
        order_items.freight_total,
        order_items.order_item_value,
        order_payments.payment_total,
        coalesce(order_payments.payment_count, 0) as payment_count,
        order_payments.main_payment_type,
        order_payments.max_installments,
        order_reviews.review_score,
        coalesce(order_reviews.review_count, 0) as review_count
    from orders
    left join customers
        on orders.customer_id = customers.customer_id
    left join order_items
        on orders.order_id = order_items.order_id
    left join order_payments
        on orders.order_id = order_payments.order_id
    left join order_reviews
        on orders.order_id = order_reviews.order_id

)

select * from final
