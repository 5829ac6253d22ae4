{#
    Distribution summary of the skewed measures the original notebook explored, raw and after ln(1 + x):
    count, mean, stddev, min, p25, median, p75, p99, max, skewness, skewness of the log.

    Each source model is read once: its measures become (measure, measure_value) rows, and one aggregation grouped
    by measure summarises them all, with one exact percentile buffer per measure for the four quantiles. An
    aggregation per measure, with a buffer per quantile, took 1.3-2x as long (benchmarks/RESULTS.md).
#}
{# per source model: (measure, column, the condition a row must meet to count; none: every row) #}
{% set measures_by_model = {
    'fct_orders': [
        ('order_value', 'payment_total', 'is_valid_purchase'),
        ('review_score', 'review_score', none),
    ],
    'fct_order_items': [
        ('item_price', 'price', 'is_valid_purchase'),
        ('item_freight', 'freight_value', 'is_valid_purchase'),
    ],
    'dim_products': [
        ('product_weight_g', 'product_weight_g', none),
        ('product_length_cm', 'product_length_cm', none),
        ('product_height_cm', 'product_height_cm', none),
        ('product_width_cm', 'product_width_cm', none),
        ('product_photo_count', 'product_photo_count', none),
        ('product_name_length', 'product_name_length', none),
        ('product_description_length', 'product_description_length', none),
    ],
} %}

with

fct_orders as (

    select
        is_valid_purchase,
        payment_total,
        review_score
    from {{ ref('fct_orders') }}

),

fct_order_items as (

    select
        is_valid_purchase,
        price,
        freight_value
    from {{ ref('fct_order_items') }}

),

dim_products as (

    select
        product_weight_g,
        product_length_cm,
        product_height_cm,
        product_width_cm,
        product_photo_count,
        product_name_length,
        product_description_length
    from {{ ref('dim_products') }}

),

{% for model, measures in measures_by_model.items() %}
    {{ model }}_measures as (

        -- a row per source row and measure; null where the row does not meet the measure's condition
        select
            inline(array(
                {% for measure, column, condition in measures %}
                    struct(
                        '{{ measure }}' as measure,
                        {% if condition -%}
                            case when {{ condition }} then cast({{ column }} as double) end as measure_value
                        {%- else -%}
                            cast({{ column }} as double) as measure_value
                        {%- endif %}
                    ){{ ',' if not loop.last }}
                {% endfor %}
            ))
        from {{ model }}

    ),

{% endfor %}
measure_values as (

    {% for model in measures_by_model %}
        select
            measure,
            measure_value
        from {{ model }}_measures
        where measure_value is not null
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

summary as (

    select
        measure,
        count(*) as value_count,
        avg(measure_value) as mean,
        stddev_samp(measure_value) as stddev,
        min(measure_value) as min_value,
        percentile(measure_value, array(0.25, 0.5, 0.75, 0.99)) as quantiles,
        max(measure_value) as max_value,
        skewness(measure_value) as skewness,
        skewness({{ log_transform('measure_value') }}) as skewness_log
    from measure_values
    group by measure

),

measure_names as (

    select
        explode(array(
            {% for measure, _, _ in measures_by_model.values() | sum(start=[]) %}
                '{{ measure }}'{{ ',' if not loop.last }}
            {% endfor %}
        )) as measure

),

measure_summaries as (

    -- every measure gets its row, one without values a count of 0 and nulls
    select
        measure_names.measure,
        summary.mean,
        summary.stddev,
        summary.min_value,
        summary.max_value,
        summary.skewness,
        summary.skewness_log,
        summary.quantiles[0] as p25,
        summary.quantiles[1] as median,
        summary.quantiles[2] as p75,
        summary.quantiles[3] as p99,
        coalesce(summary.value_count, 0) as value_count
    from measure_names
    left join summary
        on measure_names.measure = summary.measure

),

final as (

    select
        measure,
        value_count,
        mean,
        stddev,
        min_value,
        p25,
        median,
        p75,
        p99,
        max_value,
        skewness,
        skewness_log
    from measure_summaries

)

select * from final
