-- Which means of payment, by orders and value.
select
    main_payment_type,
    count(*) as orders,
    round(sum(payment_total), 2) as payment_value,
    round(avg(max_installments), 2) as mean_installments
from {{ ref('fct_orders') }}
where is_valid_purchase
group by main_payment_type
order by orders desc
