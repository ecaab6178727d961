"""Threshold tuning: move each status's lower bound and watch the status mix, the histogram and
how well the statuses separate churned from renewed customers; get a suggestion that meets a
target At-risk recall; save the chosen thresholds back as a draft revision through the API.

    marimo run notebooks/threshold_tuning.py -- --dataset .demo/portfolio \
        --definition docs/examples/customer-health-score.json
    marimo run notebooks/threshold_tuning.py -- --dataset .demo/portfolio \
        --api http://127.0.0.1:3000 --token-file .healthscore/token --definition-id <id>

    marimo run notebooks/threshold_tuning.py -- --export ./acme-export

Inputs (`mo.cli_args()`): `--dataset` a portable dataset folder (default: a small generated
sample), or `--export` a downloaded export (its dataset, definition and stored scores, shown
beside the recomputed ones); `--definition` a definition file or `--api` + `--definition-id`
(+ `--token-file`) to read it from — and save to — a running healthscore API; `--as-of`
(default: the export's instant, else the dataset's last event day), `--outcome` the property
holding renewed/churned (default `renewal_outcome`).
"""

import marimo

__generated_with = "0.17.0"
app = marimo.App(width="medium", app_title="healthscore · threshold tuning")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import polars as pl

    from healthscore.dev.notebooks import (
        NotebookInputs,
        notebook_args,
    )
    from healthscore.services import outcomes

    return NotebookInputs, alt, mo, notebook_args, outcomes, pl


@app.cell
def _(NotebookInputs, notebook_args, mo):
    inputs = NotebookInputs.from_args(notebook_args())
    portfolio = inputs.load()
    return inputs, portfolio


@app.cell
def _(mo, outcomes, portfolio):
    base = outcomes.thresholds_of(portfolio.definition)
    sliders = mo.ui.array(
        [
            mo.ui.slider(0, 100, value=t.min, step=1, label=f"{t.label} from", show_value=True)
            for t in base[1:]
        ],
        label="Thresholds",
    )
    target = mo.ui.slider(
        0.5, 1.0, value=0.8, step=0.05, label="target At-risk recall", show_value=True
    )
    return base, sliders, target


@app.cell
def _(base, mo, outcomes, portfolio, sliders):
    chosen = outcomes.with_mins(base, [0, *sliders.value])
    table = outcomes.status_table(portfolio.scored, chosen)
    mo.vstack(
        [
            mo.md(
                f"# Threshold tuning — {portfolio.definition.name}\n\n"
                f"{portfolio.description}. Move a status's lower bound; the lowest status "
                "always starts at 0."
            ),
            sliders.hstack(),
        ]
    )
    return chosen, table


@app.cell
def _(chosen, mo, table):
    cards = [
        mo.stat(
            value=f"{row['records']:,}",
            label=row["status"],
            caption=(
                f"churn rate {row['churn_rate']:.0%}"
                if row["churn_rate"] is not None
                else "no outcomes yet"
            ),
            bordered=True,
        )
        for row in table.iter_rows(named=True)
    ]
    mo.vstack(
        [
            mo.md("## Status counts"),
            mo.hstack(cards, justify="start"),
            mo.md("Bounds: " + ", ".join(f"**{t.label}** from {t.min}" for t in chosen)),
        ]
    )
    return (cards,)


@app.cell
def _(alt, chosen, outcomes, pl, portfolio):
    labelled = portfolio.scored.with_columns(outcomes.status_expr(chosen).alias("status"))
    colours = alt.Scale(domain=[t.label for t in chosen], range=[t.color for t in chosen])
    bars = (
        alt.Chart(labelled)
        .mark_bar()
        .encode(
            x=alt.X(
                "score:Q",
                bin=alt.Bin(step=5),
                scale=alt.Scale(domain=[0, 100]),
                title="health score",
            ),
            y=alt.Y("count():Q", title="companies"),
            color=alt.Color("status:N", scale=colours, title="status"),
            tooltip=["status:N", "count():Q"],
        )
    )
    rules = (
        alt.Chart(
            pl.DataFrame(
                {"min": [t.min for t in chosen[1:]], "status": [t.label for t in chosen[1:]]}
            )
        )
        .mark_rule(strokeDash=[4, 3], size=2)
        .encode(x="min:Q", color=alt.Color("status:N", scale=colours, legend=None))
    )
    histogram = (bars + rules).properties(height=260, title="Scores, coloured by status")
    histogram
    return histogram, labelled


