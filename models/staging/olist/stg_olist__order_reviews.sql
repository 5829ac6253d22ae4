with

base as (

    select * from {{ ref('base_olist__order_reviews') }}

),

final as (

    select
        order_review_key,
        review_id,
        order_id,
        review_score,
        review_comment_title,
        review_comment_message,
        review_created_at,
        review_answered_at
    from base
    where reject_reason is null

)

select * from final
