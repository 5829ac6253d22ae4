{#
    The ALS input: one row per (customer_unique_id, product_id) over valid purchases.
    - implicit_confidence = var('interaction_frequency_weight') * purchase_count
                            + var('interaction_monetary_weight') * ln(1 + monetary_value)
      (frequency dominates; spend breaks ties; ALS scales it by its alpha).
    - explicit_rating: the customer's mean review score for the orders holding the product; where the customer
      left no review, the product's mean rating over customers who did, else the global mean rating
      (rating_source says which).
    - customer_index / product_index: dense ranks of the ids (0-based), so the same data gives the same indexes.
#}

with

customer_products as (

    select * from {{ ref('int_customer_products_aggregated') }}

),

product_ratings as (

    select
        product_id,
        avg(mean_review_score) as product_mean_rating
    from customer_products
    where mean_review_score is not null
    group by product_id

),

global_rating as (

    select avg(mean_review_score) as global_mean_rating
    from customer_products
    where mean_review_score is not null

),

final as (

    select
        customer_products.customer_unique_id,
        customer_products.product_id,
        customer_products.product_category_name_english,
        customer_products.purchase_count,
        customer_products.item_count,
        customer_products.monetary_value,
        customer_products.first_purchased_at,
        customer_products.last_purchased_at,
        customer_products.recency_days,
        customer_products.mean_review_score,
        dense_rank() over (order by customer_products.customer_unique_id) - 1 as customer_index,
        dense_rank() over (order by customer_products.product_id) - 1 as product_index,
        round(
            {{ implicit_confidence('customer_products.purchase_count', 'customer_products.monetary_value') }}, 6
        ) as implicit_confidence,
        coalesce(
            customer_products.mean_review_score,
            product_ratings.product_mean_rating,
            global_rating.global_mean_rating
        ) as explicit_rating,
        case
            when customer_products.mean_review_score is not null then 'review'
            when product_ratings.product_mean_rating is not null then 'product_mean'
            else 'global_mean'
        end as rating_source
    from customer_products
    left join product_ratings
        on customer_products.product_id = product_ratings.product_id
    cross join global_rating

)

select * from final
