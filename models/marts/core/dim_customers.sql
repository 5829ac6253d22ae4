{#
    One row per customer_unique_id (the person). Location: from the customer_id of the person's latest order
    (customer_id is one per order); customers with no order in the data take their smallest customer_id's.
    RFM features and segment come from customer_rfm; customers without a valid purchase have segment
    'no_valid_purchase'.
#}

with

customers as (

    select * from {{ ref('stg_olist__customers') }}

),

orders as (

    select
        customer_id,
        purchased_at
    from {{ ref('stg_olist__orders') }}

),

customer_rfm as (

    select * from {{ ref('customer_rfm') }}

),

located as (

    select
        customers.customer_unique_id,
        customers.customer_id,
        customers.customer_zip_code_prefix,
        customers.customer_city,
        customers.customer_state,
        orders.purchased_at,
        row_number() over (
            partition by customers.customer_unique_id
            order by orders.purchased_at desc nulls last, customers.customer_id asc
        ) as recency_rank,
        count(orders.customer_id) over (partition by customers.customer_unique_id) as order_count_all_statuses
    from customers
    left join orders
        on customers.customer_id = orders.customer_id

),

final as (

    select
        located.customer_unique_id,
        located.customer_zip_code_prefix,
        located.customer_city,
        located.customer_state,
        located.order_count_all_statuses,
        customer_rfm.monetary_value,
        customer_rfm.first_purchased_at,
        customer_rfm.last_purchased_at,
        customer_rfm.recency_days,
        customer_rfm.recency_score,
        customer_rfm.frequency_score,
        customer_rfm.monetary_score,
        coalesce(customer_rfm.order_count, 0) as valid_order_count,
        coalesce(customer_rfm.segment, 'no_valid_purchase') as segment,
        coalesce(customer_rfm.order_count, 0) > 1 as is_repeat_buyer
    from located
    left join customer_rfm
        on located.customer_unique_id = customer_rfm.customer_unique_id
    where located.recency_rank = 1

)

select * from final
