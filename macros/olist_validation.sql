{#
    Expressions the staging base models use to cast raw strings and to name why a row cannot be staged.
    Each *_problem macro returns a SQL expression that is null when the value is fine and a reason otherwise.
#}

{% macro clean_string(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro to_timestamp_or_null(column) -%}
    try_to_timestamp({{ clean_string(column) }}, 'yyyy-MM-dd HH:mm:ss')
{%- endmacro %}

{% macro id_problem(column) -%}
    case
        when {{ clean_string(column) }} is null then 'missing {{ column }}'
        when not (trim({{ column }}) rlike '^[0-9a-f]{32}$') then 'malformed {{ column }}'
    end
{%- endmacro %}

{% macro timestamp_problem(column, required=false) -%}
    case
        when {{ clean_string(column) }} is null then {{ "'missing " ~ column ~ "'" if required else 'null' }}
        when {{ to_timestamp_or_null(column) }} is null then 'unparseable {{ column }}'
    end
{%- endmacro %}

{% macro number_problem(column, data_type='decimal(12, 2)', min_value=none, max_value=none, required=false) -%}
    case
        when {{ clean_string(column) }} is null then {{ "'missing " ~ column ~ "'" if required else 'null' }}
        when try_cast(trim({{ column }}) as {{ data_type }}) is null then 'unparseable {{ column }}'
        {% if min_value is not none -%}
    when try_cast(trim({{ column }}) as {{ data_type }}) < {{ min_value }} then '{{ column }} below {{ min_value }}'
        {% endif -%}
    {% if max_value is not none -%}
    when try_cast(trim({{ column }}) as {{ data_type }}) > {{ max_value }} then '{{ column }} above {{ max_value }}'
        {% endif -%}
    end
{%- endmacro %}

{% macro malformed_record_problem() -%}
    case when _corrupt_record is not null then 'malformed csv record' end
{%- endmacro %}

{#
    The raw record as JSON (every column as read) on a rejected row, so a user can see what was wrong; null on a
    staged row (a JSON copy of every row doubled the base tables: order items at 10x took 257 MiB with one, 118 MiB
    without).
    A row is rejected when a check failed (`reject_reason`) or its key is a duplicate (`key_rank` > 1, from
    duplicate_rank): the columns every base model names so, as duplicate_rank reads `reject_reason`.
#}
{% macro raw_record_json(source_relation_columns) -%}
    case when reject_reason is not null or key_rank > 1 then to_json(named_struct(
    {%- for column in source_relation_columns %}
        '{{ column }}', {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
    )) end
{%- endmacro %}

{#
    Marks all but one row of each key as a duplicate: `rank_column` is the row's rank within its key among rows
    that passed every other check (rejected rows are ranked apart and keep their own reason).
#}
{% macro duplicate_rank(key_columns, order_by) -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}, reject_reason is null
        order by {{ order_by }}
    )
{%- endmacro %}
