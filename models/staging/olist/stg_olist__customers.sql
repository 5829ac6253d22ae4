with

base as (

    select * from {{ ref('base_olist__customers') }}

),

final as (

    select
        customer_id,
        customer_unique_id,
        customer_zip_code_prefix,
        customer_city,
        customer_state
    from base
    where reject_reason is null

)

select * from final
