-- RFM segments: size, spend and recency.
select
    segment,
    count(*) as customers,
    round(avg(monetary_value), 2) as mean_monetary_value,
    round(avg(order_count), 3) as mean_orders,
    round(avg(recency_days), 1) as mean_recency_days
from {{ ref('customer_rfm') }}
group by segment
order by customers desc
