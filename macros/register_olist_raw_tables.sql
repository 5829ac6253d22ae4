{#
    Registers every table of source `olist` as an external CSV table over the configured data folder.
    Runs as an on-run-start hook, so `dbt build` / `dbt run` / `dbt test` always read the folder they are given.

    - Folder: var olist_data_dir, else env OLIST_DATA_DIR; an absolute path or a URI (hdfs://, s3a://, file:/).
    - File: the source table's meta.file; columns: the source's declared columns, in file order, all strings,
      plus _corrupt_record for records the CSV parser cannot split into those columns.
    - A missing file stops the build naming the file and the folder (Spark would otherwise read a missing path
      as an empty table); a header that does not match the declared columns fails the read naming the file.
#}
{% macro register_olist_raw_tables() %}
{% if not execute %}{{ return('') }}{% endif %}
{% set data_dir = (var('olist_data_dir', env_var('OLIST_DATA_DIR', '')) | string | trim).rstrip('/') %}
{% if not data_dir %}
        {{ exceptions.raise_compiler_error(
            "No Olist data folder: set OLIST_DATA_DIR (or --vars '{olist_data_dir: /abs/path}') to a folder holding "
            ~ "the Kaggle CSV files; `make run` generates one and sets it for you.") }}
{% endif %}
{% if not (data_dir.startswith('/') or '://' in data_dir or data_dir.startswith('file:')) %}
        {{ exceptions.raise_compiler_error(
            "OLIST_DATA_DIR must be an absolute path or a URI (the Spark server resolves relative paths against "
            ~ "its own working directory), got: " ~ data_dir) }}
{% endif %}

{% set tables = [] %}
{% for node in graph.sources.values() if node.source_name == 'olist' %}
{% do tables.append(node) %}
{% endfor %}

    {# which files does the folder hold? (binaryFile lists without reading contents; a missing folder fails
       with PATH_NOT_FOUND naming it) #}
{% set listing = run_query("select path from binaryFile.`" ~ data_dir ~ "`") %}
{% set present = [] %}
{% for row in listing.rows %}{% do present.append(row[0].split('/')[-1]) %}{% endfor %}
{% set missing = [] %}
{% for node in tables if node.meta.file not in present %}{% do missing.append(node.meta.file) %}{% endfor %}
{% if missing %}
        {{ exceptions.raise_compiler_error(
            "Olist input file(s) missing: " ~ (missing | join(', ')) ~ " — expected in folder " ~ data_dir
            ~ " (the Kaggle olistbr/brazilian-ecommerce file names; geolocation is optional)") }}
{% endif %}

{% set raw_schema = tables[0].schema %}
{% do run_query("create schema if not exists " ~ raw_schema) %}
{% for node in tables %}
{% set relation = raw_schema ~ "." ~ node.identifier %}
{% set column_list = [] %}
{% for column in node.columns.values() %}{% do column_list.append(column.name ~ " string") %}{% endfor %}
        {% do run_query("drop table if exists " ~ relation) %}
        {% call statement('register_' ~ node.name) %}
            create table {{ relation }} (
                {{ column_list | join(',\n                ') }},
                _corrupt_record string
            )
            using csv
            options (
                path '{{ data_dir }}/{{ node.meta.file }}',
                header 'true',
                enforceSchema 'false',
                multiLine 'true',
                quote '"',
                escape '"',
                encoding 'UTF-8',
                mode 'PERMISSIVE',
                columnNameOfCorruptRecord '_corrupt_record'
            )
        {% endcall %}
    {% endfor %}
{{ log("Registered " ~ (tables | length) ~ " Olist raw tables in " ~ raw_schema ~ " from " ~ data_dir, info=true) }}
{{ return('') }}
{% endmacro %}
