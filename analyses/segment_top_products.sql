-- The top products of one RFM segment, from the ALS job's published recommendations_by_segment.
-- make sql F=analyses/segment_top_products.sql VARS="segment=champions"
select
    recommendations.segment,
    recommendations.rank,
    recommendations.product_id,
    recommendations.product_category,
    recommendations.score as segment_buyers,
    segments.description as segment_description
from {{ target.schema }}_marts.recommendations_by_segment as recommendations
left join {{ ref('rfm_segments') }} as segments
    on recommendations.segment = segments.segment
where recommendations.segment = '{{ var("segment", "champions") }}'
order by recommendations.rank
