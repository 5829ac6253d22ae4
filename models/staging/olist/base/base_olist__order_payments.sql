{% set raw_columns = ['order_id', 'payment_sequential', 'payment_type', 'payment_installments', 'payment_value'] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'order_payments') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('order_id') }},
            {{ number_problem('payment_sequential', data_type='int', min_value=1, required=true) }},
            case when {{ clean_string('payment_type') }} is null then 'missing payment_type' end,
            {{ number_problem('payment_installments', data_type='int', min_value=0) }},
            {{ number_problem('payment_value', min_value=0, required=true) }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(order_id)', 'trim(payment_sequential)'], 'payment_type, payment_value') }}
            as key_rank
    from checked

),

final as (

    select
        concat(trim(order_id), '-', trim(payment_sequential)) as order_payment_key,
        trim(order_id) as order_id,
        try_cast(trim(payment_sequential) as int) as payment_sequential,
        lower(trim(payment_type)) as payment_type,
        try_cast(trim(payment_installments) as int) as payment_installments,
        try_cast(trim(payment_value) as decimal(12, 2)) as payment_value,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate (order_id, payment_sequential)'
            else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
