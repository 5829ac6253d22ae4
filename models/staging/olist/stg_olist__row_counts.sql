{#
    Row reconciliation per source table: rows read from the raw file = rows staged (counted in the staging
    model itself) + rows rejected (counted in stg_olist__rejected_rows). Tested by
    tests/assert_raw_rows_reconcile.sql; a filter or a join in staging that drops or duplicates rows shows here.
    A table, not a view: counting raw rows parses every CSV file again, and three tests read this model.
#}
{{ config(materialized='table') }}
{% set entities = [
    ('orders', 'stg_olist__orders', 'true'),
    ('order_items', 'stg_olist__order_items', 'true'),
    ('customers', 'stg_olist__customers', 'true'),
    ('products', 'stg_olist__products', 'true'),
    ('sellers', 'stg_olist__sellers', 'true'),
    ('order_reviews', 'stg_olist__order_reviews', 'true'),
    ('order_payments', 'stg_olist__order_payments', 'true'),
    ('product_category_name_translation', 'stg_olist__category_translations', 'not is_fallback'),
] %}

with

rejected as (

    select
        source_table,
        count(*) as rejected_rows
    from {{ ref('stg_olist__rejected_rows') }}
    group by source_table

),

{% for entity, staging_model, staged_filter in entities %}
    counts_{{ entity }} as (

        select
            '{{ entity }}' as source_table,
            (select count(*) from {{ source('olist', entity) }}) as raw_rows,
            (
                select count(*) from {{ ref(staging_model) }}
                where {{ staged_filter }}
            ) as staged_rows

    ),

{% endfor %}
unioned as (

    {% for entity, _, _ in entities %}
        select
            source_table,
            raw_rows,
            staged_rows
        from counts_{{ entity }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

final as (

    select
        unioned.source_table,
        unioned.raw_rows,
        unioned.staged_rows,
        coalesce(rejected.rejected_rows, 0) as rejected_rows,
        unioned.raw_rows = unioned.staged_rows + coalesce(rejected.rejected_rows, 0) as is_reconciled
    from unioned
    left join rejected
        on unioned.source_table = rejected.source_table

)

select * from final
