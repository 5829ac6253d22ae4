{% set raw_columns = [
    'order_id', 'order_item_id', 'product_id', 'seller_id', 'shipping_limit_date', 'price', 'freight_value',
] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'order_items') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('order_id') }},
            {{ number_problem('order_item_id', data_type='int', min_value=1, required=true) }},
            {{ id_problem('product_id') }},
            {{ id_problem('seller_id') }},
            {{ timestamp_problem('shipping_limit_date') }},
            {{ number_problem('price', min_value=0, required=true) }},
            {{ number_problem('freight_value', min_value=0, required=true) }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(order_id)', 'trim(order_item_id)'], 'product_id, seller_id, price') }} as key_rank
    from checked

),

final as (

    select
        concat(trim(order_id), '-', trim(order_item_id)) as order_item_key,
        trim(order_id) as order_id,
        try_cast(trim(order_item_id) as int) as order_item_id,
        trim(product_id) as product_id,
        trim(seller_id) as seller_id,
        {{ to_timestamp_or_null('shipping_limit_date') }} as shipping_limit_at,
        try_cast(trim(price) as decimal(12, 2)) as price,
        try_cast(trim(freight_value) as decimal(12, 2)) as freight_value,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate (order_id, order_item_id)'
            else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
