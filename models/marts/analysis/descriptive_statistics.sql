{#
    Distribution summary of the skewed measures the original notebook explored, raw and after ln(1 + x):
    count, mean, stddev, min, p25, median, p75, p99, max, skewness, skewness of the log.
#}
{% set measures = [
    ('order_value', 'fct_orders', 'payment_total', 'is_valid_purchase'),
    ('item_price', 'fct_order_items', 'price', 'is_valid_purchase'),
    ('item_freight', 'fct_order_items', 'freight_value', 'is_valid_purchase'),
    ('review_score', 'fct_orders', 'review_score', 'true'),
    ('product_weight_g', 'dim_products', 'product_weight_g', 'true'),
    ('product_length_cm', 'dim_products', 'product_length_cm', 'true'),
    ('product_height_cm', 'dim_products', 'product_height_cm', 'true'),
    ('product_width_cm', 'dim_products', 'product_width_cm', 'true'),
    ('product_photo_count', 'dim_products', 'product_photo_count', 'true'),
    ('product_name_length', 'dim_products', 'product_name_length', 'true'),
    ('product_description_length', 'dim_products', 'product_description_length', 'true'),
] %}

with

{% for measure, model, column, condition in measures %}
    {{ measure }}_values as (

        select cast({{ column }} as double) as measure_value
        from {{ ref(model) }}
        where {{ condition }} and {{ column }} is not null

    ),

    {{ measure }}_summary as (

        select
            '{{ measure }}' as measure,
            count(*) as value_count,
            avg(measure_value) as mean,
            stddev_samp(measure_value) as stddev,
            min(measure_value) as min_value,
            percentile(measure_value, 0.25) as p25,
            percentile(measure_value, 0.5) as median,
            percentile(measure_value, 0.75) as p75,
            percentile(measure_value, 0.99) as p99,
            max(measure_value) as max_value,
            skewness(measure_value) as skewness,
            skewness({{ log_transform('measure_value') }}) as skewness_log
        from {{ measure }}_values

    ),

{% endfor %}
final as (

    {% for measure, _, _, _ in measures %}
        select * from {{ measure }}_summary
        {{ 'union all' if not loop.last }}
    {% endfor %}

)

select * from final
