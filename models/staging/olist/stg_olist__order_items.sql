with

base as (

    select * from {{ ref('base_olist__order_items') }}

),

final as (

    select
        order_item_key,
        order_id,
        order_item_id,
        product_id,
        seller_id,
        shipping_limit_at,
        price,
        freight_value
    from base
    where reject_reason is null

)

select * from final
