{#
    RFM features and segments, one row per customer_unique_id with a valid purchase.
    - monetary_value is capped at its var('rfm_monetary_cap_percentile') percentile (winsorized), then
      log-transformed: ln(1 + capped value).
    - Scores 1-5 by quantile (percent rank, so equal values always get equal scores): recency (more recent is
      better), frequency (order count), monetary (log capped value). On Olist ~97% of customers buy once, so
      the frequency score is 1 for one-time buyers and 5 for repeat buyers.
    - Segment: the rfm_segments seed row with the lowest priority whose score ranges match.
#}

with

customers as (

    select * from {{ ref('int_customers_aggregated') }}

),

rfm_segments as (

    select * from {{ ref('rfm_segments') }}

),

capped as (

    select
        *,
        {{ cap_at_percentile('monetary_value', var('rfm_monetary_cap_percentile')) }} as monetary_value_capped
    from customers

),

transformed as (

    select
        *,
        {{ log_transform('monetary_value_capped') }} as monetary_value_log
    from capped

),

scored as (

    select
        *,
        {{ quantile_score('recency_days', higher_is_better=false) }} as recency_score,
        {{ quantile_score('order_count') }} as frequency_score,
        {{ quantile_score('monetary_value_log') }} as monetary_score
    from transformed

),

matched as (

    select
        scored.customer_unique_id,
        rfm_segments.segment,
        row_number() over (
            partition by scored.customer_unique_id order by rfm_segments.priority
        ) as match_rank
    from scored
    inner join rfm_segments
        on scored.recency_score between rfm_segments.recency_score_min and rfm_segments.recency_score_max
            and scored.frequency_score between rfm_segments.frequency_score_min and rfm_segments.frequency_score_max
            and scored.monetary_score between rfm_segments.monetary_score_min and rfm_segments.monetary_score_max

),

final as (

    select
        scored.customer_unique_id,
        scored.recency_days,
        scored.order_count,
        scored.item_count,
        scored.monetary_value,
        scored.monetary_value_capped,
        scored.monetary_value_log,
        scored.distinct_product_count,
        scored.distinct_category_count,
        scored.tenure_days,
        scored.mean_review_score_given,
        scored.first_purchased_at,
        scored.last_purchased_at,
        scored.as_of_at,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        matched.segment,
        concat(scored.recency_score, scored.frequency_score, scored.monetary_score) as rfm_cell
    from scored
    left join matched
        on scored.customer_unique_id = matched.customer_unique_id
            and matched.match_rank = 1

)

select * from final
