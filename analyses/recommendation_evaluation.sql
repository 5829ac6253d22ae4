-- How each model did in the latest recommendation run: the mean over the rolling cut-offs on all test users,
-- with its 95% bootstrap interval, at one K (default 10), best first; the run's chosen model is flagged.
-- make sql F=analyses/recommendation_evaluation.sql VARS="k=10 metric=hit_rate"
with

runs as (

    select
        run_id,
        finished_at,
        chosen_model
    from {{ target.schema }}_marts.recommendation_runs

),

latest_run as (

    select
        run_id,
        chosen_model
    from runs
    order by finished_at desc
    limit 1

),

evaluation as (

    select
        run_id,
        model,
        cutoff,
        user_group,
        k,
        metric,
        value,
        ci_low,
        ci_high,
        n_users
    from {{ target.schema }}_marts.recommendation_evaluation

),

final as (

    select
        evaluation.model,
        evaluation.metric,
        evaluation.k,
        evaluation.n_users as user_windows,
        evaluation.run_id,
        round(evaluation.value, 4) as mean_value,
        round(evaluation.ci_low, 4) as ci_low,
        round(evaluation.ci_high, 4) as ci_high,
        evaluation.model = latest_run.chosen_model as is_chosen_model
    from evaluation
    inner join latest_run on evaluation.run_id = latest_run.run_id
    where
        evaluation.cutoff = 'mean'
        and evaluation.user_group = 'all'
        and evaluation.k = {{ var("k", "10") }}
        and evaluation.metric = '{{ var("metric", "hit_rate") }}'

)

select * from final
order by mean_value desc, model asc
