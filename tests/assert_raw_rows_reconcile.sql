-- Every raw row is either staged or rejected with a reason: nothing is lost silently.
select
    source_table,
    raw_rows,
    staged_rows,
    rejected_rows
from {{ ref('stg_olist__row_counts') }}
where not is_reconciled
