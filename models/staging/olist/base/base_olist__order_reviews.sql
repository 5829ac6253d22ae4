{% set raw_columns = [
    'review_id', 'order_id', 'review_score', 'review_comment_title', 'review_comment_message',
    'review_creation_date', 'review_answer_timestamp',
] %}

{#
    De-duplication: review_id is not unique in Olist (one survey answer can cover several orders of a customer),
    so the key is (review_id, order_id). Rows repeating a (review_id, order_id) pair are duplicates: the one
    answered last is kept, the others are rejected as 'duplicate (review_id, order_id)'. An order with several
    different reviews keeps all of them; downstream models use the latest answered review of an order.
#}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'order_reviews') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('review_id') }},
            {{ id_problem('order_id') }},
            {{ number_problem('review_score', data_type='int', min_value=1, max_value=5, required=true) }},
            {{ timestamp_problem('review_creation_date') }},
            {{ timestamp_problem('review_answer_timestamp') }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(
            ['trim(review_id)', 'trim(order_id)'],
            'review_answer_timestamp desc nulls last, review_creation_date desc, review_score, '
            ~ 'review_comment_message, review_comment_title'
        ) }} as key_rank
    from checked

),

final as (

    select
        concat(trim(review_id), '-', trim(order_id)) as order_review_key,
        trim(review_id) as review_id,
        trim(order_id) as order_id,
        try_cast(trim(review_score) as int) as review_score,
        {{ clean_string('review_comment_title') }} as review_comment_title,
        {{ clean_string('review_comment_message') }} as review_comment_message,
        {{ to_timestamp_or_null('review_creation_date') }} as review_created_at,
        {{ to_timestamp_or_null('review_answer_timestamp') }} as review_answered_at,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate (review_id, order_id)' else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
