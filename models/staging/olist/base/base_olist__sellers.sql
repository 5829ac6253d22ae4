{% set raw_columns = ['seller_id', 'seller_zip_code_prefix', 'seller_city', 'seller_state'] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'sellers') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('seller_id') }}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(seller_id)'], 'seller_zip_code_prefix, seller_city') }} as key_rank
    from checked

),

final as (

    select
        trim(seller_id) as seller_id,
        {{ clean_string('seller_zip_code_prefix') }} as seller_zip_code_prefix,
        lower({{ clean_string('seller_city') }}) as seller_city,
        upper({{ clean_string('seller_state') }}) as seller_state,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate seller_id' else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
