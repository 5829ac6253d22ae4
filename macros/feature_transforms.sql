{#  Reusable feature transforms for the marts (documented in macros/_macros.yml). #}

{% macro log_transform(column) -%}
    ln(1 + greatest({{ column }}, 0))
{%- endmacro %}

{% macro cap_at_percentile(column, percentile, partition_by=none) -%}
    least(
        {{ column }},
        percentile_approx({{ column }}, {{ percentile }}, 10000) over (
    {%- if partition_by %} partition by {{ partition_by }}{% endif -%}
        )
    )
{%- endmacro %}

{% macro quantile_score(column, buckets=5, higher_is_better=true) -%}
    least(
        {{ buckets }},
        1 + cast(floor(
            percent_rank() over (order by {{ column }} {{ 'asc' if higher_is_better else 'desc' }}) * {{ buckets }}
        ) as int)
    )
{%- endmacro %}

{% macro implicit_confidence(purchase_count, monetary_value) -%}
    (
        {{ var('interaction_frequency_weight') }} * {{ purchase_count }}
        + {{ var('interaction_monetary_weight') }} * {{ log_transform(monetary_value) }}
    )
{%- endmacro %}

{% macro valid_purchase_statuses() -%}
    ({% for status in var('valid_purchase_statuses') %}'{{ status }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
