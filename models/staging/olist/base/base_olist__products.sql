{% set raw_columns = [
    'product_id', 'product_category_name', 'product_name_lenght', 'product_description_lenght',
    'product_photos_qty', 'product_weight_g', 'product_length_cm', 'product_height_cm', 'product_width_cm',
] %}
{% set measures = [
    'product_name_lenght', 'product_description_lenght', 'product_photos_qty', 'product_weight_g',
    'product_length_cm', 'product_height_cm', 'product_width_cm',
] %}

with

source as (

    select {{ raw_columns | join(', ') }}, _corrupt_record from {{ source('olist', 'products') }}

),

checked as (

    select
        *,
        coalesce(
            {{ malformed_record_problem() }},
            {{ id_problem('product_id') }},
            {%- for measure in measures %}
                {{ number_problem(measure, data_type='double', min_value=0) }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as reject_reason
    from source

),

ranked as (

    select
        *,
        {{ duplicate_rank(['trim(product_id)'], 'product_category_name, product_weight_g') }} as key_rank
    from checked

),

final as (

    select
        trim(product_id) as product_id,
        lower({{ clean_string('product_category_name') }}) as product_category_name,
        cast(try_cast(trim(product_name_lenght) as double) as int) as product_name_length,
        cast(try_cast(trim(product_description_lenght) as double) as int) as product_description_length,
        cast(try_cast(trim(product_photos_qty) as double) as int) as product_photo_count,
        try_cast(trim(product_weight_g) as double) as product_weight_g,
        try_cast(trim(product_length_cm) as double) as product_length_cm,
        try_cast(trim(product_height_cm) as double) as product_height_cm,
        try_cast(trim(product_width_cm) as double) as product_width_cm,
        case
            when reject_reason is null and key_rank > 1 then 'duplicate product_id' else reject_reason
        end as reject_reason,
        {{ raw_record_json(raw_columns) }} as raw_record
    from ranked

)

select * from final
