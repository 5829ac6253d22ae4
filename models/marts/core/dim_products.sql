{#  category_code: a dense integer per English category (alphabetical), stable on a rebuild of the same data. #}

with

products as (

    select * from {{ ref('stg_olist__products') }}

),

sales as (

    select
        product_id,
        count(*) as items_sold,
        {{ count_distinct('order_id') }} as order_count,
        {{ count_distinct('customer_unique_id') }} as customer_count,
        min(price) as min_price,
        avg(price) as mean_price,
        max(price) as max_price,
        stddev_samp(price) as stddev_price,
        sum(price) as revenue,
        avg(order_review_score) as mean_review_score,
        min(purchased_at) as first_sold_at,
        max(purchased_at) as last_sold_at
    from {{ ref('int_order_items_enriched') }}
    where is_valid_purchase
    group by product_id

),

final as (

    select
        products.product_id,
        products.product_category_name,
        products.product_category_name_english,
        products.has_category,
        products.product_name_length,
        products.product_description_length,
        products.product_photo_count,
        products.product_weight_g,
        products.product_length_cm,
        products.product_height_cm,
        products.product_width_cm,
        sales.min_price,
        sales.mean_price,
        sales.max_price,
        sales.stddev_price,
        sales.mean_review_score,
        sales.first_sold_at,
        sales.last_sold_at,
        dense_rank() over (order by products.product_category_name_english) - 1 as category_code,
        coalesce(sales.items_sold, 0) as items_sold,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.customer_count, 0) as customer_count,
        coalesce(sales.revenue, 0) as revenue
    from products
    left join sales
        on products.product_id = sales.product_id

)

select * from final
