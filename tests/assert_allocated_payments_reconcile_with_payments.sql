-- Item-level allocated payments sum to the order's payments within var('payment_reconciliation_tolerance') BRL.
with

per_order as (

    select
        order_id,
        max(order_payment_total) as payment_total,
        sum(allocated_payment_value) as allocated_total
    from {{ ref('fct_order_items') }}
    where allocated_payment_value is not null
    group by order_id

)

select
    order_id,
    payment_total,
    allocated_total
from per_order
where abs(payment_total - allocated_total) > {{ var('payment_reconciliation_tolerance') }}
