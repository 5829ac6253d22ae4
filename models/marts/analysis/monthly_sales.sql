with

orders as (

    select
        order_id,
        customer_unique_id,
        purchased_at,
        payment_total,
        is_valid_purchase
    from {{ ref('fct_orders') }}

),

first_purchases as (

    select
        customer_unique_id,
        min(purchased_at) as first_purchased_at
    from orders
    where is_valid_purchase
    group by customer_unique_id

),

monthly as (

    select
        cast(date_trunc('month', orders.purchased_at) as date) as order_month,
        count(*) as order_count,
        count_if(orders.is_valid_purchase) as valid_order_count,
        sum(case when orders.is_valid_purchase then orders.payment_total end) as revenue,
        count(distinct case when orders.is_valid_purchase then orders.customer_unique_id end) as customer_count,
        count(
            distinct case
                when orders.is_valid_purchase and orders.purchased_at = first_purchases.first_purchased_at
                    then orders.customer_unique_id
            end
        ) as new_customer_count
    from orders
    left join first_purchases
        on orders.customer_unique_id = first_purchases.customer_unique_id
    group by cast(date_trunc('month', orders.purchased_at) as date)

),

final as (

    select
        order_month,
        order_count,
        valid_order_count,
        revenue,
        customer_count,
        new_customer_count,
        revenue / nullif(valid_order_count, 0) as mean_order_value
    from monthly

)

select * from final
