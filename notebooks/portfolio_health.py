"""Portfolio health: average score and status mix by industry, CSM owner, region and segment;
the portfolio's weekly trend over the last year (replayed from the event log); and the accounts
that dropped most in the last 30 days, with the groups that fell.

    marimo run notebooks/portfolio_health.py -- --dataset .demo/portfolio \
        --definition docs/examples/customer-health-score.json

    marimo run notebooks/portfolio_health.py -- --export ./acme-export

Inputs as in healthscore/dev/notebooks.py; `--weeks` how far back the trend goes (52). With
`--export` (or `--api` and `--definition-id`) it also charts the nightly snapshots of the stored
scores: a year's trend read from a few hundred rows, not replayed.
"""

import marimo

__generated_with = "0.17.0"
app = marimo.App(width="medium", app_title="healthscore · portfolio health")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import polars as pl

    from healthscore.dev.notebooks import (
        NotebookInputs,
        notebook_args,
        option,
    )
    from healthscore.services.analytics import (
        UnknownProperty,
        biggest_drops,
        report,
        trend,
        trend_days,
        trend_summary,
    )
    from healthscore.services.outcomes import thresholds_of

    return (
        NotebookInputs,
        notebook_args,
        option,
        UnknownProperty,
        alt,
        biggest_drops,
        mo,
        pl,
        report,
        thresholds_of,
        trend,
        trend_days,
        trend_summary,
    )


@app.cell
def _(NotebookInputs, notebook_args, mo, option, thresholds_of):
    inputs = NotebookInputs.from_args(notebook_args())
    portfolio = inputs.load()
    weeks = int(option("weeks", "52"))
    thresholds = thresholds_of(portfolio.definition)
    mo.md(f"# Portfolio health — {portfolio.definition.name}\n\n{portfolio.description}.")
    return inputs, portfolio, thresholds, weeks


@app.cell
def _(mo):
    by = mo.ui.dropdown(
        options={
            "industry": "industry",
            "CSM owner": "csm_owner",
            "region": "region",
            "segment": "segment",
        },
        value="industry",
        label="Break down by",
    )
    by
    return (by,)


@app.cell
def _(UnknownProperty, alt, by, mo, pl, portfolio, report, thresholds):
    try:
        table = report(portfolio.definition, portfolio.frames, portfolio.as_of, by.value)
    except UnknownProperty as error:
        table, order = None, []
        shown_report = mo.md(f"**{error}**")
    else:
        _labels = [t.label for t in thresholds]
        _mix = table.unpivot(
            index=[by.value, "scored", "average"],
            on=_labels,
            variable_name="status",
            value_name="records",
        ).with_columns((pl.col("records") / pl.col("scored")).alias("share"))
        _colours = alt.Scale(domain=_labels, range=[t.color for t in thresholds])
        # both charts list the groups in one order: best average first
        order = table.sort(["average", by.value], descending=[True, False])[by.value].to_list()
        _bars = (
            alt.Chart(_mix)
            .mark_bar()
            .encode(
                y=alt.Y(f"{by.value}:N", sort=order, title=None),
                x=alt.X(
                    "share:Q", stack="normalize", axis=alt.Axis(format="%"), title="status mix"
                ),
                color=alt.Color("status:N", scale=_colours),
                tooltip=[
                    f"{by.value}:N",
                    "status:N",
                    "records:Q",
                    alt.Tooltip("share:Q", format=".0%"),
                ],
            )
            .properties(height=28 * max(1, table.height), title=f"Status mix by {by.selected_key}")
        )
        _averages = (
            alt.Chart(table)
            .mark_bar(color="#4c78a8")
            .encode(
                y=alt.Y(f"{by.value}:N", sort=order, title=None),
                x=alt.X("average:Q", scale=alt.Scale(domain=[0, 100]), title="average score"),
                tooltip=[f"{by.value}:N", "scored:Q", "average:Q"],
            )
            .properties(height=28 * max(1, table.height), title="Average score")
        )
        shown_report = mo.vstack([mo.hstack([_averages, _bars]), mo.ui.table(table)])
    shown_report
    return order, shown_report, table


