with

base as (

    select * from {{ ref('base_olist__orders') }}

),

final as (

    select
        order_id,
        customer_id,
        order_status,
        purchased_at,
        approved_at,
        delivered_to_carrier_at,
        delivered_to_customer_at,
        estimated_delivery_at
    from base
    where reject_reason is null

)

select * from final
