{% set raw_columns = [
    'customer_id', 'customer_unique_id', 'customer_zip_code_prefix', 'customer_city', 'customer_state',
] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'customers') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('customer_id') }},
            {{ id_problem('customer_unique_id') }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(customer_id)'], 'customer_unique_id, customer_zip_code_prefix') }} as key_rank
    from checked

),

final as (

    select
        trim(customer_id) as customer_id,
        trim(customer_unique_id) as customer_unique_id,
        {{ clean_string('customer_zip_code_prefix') }} as customer_zip_code_prefix,
        lower({{ clean_string('customer_city') }}) as customer_city,
        upper({{ clean_string('customer_state') }}) as customer_state,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate customer_id' else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
