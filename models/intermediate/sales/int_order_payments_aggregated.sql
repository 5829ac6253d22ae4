with

order_payments as (

    select
        order_id,
        payment_sequential,
        payment_type,
        payment_installments,
        payment_value
    from {{ ref('stg_olist__order_payments') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id order by payment_value desc, payment_sequential asc
        ) as value_rank
    from order_payments

),

final as (

    select
        order_id,
        sum(payment_value) as payment_total,
        count(*) as payment_count,
        max(case when value_rank = 1 then payment_type end) as main_payment_type,
        max(payment_installments) as max_installments,
        max(case when payment_type = 'voucher' then 1 else 0 end) = 1 as has_voucher
    from ranked
    group by order_id

)

select * from final
