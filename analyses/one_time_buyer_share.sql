-- How many customers buy more than once? (Olist: ~97% buy once, which is why recommenders struggle.)
select
    count(*) as customers,
    count_if(valid_order_count = 1) as one_time_buyers,
    round(count_if(valid_order_count = 1) / count(*), 4) as one_time_share,
    count_if(is_repeat_buyer) as repeat_buyers
from {{ ref('dim_customers') }}
where valid_order_count > 0
