{% set raw_columns = [
    'order_id', 'customer_id', 'order_status', 'order_purchase_timestamp', 'order_approved_at',
    'order_delivered_carrier_date', 'order_delivered_customer_date', 'order_estimated_delivery_date',
] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'orders') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('order_id') }},
            {{ id_problem('customer_id') }},
            case when {{ clean_string('order_status') }} is null then 'missing order_status' end,
            {{ timestamp_problem('order_purchase_timestamp', required=true) }},
            {{ timestamp_problem('order_approved_at') }},
            {{ timestamp_problem('order_delivered_carrier_date') }},
            {{ timestamp_problem('order_delivered_customer_date') }},
            {{ timestamp_problem('order_estimated_delivery_date') }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(order_id)'], 'order_purchase_timestamp, customer_id, order_status') }} as key_rank
    from checked

),

final as (

    select
        trim(order_id) as order_id,
        trim(customer_id) as customer_id,
        lower(trim(order_status)) as order_status,
        {{ to_timestamp_or_null('order_purchase_timestamp') }} as purchased_at,
        {{ to_timestamp_or_null('order_approved_at') }} as approved_at,
        {{ to_timestamp_or_null('order_delivered_carrier_date') }} as delivered_to_carrier_at,
        {{ to_timestamp_or_null('order_delivered_customer_date') }} as delivered_to_customer_at,
        {{ to_timestamp_or_null('order_estimated_delivery_date') }} as estimated_delivery_at,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate order_id' else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
