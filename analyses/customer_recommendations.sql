-- One customer's history and recommendations with category names (recommendations are published by the ALS job
-- as olist_marts.recommendations_by_customer; replace the id).
with

history as (

    select
        customer_unique_id,
        product_id,
        product_category_name_english,
        purchase_count,
        last_purchased_at
    from {{ ref('customer_product_interactions') }}
    where customer_unique_id = '{{ var("customer_unique_id", "") }}'

)

select * from history
