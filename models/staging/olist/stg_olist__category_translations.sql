{#
    English category names: the source translation file, plus the seed `category_translation_fallbacks` for the
    categories the file lacks (Olist's file has no row for `pc_gamer` and
    `portateis_cozinha_e_preparadores_de_alimentos`). The file wins where both have a category.
#}

with

translations as (

    select
        product_category_name,
        product_category_name_english
    from {{ ref('base_olist__product_category_name_translation') }}
    where reject_reason is null

),

fallbacks as (

    select
        lower(trim(product_category_name)) as product_category_name,
        lower(trim(product_category_name_english)) as product_category_name_english
    from {{ ref('category_translation_fallbacks') }}

),

fallbacks_not_in_file as (

    select
        fallbacks.product_category_name,
        fallbacks.product_category_name_english
    from fallbacks
    left join translations
        on fallbacks.product_category_name = translations.product_category_name
    where translations.product_category_name is null

),

final as (

    select
        product_category_name,
        product_category_name_english,
        false as is_fallback
    from translations
    union all
    select
        product_category_name,
        product_category_name_english,
        true as is_fallback
    from fallbacks_not_in_file

)

select * from final
