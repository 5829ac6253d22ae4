-- Does a late delivery cost stars? Mean review score of delivered orders, on time vs late.
select
    is_delivered_late,
    count(*) as orders,
    round(avg(review_score), 3) as mean_review_score,
    round(avg(delivery_days), 1) as mean_delivery_days
from {{ ref('fct_orders') }}
where order_status = 'delivered' and review_score is not null
group by is_delivered_late
