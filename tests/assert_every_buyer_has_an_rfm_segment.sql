-- Every customer with a valid purchase has exactly one RFM row with a segment.
select aggregated.customer_unique_id
from {{ ref('int_customers_aggregated') }} as aggregated
left join {{ ref('customer_rfm') }} as rfm
    on aggregated.customer_unique_id = rfm.customer_unique_id
where rfm.segment is null
