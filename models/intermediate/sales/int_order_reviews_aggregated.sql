{#
    One row per reviewed order. An order can have several reviews: its score is the latest answered review's
    (ties broken by creation time, then review_id); the mean and count of all its reviews are kept too.
#}

with

order_reviews as (

    select
        order_id,
        review_id,
        review_score,
        review_created_at,
        review_answered_at,
        review_comment_message is not null as has_message
    from {{ ref('stg_olist__order_reviews') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by review_answered_at desc nulls last, review_created_at desc nulls last, review_id asc
        ) as recency_rank
    from order_reviews

),

final as (

    select
        order_id,
        max(case when recency_rank = 1 then review_score end) as review_score,
        avg(review_score) as mean_review_score,
        count(*) as review_count,
        max(case when recency_rank = 1 then review_answered_at end) as review_answered_at,
        max(cast(has_message as int)) = 1 as has_review_message
    from ranked
    group by order_id

)

select * from final
