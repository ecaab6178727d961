"""Distribution preview: a definition (draft or live) over a segment — the histogram of scores
with its threshold lines, what each group contributes, and the draft-vs-live what-if (who
changes status, and which groups moved them).

    marimo run notebooks/distribution_preview.py -- --dataset .demo/portfolio \
        --definition my-draft.json --compare docs/examples/customer-health-score.json
    marimo run notebooks/distribution_preview.py -- --dataset .demo/portfolio \
        --api http://127.0.0.1:3000 --token-file .healthscore/token --definition-id <id>

Inputs as in healthscore/dev/notebooks.py; `--compare` a second definition file (the live
one) for the what-if; with `--api` the draft and live revisions of `--definition-id` are
compared.
"""

import marimo

__generated_with = "0.17.0"
app = marimo.App(width="medium", app_title="healthscore · distribution preview")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import polars as pl

    from healthscore.dev.notebooks import (
        NotebookInputs,
        notebook_args,
    )
    from healthscore.domain.batch_engine import segment_membership
    from healthscore.domain.validation import parse_definition
    from healthscore.services.analytics import status_changes_with_reasons, what_if
    from healthscore.services.outcomes import thresholds_of

    return (
        NotebookInputs,
        notebook_args,
        alt,
        mo,
        parse_definition,
        pl,
        segment_membership,
        status_changes_with_reasons,
        thresholds_of,
        what_if,
    )


@app.cell
def _(NotebookInputs, notebook_args, mo):
    inputs = NotebookInputs.from_args(notebook_args())
    portfolio = inputs.load()
    return inputs, portfolio


@app.cell
def _(mo, portfolio):
    segments = {s: portfolio.frames.segments[s].name for s in portfolio.definition.segments}
    segment = mo.ui.dropdown(
        options={f"{name} ({sid})": sid for sid, name in segments.items()} | {"all of them": ""},
        value="all of them",
        label="Segment",
    )
    mo.vstack(
        [
            mo.md(
                f"# Distribution preview — {portfolio.definition.name}\n\n{portfolio.description}."
            ),
            segment,
        ]
    )
    return segment, segments


@app.cell
def _(pl, portfolio, segment, segment_membership):
    if segment.value:
        chosen = [portfolio.frames.segments[segment.value]]
        members = segment_membership(
            portfolio.frames, portfolio.definition.object_type, chosen, portfolio.as_of
        ).filter(pl.col(segment.value))
        shown = portfolio.scored.join(members.select("id"), on="id", how="semi")
    else:
        shown = portfolio.scored
    return (shown,)


@app.cell
def _(alt, mo, pl, portfolio, shown, thresholds_of):
    thresholds = thresholds_of(portfolio.definition)
    colours = alt.Scale(domain=[t.label for t in thresholds], range=[t.color for t in thresholds])
    bars = (
        alt.Chart(shown)
        .mark_bar()
        .encode(
            x=alt.X(
                "score:Q",
                bin=alt.Bin(step=5),
                scale=alt.Scale(domain=[0, 100]),
                title="health score",
            ),
            y=alt.Y("count():Q", title=portfolio.definition.object_type),
            color=alt.Color("status:N", scale=colours, title="status"),
            tooltip=["status:N", "count():Q"],
        )
    )
    lines = pl.DataFrame(
        {"min": [t.min for t in thresholds[1:]], "status": [t.label for t in thresholds[1:]]}
    )
    rules = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[4, 3], size=2)
        .encode(x="min:Q", color=alt.Color("status:N", scale=colours, legend=None))
    )
    counts = shown.group_by("status").len("records")
    mo.vstack(
        [
            mo.md(
                f"**{shown.height:,}** scored · average **{shown['score'].mean() or 0:.1f}** · "
                f"median **{shown['score'].median() or 0:.0f}**"
            ),
            (bars + rules).properties(height=260, title="Scores, coloured by status"),
        ]
    )
    return bars, colours, counts, lines, rules, thresholds


@app.cell
def _(alt, colours, mo, pl, portfolio, shown):
    columns = list(portfolio.group_names)
    long = shown.select("status", *columns).unpivot(
        index="status", on=columns, variable_name="column", value_name="points"
    )
    contributions = (
        long.with_columns(pl.col("column").replace_strict(portfolio.group_names).alias("group"))
        .group_by("group", "status")
        .agg(pl.col("points").mean().round(2).alias("average points"))
    )
    chart = (
        alt.Chart(contributions)
        .mark_bar()
        .encode(
            y=alt.Y("group:N", title=None),
            x=alt.X("average points:Q"),
            color=alt.Color("status:N", scale=colours, title="status"),  # the histogram's palette
            yOffset="status:N",
            tooltip=["group:N", "status:N", "average points:Q"],
        )
        .properties(height=40 * max(1, len(columns)), title="What each group contributes")
    )
    mo.vstack([mo.md("## Group contributions (average points per status)"), chart])
    return chart, columns, contributions, long


@app.cell
def _(inputs, parse_definition):
    other = inputs.comparison()
    live = parse_definition(other) if other else None
    return (live,)


@app.cell
def _(live, mo, portfolio, status_changes_with_reasons, what_if):
    if live is None:
        comparison = changes = None
        shown_what_if = mo.md(
            "## What-if\n\nStart with `--compare live.json` (or `--api` and a score's id) "
            "to compare this definition with another."
        )
    else:
        comparison = what_if(live, portfolio.definition, portfolio.frames, portfolio.as_of)
        changes = status_changes_with_reasons(
            live, portfolio.definition, portfolio.frames, portfolio.as_of
        )
        shown_what_if = mo.vstack(
            [
                mo.md(
                    f"## What-if: this definition vs `{live.name}`\n\n"
                    f"{comparison.compared:,} compared · **{comparison.changed_status:,}** "
                    f"change status · {comparison.changed_score:,} change score · "
                    f"{comparison.only_draft:,} only in this one · {comparison.only_live:,} "
                    "only in the other"
                ),
                mo.ui.table(comparison.transitions, label="Status changes"),
                mo.ui.table(changes.head(100), label="Who changes status, and why"),
            ]
        )
    shown_what_if
    return changes, comparison, shown_what_if


@app.cell
def test_the_histogram_counts_every_scored_record(counts, shown):
    assert int(counts["records"].sum()) == shown.height
    return


@app.cell
def test_status_changes_agree_with_the_what_if(changes, comparison):
    if comparison is not None:
        assert changes.height == comparison.changed_status
        assert changes["why"].null_count() == 0
    return


@app.cell
def test_every_chart_colours_statuses_alike(chart, thresholds):
    # one palette everywhere: At-risk is the At-risk threshold's colour in both charts
    _scale = chart.to_dict()["encoding"]["color"]["scale"]
    assert _scale["domain"] == [t.label for t in thresholds]
    assert _scale["range"] == [t.color for t in thresholds]
    return


@app.cell
def test_group_contributions_add_up_to_the_scores(columns, pl, portfolio):
    _total = portfolio.scored.select(pl.sum_horizontal(columns).alias("sum"), "score")
    # the score is the clamped, rounded sum of the group totals
    _gap = _total.select(
        (pl.col("sum").clip(0, 100).round(0).cast(pl.Int64) - pl.col("score")).abs().max()
    ).item()
    assert _gap <= 1
    return


if __name__ == "__main__":
    app.run()
