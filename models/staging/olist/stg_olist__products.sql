{#
    English category: the translation (file, then fallback seed); a category missing from both keeps its
    Portuguese slug; a product without a category gets 'uncategorized' (610 real products).
#}

with

products as (

    select * from {{ ref('base_olist__products') }}
    where reject_reason is null

),

translations as (

    select * from {{ ref('stg_olist__category_translations') }}

),

final as (

    select
        products.product_id,
        products.product_category_name,
        products.product_name_length,
        products.product_description_length,
        products.product_photo_count,
        products.product_weight_g,
        products.product_length_cm,
        products.product_height_cm,
        products.product_width_cm,
        case
            when products.product_category_name is null then 'uncategorized'
            else coalesce(translations.product_category_name_english, products.product_category_name)
        end as product_category_name_english,
        products.product_category_name is not null as has_category
    from products
    left join translations
        on products.product_category_name = translations.product_category_name

)

select * from final
