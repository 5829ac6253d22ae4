{#
    Order items at item grain with their order, customer (customer_unique_id is the person), product, English
    category, seller, the order's review score and the order's payments allocated to the item.

    - Items whose order is not in the data are left out (on the real files here the orders table is a subset);
      the count shows as a warning of the relationships test on stg_olist__order_items.order_id.
    - Payment allocation: allocated_payment_value = order payment_total * (price + freight) / order item value,
      so an order's allocated values sum to its payments (orders without payments allocate null).
    - paid_value: what the customer paid for the item, its allocated payment, else price + freight. The one
      definition of a purchase's value: customer_rfm's monetary value and the ALS job's cut-off segments sum it.
#}

with

order_items as (

    select
        order_item_key,
        order_id,
        order_item_id,
        product_id,
        seller_id,
        shipping_limit_at,
        price,
        freight_value
    from {{ ref('stg_olist__order_items') }}

),

orders as (

    select
        order_id,
        customer_id,
        order_status,
        purchased_at,
        delivered_to_customer_at,
        estimated_delivery_at
    from {{ ref('stg_olist__orders') }}

),

customers as (

    select
        customer_id,
        customer_unique_id,
        customer_state
    from {{ ref('stg_olist__customers') }}

),

products as (

    select
        product_id,
        product_category_name,
        product_category_name_english
    from {{ ref('stg_olist__products') }}

),

sellers as (

    select
        seller_id,
        seller_state
    from {{ ref('stg_olist__sellers') }}

),

order_payments as (

    select
        order_id,
        payment_total
    from {{ ref('int_order_payments_aggregated') }}

),

order_reviews as (

    select
        order_id,
        review_score
    from {{ ref('int_order_reviews_aggregated') }}

),

order_item_values as (

    select
        order_id,
        sum(price + freight_value) as order_item_value
    from order_items
    group by order_id

),

joined as (

    select
        order_items.order_item_key,
        order_items.order_id,
        order_items.order_item_id,
        orders.customer_id,
        customers.customer_unique_id,
        customers.customer_state,
        order_items.product_id,
        products.product_category_name,
        products.product_category_name_english,
        order_items.seller_id,
        sellers.seller_state,
        orders.order_status,
        orders.order_status in {{ valid_purchase_statuses() }} as is_valid_purchase,
        orders.purchased_at,
        orders.delivered_to_customer_at,
        orders.estimated_delivery_at,
        order_items.shipping_limit_at,
        order_items.price,
        order_items.freight_value,
        order_items.price + order_items.freight_value as item_value,
        order_item_values.order_item_value,
        order_payments.payment_total as order_payment_total,
        order_reviews.review_score as order_review_score
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join customers
        on orders.customer_id = customers.customer_id
    left join products
        on order_items.product_id = products.product_id
    left join sellers
        on order_items.seller_id = sellers.seller_id
    left join order_item_values
        on order_items.order_id = order_item_values.order_id
    left join order_payments
        on order_items.order_id = order_payments.order_id
    left join order_reviews
        on order_items.order_id = order_reviews.order_id

),

allocated as (

    select
        *,
        case
            when order_item_value > 0
                then cast(order_payment_total as double) * cast(item_value as double) / cast(order_item_value as double)
            when order_item_value = 0 and order_payment_total is not null
                then cast(order_payment_total as double) / count(*) over (partition by order_id)
        end as allocated_payment_value
    from joined

),

final as (

    select
        *,
        coalesce(allocated_payment_value, cast(item_value as double)) as paid_value
    from allocated

)

select * from final
