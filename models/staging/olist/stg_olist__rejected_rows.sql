{#
    Every raw row that could not be staged, from every Olist source table, with the reason and the raw record
    (all columns as read, as JSON). Reconciled per table in stg_olist__row_counts.
#}
{% set entities = [
    ('orders', 'order_id'),
    ('order_items', "concat(order_id, '-', coalesce(cast(order_item_id as string), ''))"),
    ('customers', 'customer_id'),
    ('products', 'product_id'),
    ('sellers', 'seller_id'),
    ('order_reviews', 'order_review_key'),
    ('order_payments', 'order_payment_key'),
    ('product_category_name_translation', 'product_category_name'),
] %}

with

{% for entity, record_key in entities %}
    rejected_{{ entity }} as (

        select
            '{{ entity }}' as source_table,
            {{ record_key }} as record_key,
            reject_reason,
            raw_record
        from {{ ref('base_olist__' ~ entity) }}
        where reject_reason is not null

    ),

{% endfor %}
final as (

    {% for entity, _ in entities %}
        select
            source_table,
            record_key,
            reject_reason,
            raw_record
        from rejected_{{ entity }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

)

select * from final
