-- Every valid purchase (customer, product) appears in the interactions, and item counts add up.
with

purchases as (

    select
        customer_unique_id,
        product_id,
        count(*) as item_count
    from {{ ref('fct_order_items') }}
    where is_valid_purchase
    group by customer_unique_id, product_id

),

interactions as (

    select
        customer_unique_id,
        product_id,
        item_count
    from {{ ref('customer_product_interactions') }}

)

select
    purchases.customer_unique_id,
    purchases.product_id,
    purchases.item_count as purchased_items,
    interactions.item_count as interaction_items
from purchases
left join interactions
    on purchases.customer_unique_id = interactions.customer_unique_id
        and purchases.product_id = interactions.product_id
where interactions.item_count is null or interactions.item_count != purchases.item_count
