with

sellers as (

    select * from {{ ref('stg_olist__sellers') }}

),

sales as (

    select
        seller_id,
        count(*) as items_sold,
        {{ count_distinct('order_id') }} as order_count,
        {{ count_distinct('product_id') }} as product_count,
        sum(price) as revenue,
        avg(order_review_score) as mean_review_score
    from {{ ref('int_order_items_enriched') }}
    where is_valid_purchase
    group by seller_id

),

final as (

    select
        sellers.seller_id,
        sellers.seller_zip_code_prefix,
        sellers.seller_city,
        sellers.seller_state,
        sales.mean_review_score,
        coalesce(sales.items_sold, 0) as items_sold,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.product_count, 0) as product_count,
        coalesce(sales.revenue, 0) as revenue
    from sellers
    left join sales
        on sellers.seller_id = sales.seller_id

)

select * from final
