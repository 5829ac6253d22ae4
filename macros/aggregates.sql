{#
    count_distinct(column): the number of distinct non-null values of column in each group, as count(distinct).

    For aggregations with two or more distinct counts over groups of a few values each (an order's products, a
    customer's products, a product's orders). Spark plans several count(distinct) in one aggregation by copying
    every row once per distinct column (Expand) and aggregating twice; a set per group (collect_set) takes one
    hash aggregation. 10x dbt build, each model's query alone: fct_orders 12-16 -> 8-9 s, dim_products 7-8 -> 4 s
    (benchmarks/RESULTS.md). Keep count(distinct) where a group can hold millions of values (a category's orders):
    the set is held in memory.
#}
{% macro count_distinct(column) -%}
    size(collect_set({{ column }}))
{%- endmacro %}
