"""Record explorer: one company's health card, its score over the last six months with the
events that moved it, and the breakdown of every point.

    marimo run notebooks/record_explorer.py -- --dataset .demo/portfolio \
        --definition docs/examples/customer-health-score.json --record c0000042

Inputs as in healthscore/dev/notebooks.py; `--record` the record id (default: the
lowest-scoring one); `--days` how far back the history goes (180). With `--api` and
`--definition-id`, the stored health card and history (with their causes) are shown too.
"""

import marimo

__generated_with = "0.17.0"
app = marimo.App(width="medium", app_title="healthscore · record explorer")


@app.cell
def _():
    from datetime import timedelta

    import altair as alt
    import marimo as mo
    import polars as pl

    from healthscore.adapters.dataset_files import read_dataset
    from healthscore.dev.notebooks import (
        NotebookInputs,
        notebook_args,
        option,
    )
    from healthscore.services.outcomes import thresholds_of
    from healthscore.services.scoring import (
        explain_record,
        record_events,
        record_history,
        top_reasons,
    )

    return (
        NotebookInputs,
        notebook_args,
        option,
        alt,
        explain_record,
        mo,
        pl,
        read_dataset,
        record_events,
        record_history,
        thresholds_of,
        timedelta,
        top_reasons,
    )


@app.cell
def _(NotebookInputs, notebook_args, mo, option, read_dataset):
    inputs = NotebookInputs.from_args(notebook_args())
    portfolio = inputs.load()
    dataset = read_dataset(inputs.dataset_folder())
    days_back = int(option("days", "180"))
    return dataset, days_back, inputs, portfolio


@app.cell
def _(inputs, mo, portfolio):
    ranked = portfolio.scored.sort(["score", "id"])
    default = inputs.record or (ranked["id"][0] if ranked.height else "")
    noun = {"companies": "Company", "contacts": "Contact"}.get(
        portfolio.definition.object_type, "Record"
    )
    record_id = mo.ui.text(value=default, label=f"{noun} (id or name)", full_width=True)
    record_id
    return default, noun, ranked, record_id


@app.cell
def _(dataset, noun, portfolio, record_id):
    # an id, or a name (or part of one) that only one record has
    wanted = record_id.value.strip()
    candidates = dataset.records_of(portfolio.definition.object_type)
    by_name = [
        r
        for r in candidates
        if wanted and wanted.lower() in str(r.properties.get("name", "")).lower()
    ]
    if any(r.id == wanted for r in candidates):
        chosen, problem = wanted, None
    elif len(by_name) == 1:
        chosen, problem = by_name[0].id, None
    elif by_name:
        chosen = None
        problem = f"{len(by_name)} records have “{wanted}” in their name: " + ", ".join(
            f"{r.properties.get('name')} (`{r.id}`)" for r in by_name[:10]
        )
    else:
        chosen = None
        problem = (
            f"No {noun.lower()} has the id or name “{wanted}” in this dataset"
            if wanted
            else f"Type a {noun.lower()}'s id or name"
        )
    return by_name, candidates, chosen, problem, wanted


@app.cell
def _(chosen, dataset, explain_record, mo, portfolio, problem, top_reasons):
    explanation = (
        explain_record(portfolio.definition, dataset, chosen, portfolio.as_of) if chosen else None
    )
    result = explanation.result if explanation is not None else None
    record = dataset.record((portfolio.definition.object_type, chosen or ""))
    name = record.properties.get("name", chosen)
    if problem is not None:
        card = mo.callout(mo.md(problem), kind="danger")
    elif result is None:
        card = mo.md(f"## {name}\n\nNot in any of this score's segments: no health score.")
    else:
        colour = next(t.color for t in portfolio.definition.thresholds if t.label == result.status)
        reasons = top_reasons(portfolio.definition, result)
        card = mo.vstack(
            [
                mo.md(f"## {name} · `{chosen}`"),
                mo.hstack(
                    [
                        mo.stat(str(result.score), label="health score", bordered=True),
                        mo.md(
                            f'<span style="background:{colour};color:white;padding:6px 12px;'
                            f'border-radius:12px;font-weight:600">{result.status}</span>'
                        ),
                        *(
                            mo.stat(f"{g.points:g}", label=g.name, caption=f"of ±{g.max_points}")
                            for g in result.groups
                        ),
                    ],
                    justify="start",
                    wrap=True,
                ),
                mo.md("**Why:** " + ("; ".join(reasons) if reasons else "nothing pulls it down")),
                *(
                    [
                        mo.callout(
                            mo.md(
                                f"**Overridden** to {result.override.status}"
                                + (
                                    f" ({result.override.score})"
                                    if result.override.score is not None
                                    else ""
                                )
                                + f" by {result.override.set_by} until "
                                f"{result.override.expires_at:%Y-%m-%d %H:%M} UTC — "
                                f"{result.override.reason}. Computed: "
                                f"{result.computed_score} {result.computed_status}."
                            ),
                            kind="warn",
                        )
                    ]
                    if result.override is not None
                    else []
                ),
                *(
                    [
                        mo.md(
                            "**Stale inputs** (past their freshness rule, or never set): "
                            + ", ".join(f"`{name}`" for name in result.stale)
                        )
                    ]
                    if result.stale
                    else []
                ),
            ]
        )
    card
    return card, explanation, name, record, result