@app.cell
def _(alt, mo, pl, portfolio, thresholds, trend, trend_days, trend_summary, weeks):
    days = trend_days(portfolio.as_of, 7, weeks)
    history = trend(portfolio.definition, portfolio.frames, days)
    weekly = trend_summary(portfolio.definition, history)
    _labels = [t.label for t in thresholds]
    _colours = alt.Scale(domain=_labels, range=[t.color for t in thresholds])
    average = (
        alt.Chart(weekly)
        .mark_line(point=True, color="#4c78a8")
        .encode(
            x=alt.X("as_of:T", title="week"),
            y=alt.Y("average:Q", scale=alt.Scale(domain=[0, 100]), title="average score"),
            tooltip=["as_of:T", "average:Q", "median:Q", "scored:Q"],
        )
        .properties(height=220, title=f"Average score, weekly, last {weeks} weeks")
    )
    mix = (
        alt.Chart(
            weekly.unpivot(index="as_of", on=_labels, variable_name="status", value_name="records")
        )
        .mark_area()
        .encode(
            x=alt.X("as_of:T", title="week"),
            y=alt.Y("records:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
            color=alt.Color("status:N", scale=_colours),
            tooltip=["as_of:T", "status:N", "records:Q"],
        )
        .properties(height=220, title="Status mix, weekly")
    )
    mo.vstack([mo.md("## The last year, week by week"), average, mix])
    return average, days, history, mix, weekly


@app.cell
def _(alt, mo, portfolio, thresholds):
    nightly = portfolio.snapshots
    if nightly is None or nightly.is_empty():
        shown_nightly = mo.md(
            "## Every night, as stored\n\n_The nightly snapshots of the stored scores need "
            "`--export DIR` (from `healthscore export`) or `--api URL --definition-id ID`._"
        )
    else:
        _labels = [t.label for t in thresholds]
        _colours = alt.Scale(domain=_labels, range=[t.color for t in thresholds])
        _average = (
            alt.Chart(nightly)
            .mark_line(point=True, color="#4c78a8")
            .encode(
                x=alt.X("day:T", title="night"),
                y=alt.Y("average:Q", scale=alt.Scale(domain=[0, 100]), title="average score"),
                tooltip=["day:T", "count:Q", "average:Q", "median:Q", "overridden:Q", "stale:Q"],
            )
            .properties(height=220, title="Average stored score, nightly")
        )
        _mix = (
            alt.Chart(
                nightly.unpivot(index="day", on=_labels, variable_name="status", value_name="n")
            )
            .mark_area()
            .encode(
                x=alt.X("day:T", title="night"),
                y=alt.Y("n:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
                color=alt.Color("status:N", scale=_colours),
                tooltip=["day:T", "status:N", "n:Q"],
            )
            .properties(height=220, title="Status mix, nightly")
        )
        shown_nightly = mo.vstack(
            [
                mo.md(
                    f"## Every night, as stored\n\n{nightly.height} nightly snapshots, "
                    f"{nightly['day'].min()} to {nightly['day'].max()}."
                ),
                _average,
                _mix,
            ]
        )
    shown_nightly
    return nightly, shown_nightly


@app.cell
def _(biggest_drops, mo, portfolio):
    # who first (biggest_drops puts the name first), then by how much, then the whole why
    drops = biggest_drops(portfolio.definition, portfolio.frames, portfolio.as_of, days=30, top=15)
    mo.vstack(
        [
            mo.md("## Dropped most in the last 30 days — and why"),
            mo.ui.table(drops, selection=None, wrapped_columns=["why"]),
        ]
    )
    return (drops,)


@app.cell
def test_every_breakdown_row_adds_up(table, thresholds):
    if table is not None:
        _labels = [t.label for t in thresholds]
        assert (
            table.select(sum(table[label] for label in _labels)).to_series() == table["scored"]
        ).all()
    return


@app.cell
def test_the_trend_has_one_row_a_week(days, weekly):
    assert weekly.height == len(days)
    assert weekly["as_of"].is_sorted()
    return


@app.cell
def test_nightly_rows_add_up(nightly, thresholds):
    if nightly is not None and not nightly.is_empty():
        _labels = [t.label for t in thresholds]
        assert (
            nightly.select(sum(nightly[label] for label in _labels)).to_series() == nightly["count"]
        ).all()
        assert nightly["day"].is_sorted()
    return


@app.cell
def test_drops_are_drops_with_a_reason(drops):
    assert (drops["delta"] < 0).all()
    assert drops["why"].null_count() == 0
    return


@app.cell
def test_both_top_charts_list_the_groups_in_one_order(order, table):
    if table is not None:
        assert sorted(order) == sorted(table[table.columns[0]].to_list())
        averages = dict(zip(table[table.columns[0]], table["average"], strict=True))
        assert [averages[g] for g in order] == sorted(averages.values(), reverse=True)
    return


@app.cell
def test_the_drops_show_the_name_first(drops):
    if "name" in drops.columns:
        assert drops.columns[0] == "name"
    return


if __name__ == "__main__":
    app.run()
