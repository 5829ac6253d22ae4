with

products as (

    select
        product_id,
        product_category_name_english
    from {{ ref('dim_products') }}

),

order_items as (

    select
        product_category_name_english,
        order_id,
        customer_unique_id,
        price,
        order_review_score
    from {{ ref('fct_order_items') }}
    where is_valid_purchase

),

catalogue as (

    select
        product_category_name_english,
        count(*) as product_count
    from products
    group by product_category_name_english

),

sales as (

    select
        product_category_name_english,
        count(*) as items_sold,
        count(distinct order_id) as order_count,
        count(distinct customer_unique_id) as customer_count,
        sum(price) as revenue,
        avg(price) as mean_price,
        avg(order_review_score) as mean_review_score
    from order_items
    group by product_category_name_english

),

final as (

    select
        catalogue.product_category_name_english,
        catalogue.product_count,
        sales.mean_price,
        sales.mean_review_score,
        coalesce(sales.items_sold, 0) as items_sold,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.customer_count, 0) as customer_count,
        coalesce(sales.revenue, 0) as revenue,
        rank() over (order by coalesce(sales.revenue, 0) desc) as revenue_rank
    from catalogue
    left join sales
        on catalogue.product_category_name_english = sales.product_category_name_english

)

select * from final
