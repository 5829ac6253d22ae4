with

base as (

    select * from {{ ref('base_olist__sellers') }}

),

final as (

    select
        seller_id,
        seller_zip_code_prefix,
        seller_city,
        seller_state
    from base
    where reject_reason is null

)

select * from final
