{% set raw_columns = ['product_category_name', 'product_category_name_english'] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record
    from {{ source('olist', 'product_category_name_translation') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            case when {{ clean_string('product_category_name') }} is null then 'missing product_category_name' end,
            case
                when {{ clean_string('product_category_name_english') }} is null
                    then 'missing product_category_name_english'
            end
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['lower(trim(product_category_name))'], 'product_category_name_english') }} as key_rank
    from checked

),

final as (

    select
        lower(trim(product_category_name)) as product_category_name,
        lower(trim(product_category_name_english)) as product_category_name_english,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate product_category_name'
            else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
