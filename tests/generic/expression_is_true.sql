{% test expression_is_true(model, expression, column_name=none) %}
{#  Fails on every row where the expression is not true (null counts as a failure). #}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}