@app.cell
def _(mo, pl, portfolio):
    if portfolio.stored is None:
        beside = None
        stored_view = mo.md(
            "_Start the notebook with `--export DIR` (from `healthscore export`) to see the "
            "stored scores — what health cards show — beside these recomputed ones._"
        )
    else:
        beside = (
            portfolio.scored.select(
                "id", pl.col("score").alias("recomputed"), pl.col("status").alias("now_status")
            )
            .join(portfolio.stored, on="id", how="full", coalesce=True)
            .with_columns(
                (
                    (pl.col("recomputed") == pl.col("stored_score"))
                    & (pl.col("now_status") == pl.col("stored_status"))
                )
                .fill_null(False)
                .alias("same")
            )
        )
        differ = beside.filter(~pl.col("same")).with_columns(
            (pl.col("recomputed") - pl.col("stored_score")).alias("delta")
        )
        stored_view = mo.vstack(
            [
                mo.md("## Stored scores beside the recomputed ones"),
                mo.hstack(
                    [
                        mo.stat(
                            f"{beside.height - differ.height:,}", label="the same", bordered=True
                        ),
                        mo.stat(
                            f"{differ.height:,}",
                            label="differ",
                            caption="recomputed here vs stored (overrides set aside)",
                            bordered=True,
                        ),
                    ],
                    justify="start",
                ),
                mo.ui.table(differ.sort("delta", nulls_last=True).head(50), selection=None)
                if differ.height
                else mo.md("Every stored score is the one recomputed here."),
            ]
        )
    stored_view
    return beside, stored_view


@app.cell
def _(chosen, mo, outcomes, portfolio, target):
    cutoff = chosen[1].min if len(chosen) > 1 else 100
    split = outcomes.separation(portfolio.scored, cutoff)
    auc = outcomes.roc_auc(portfolio.scored)
    suggested = outcomes.suggest_cutoff(portfolio.scored, target.value)

    def share(value):
        return "—" if value is None else f"{value:.0%}"

    def suggestion_text(chosen, cutoff, split, suggested, wanted):
        """Whether the bound already meets the target, and if not where it should be."""
        if suggested is None:
            return "No churned customers in this data: no suggestion."
        nxt = chosen[1].label if len(chosen) > 1 else "the next status"
        if split.recall is not None and split.recall >= wanted:
            return (
                f"**The current bound already meets the target:** {nxt} from {cutoff} flags "
                f"{split.recall:.0%} of churners as {chosen[0].label} (target {wanted:.0%}); "
                f"the least alarm that still meets it is {suggested}."
            )
        return (
            f"**Suggestion:** start **{nxt}** at **{suggested}** to flag at least {wanted:.0%} "
            f"of churners as {chosen[0].label} (now {share(split.recall)} from {cutoff})."
        )

    mo.vstack(
        [
            mo.md("## How well the statuses separate churners"),
            mo.hstack(
                [
                    mo.stat(
                        share(split.precision),
                        label=f"{chosen[0].label} precision",
                        caption="of those flagged, churned",
                        bordered=True,
                    ),
                    mo.stat(
                        share(split.recall),
                        label=f"{chosen[0].label} recall",
                        caption="of churners, flagged",
                        bordered=True,
                    ),
                    mo.stat(
                        "—" if auc is None else f"{auc:.2f}",
                        label="ROC AUC of the score",
                        caption="0.5 is a coin toss, 1.0 perfect",
                        bordered=True,
                    ),
                ],
                justify="start",
            ),
            target,
            mo.md(suggestion_text(chosen, cutoff, split, suggested, target.value)),
        ]
    )
    return auc, cutoff, split, suggested


@app.cell
def _(inputs, mo):
    save = mo.ui.run_button(
        label="Save these thresholds as a draft revision",
        disabled=not inputs.can_save,
        tooltip=None if inputs.can_save else "start the notebook with --api and --definition-id",
    )
    why_not = (
        None
        if inputs.can_save
        else "Saving needs the API: start the notebook with `--api URL --token-file FILE "
        "--definition-id ID` (it reads the definition from there and saves a draft revision)."
    )
    mo.vstack([save, mo.md(f"_{why_not}_")]) if why_not else save
    return save, why_not


@app.cell
def _(chosen, inputs, mo, save):
    mo.stop(not save.value)
    saved = inputs.save_thresholds(chosen)
    mo.md(
        f"Saved: draft revision {saved['draft_revision']} of **{saved['name']}** "
        f"(version {saved['version']}). Preview and publish it from the API or the UI."
    )
    return (saved,)


@app.cell
def test_every_scored_record_has_one_status(base, outcomes, portfolio):
    _table = outcomes.status_table(portfolio.scored, base)
    assert int(_table["records"].sum()) == portfolio.scored.height
    assert _table["status"].to_list() == [t.label for t in base]
    return


@app.cell
def test_the_suggestion_meets_the_target_recall(outcomes, portfolio):
    _cut = outcomes.suggest_cutoff(portfolio.scored, 0.8)
    assert _cut is not None
    assert outcomes.separation(portfolio.scored, _cut).recall >= 0.8
    assert outcomes.separation(portfolio.scored, _cut - 1).recall < 0.8
    return


@app.cell
def test_stored_scores_sit_beside_every_recomputed_one(beside, portfolio):
    if beside is not None:
        assert beside.height >= portfolio.scored.height
        assert beside["same"].null_count() == 0
    return


@app.cell
def test_the_page_says_why_save_is_disabled(inputs, why_not):
    assert (why_not is None) == inputs.can_save
    return


@app.cell
def test_the_score_separates_churners_better_than_chance(outcomes, portfolio):
    _auc = outcomes.roc_auc(portfolio.scored)
    assert _auc is not None
    assert _auc > 0.6
    return


if __name__ == "__main__":
    app.run()
