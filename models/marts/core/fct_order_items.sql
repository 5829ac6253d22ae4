with

order_items as (

    select * from {{ ref('int_order_items_enriched') }}

),

final as (

    select
        order_item_key,
        order_id,
        order_item_id,
        customer_id,
        customer_unique_id,
        product_id,
        product_category_name_english,
        seller_id,
        order_status,
        is_valid_purchase,
        purchased_at,
        price,
        freight_value,
        item_value,
        order_payment_total,
        allocated_payment_value,
        paid_value,
        order_review_score
    from order_items

)

select * from final