@app.cell
def _(
    alt,
    dataset,
    days_back,
    mo,
    pl,
    portfolio,
    record_events,
    record_history,
    chosen,
    thresholds_of,
    timedelta,
):
    mo.stop(chosen is None)
    today = portfolio.as_of.date()
    days = [today - timedelta(days=n) for n in reversed(range(days_back))]
    series = pl.DataFrame(
        [
            {"day": d.day, "score": d.score, "status": d.status}
            for d in record_history(portfolio.definition, dataset, chosen, days)
        ],
        schema={"day": pl.Date, "score": pl.Int64, "status": pl.String},
    )
    events = pl.DataFrame(
        [
            {"day": e.occurred_at.date(), "event": e.type, "by": f"{e.object_type}/{e.object_id}"}
            for e in record_events(portfolio.definition, dataset, chosen)
            if days[0] <= e.occurred_at.date() <= today
        ],
        schema={"day": pl.Date, "event": pl.String, "by": pl.String},
    )
    thresholds = thresholds_of(portfolio.definition)
    colours = alt.Scale(domain=[t.label for t in thresholds], range=[t.color for t in thresholds])
    line = (
        alt.Chart(series)
        .mark_line(color="#555")
        .encode(x=alt.X("day:T", title=None), y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 100])))
    )
    dots = (
        alt.Chart(series)
        .mark_circle(size=28)
        .encode(
            x="day:T",
            y="score:Q",
            color=alt.Color("status:N", scale=colours),
            tooltip=["day:T", "score:Q", "status:N"],
        )
    )
    ticks = (
        alt.Chart(events)
        .mark_tick(thickness=2, size=14, color="#4c78a8")
        .encode(x="day:T", y=alt.value(190), tooltip=["day:T", "event:N", "by:N"])
    )
    chart = (line + dots + ticks).properties(
        height=240, title=f"Score, last {days_back} days (ticks: the events that count)"
    )
    mo.vstack([mo.md("## History"), chart])
    return chart, days, events, series, thresholds, today


@app.cell
def _(mo, pl, result):
    if result is None:
        breakdown = None
        shown_breakdown = mo.md("")
    else:
        breakdown = pl.DataFrame(
            [
                {
                    "group": g.name,
                    "rule": r.description,
                    "points": float(r.points),
                    "matched": len(r.events) or len(r.records),
                    "decayed": sum(1 for e in r.events if e.decay_percent < 100),
                    "capped": r.hundredths != r.uncapped_hundredths,
                }
                for g in result.groups
                for r in g.rules
            ]
        )
        shown_breakdown = mo.vstack([mo.md("## Breakdown"), mo.ui.table(breakdown, selection=None)])
    shown_breakdown
    return breakdown, shown_breakdown


@app.cell
def _(chosen, inputs, mo, portfolio):
    if inputs.api and inputs.definition_id and chosen:
        base = f"/definitions/{inputs.definition_id}/records/{portfolio.definition.object_type}"
        stored = inputs.call("GET", f"{base}/{chosen}/health")
        entries = inputs.call("GET", f"{base}/{chosen}/history?limit=20")["entries"]
        shown_stored = mo.vstack(
            [
                mo.md(f"## Stored in the API: {stored['score']} · {stored['status']}"),
                mo.ui.table(
                    [
                        {
                            "at": e["at"],
                            "score": e["after"],
                            "delta": e["delta"],
                            "status": e["status_after"],
                            "why": e["cause"].get("summary"),
                        }
                        for e in entries
                    ],
                    selection=None,
                ),
            ]
        )
    else:
        shown_stored = mo.md("")
    shown_stored
    return (shown_stored,)


@app.cell
def test_the_breakdown_adds_up_to_the_score(breakdown, result):
    if result is not None:
        assert sum(g.hundredths for g in result.groups) // 100 <= 100
        assert breakdown.height == sum(len(g.rules) for g in result.groups)
    return


@app.cell
def test_the_last_day_of_the_history_is_todays_score(result, series):
    if result is not None:
        assert series["score"][-1] == result.score
    return


if __name__ == "__main__":
    app.run()
