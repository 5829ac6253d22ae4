with

base as (

    select * from {{ ref('base_olist__order_payments') }}

),

final as (

    select
        order_payment_key,
        order_id,
        payment_sequential,
        payment_type,
        payment_installments,
        payment_value
    from base
    where reject_reason is null

)

select * from final
