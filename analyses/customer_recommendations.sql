-- One customer's purchase history and current recommendations, with English category names.
-- The recommendations are the ALS job's published table <schema>_marts.recommendations_by_customer.
-- make sql F=analyses/customer_recommendations.sql VARS="customer_unique_id=<id>"
-- (without an id: the customer with the most distinct products bought).
with

interactions as (

    select
        customer_unique_id,
        product_id,
        product_category_name_english,
        purchase_count,
        last_purchased_at
    from {{ ref('customer_product_interactions') }}

),

recommendations as (

    select
        customer_unique_id,
        rank,
        product_id,
        product_category,
        score,
        source,
        run_id
    from {{ target.schema }}_marts.recommendations_by_customer

),

chosen_customer as (

    {% if var("customer_unique_id", "") %}
        select '{{ var("customer_unique_id", "") }}' as customer_unique_id
    {% else %}
        select customer_unique_id
        from interactions
        group by customer_unique_id
        order by count(*) desc, customer_unique_id
        limit 1
    {% endif %}

),

history as (

    select
        interactions.customer_unique_id,
        'bought' as kind,
        row_number() over (
            order by interactions.last_purchased_at desc, interactions.product_id asc
        ) as position,  -- noqa: RF04
        interactions.product_id,
        interactions.product_category_name_english as product_category,
        cast(interactions.purchase_count as double) as score,
        cast(interactions.last_purchased_at as string) as detail_text
    from interactions
    inner join chosen_customer on interactions.customer_unique_id = chosen_customer.customer_unique_id

),

recommended as (

    select
        recommendations.customer_unique_id,
        'recommended' as kind,
        recommendations.rank as position,  -- noqa: RF04
        recommendations.product_id,
        recommendations.product_category,
        recommendations.score,
        concat(recommendations.source, ' (run ', recommendations.run_id, ')') as detail_text
    from recommendations
    inner join chosen_customer on recommendations.customer_unique_id = chosen_customer.customer_unique_id

),

final as (

    select * from history
    union all
    select * from recommended

)

select * from final
order by kind, position  -- noqa: RF04
