"""Insights page: Pareto front, model slices (Fig. S16's shape) with the measured membranes,
progress, cross-validation with its parity plot and what the models find relevant. Every axis
in the unit a lab reads (mS/cm); too little data says how many membranes are missing."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from formulate.report.display import header
from formulate.report.insights import cv_warnings, in_display_units, progress_share, relevance
from formulate.report.summary import prior_lines
from formulate.spec.campaign import Campaign
from formulate.ui.context import Context, cached, show_table, user_errors
from formulate.units import round_significant

COLOURS = px.colors.qualitative.Plotly


def render(ctx: Context) -> None:
    table = ctx.table()
    _pareto(ctx, table)
    _slice(ctx, table)
    _progress(ctx, table)
    _diagnostics(ctx, table)
    _priors(ctx, table)


def _axis(campaign: Campaign, prop: str) -> dict:
    """Plotly axis settings for an objective: log for log10-modelled ones, 0-1 for a
    fraction, titled with its display unit."""
    obj = next(o for o in campaign.objectives if o.property == prop)
    axis: dict = {"title": header(campaign, prop)}
    if obj.transform == "log10":
        axis["type"] = "log"
    elif obj.transform == "logit":
        axis["range"] = [0, 1]
    return axis


def _pareto(ctx: Context, table: pd.DataFrame) -> None:
    from formulate.plan.progress import pareto_front

    spec = ctx.campaign
    names = [o.property for o in spec.objectives]
    st.subheader("Pareto front")
    if len(names) < 2:
        return
    x, y = st.columns(2)
    ax = x.selectbox("x", names, index=0, key="pareto_x", format_func=spec.label)
    ay = y.selectbox("y", names, index=1, key="pareto_y", format_func=spec.label)
    done = table.dropna(subset=[ax, ay]) if {ax, ay} <= set(table.columns) else table.iloc[:0]
    if done.empty:
        have = ", ".join(f"{spec.label(p)} on {_count(table, p)}" for p in (ax, ay))
        st.info(f"Needs membranes with both measured (now: {have}).")
        return
    front = set(cached(ctx, "pareto", pareto_front, spec, table)["membrane"])
    shown = in_display_units(spec, done).assign(
        front=lambda t: t["membrane"].isin(front).map({True: "Pareto", False: "dominated"})
    )
    fig = px.scatter(
        shown,
        x=header(spec, ax),
        y=header(spec, ay),
        color="front",
        symbol="provenance",
        hover_name="membrane",
    )
    fig.update_layout(xaxis=_axis(spec, ax), yaxis=_axis(spec, ay))
    st.plotly_chart(fig, key="pareto_plot")
    full = in_display_units(spec, table.dropna(subset=names[:3])) if len(names) >= 3 else None
    # (every objective column exists here: two of them are measured on a membrane)
    if full is not None and len(full):
        full["front"] = full["membrane"].isin(front).map({True: "Pareto", False: "dominated"})
        cols = [header(spec, p) for p in names[:3]]
        fig3 = px.scatter_3d(full, *cols, color="front", hover_name="membrane", height=620)
        fig3.update_layout(
            margin={"l": 0, "r": 0, "t": 30, "b": 0},
            scene={f"{a}axis": _axis(spec, p) for a, p in zip("xyz", names[:3], strict=True)},
        )
        st.plotly_chart(fig3, key="pareto_3d")


def _slice(ctx: Context, table: pd.DataFrame) -> None:
    from formulate.report.insights import model_slice

    spec = ctx.campaign
    numeric, cats = spec.space.numeric_names(), spec.space.categorical_names()
    if not numeric or not cats:
        return
    st.subheader("Model slice")
    a, b, c = st.columns(3)
    objectives = [o.property for o in spec.objectives]
    prop = a.selectbox("Objective", objectives, key="slice_prop", format_func=spec.label)
    variable = b.selectbox("Along", numeric, key="slice_var")
    by = c.selectbox("One curve per", cats, key="slice_by")
    have = _count(table, prop)
    need = spec.strategy.min_measured
    if have < need:
        st.info(
            f"Needs {need - have} more membrane(s) with {spec.label(prop)} measured "
            f"({have} of {need}, the campaign's min_measured)."
        )
        return
    best = table.dropna(subset=[prop]).sort_values(prop).tail(1)
    base = best[spec.space.names()].iloc[0].to_dict()
    st.caption(
        "Lines: the model's mean; bands: its 95% interval; dots: membranes measured at that "
        "level (whatever their other variables). Other variables held at the best membrane "
        "so far: " + ", ".join(f"{k}={v}" for k, v in base.items() if k not in (variable, by))
    )
    with user_errors():
        curve = cached(
            ctx,
            f"slice {prop} {variable} {by} {base}",
            model_slice,
            spec,
            table,
            prop,
            variable,
            by,
            base,
        )
        st.plotly_chart(_slice_figure(spec, table, curve, prop, variable, by), key="slice_plot")


def _count(table: pd.DataFrame, prop: str) -> int:
    """Membranes with ``prop`` measured."""
    return int(table[prop].notna().sum()) if prop in table else 0


def _slice_figure(
    spec: Campaign, table: pd.DataFrame, curve: pd.DataFrame, prop: str, variable: str, by: str
) -> go.Figure:
    """One colour per level: its mean line, its 95% band (translucent, so none hides another)
    and its measured membranes."""
    fig = go.Figure()
    unit = spec.display_unit(prop)
    for i, (level, part) in enumerate(curve.groupby(by, sort=False)):
        colour = COLOURS[i % len(COLOURS)]
        band = spec.to_display(prop, pd.concat([part["upper"], part["lower"][::-1]]))
        xs = pd.concat([part[variable], part[variable][::-1]])
        fig.add_scatter(
            x=xs,
            y=band,
            fill="toself",
            fillcolor=colour,
            opacity=0.15,
            mode="none",
            name=f"{level} 95%",
            legendgroup=str(level),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=part[variable],
            y=spec.to_display(prop, part["mean"]),
            mode="lines",
            line={"color": colour},
            name=str(level),
            legendgroup=str(level),
        )
        seen = table[(table[by] == level) & table[prop].notna() & table[variable].notna()]
        if len(seen):
            fig.add_scatter(
                x=seen[variable],
                y=spec.to_display(prop, seen[prop]),
                mode="markers",
                marker={"color": colour, "size": 9, "line": {"width": 1, "color": "black"}},
                name=f"{level} measured",
                legendgroup=str(level),
                text=seen["membrane"],
            )
    x_var = spec.space.variables[variable]
    log_x = getattr(x_var, "scale", "linear") == "log"
    fig.update_layout(
        xaxis={
            "title": f"{variable} [{x_var.unit}]" if x_var.unit else variable,
            "type": "log" if log_x else "linear",
        },
        yaxis=_axis(spec, prop) | {"title": f"{spec.label(prop)} [{unit}]" if unit else prop},
    )
    return fig


def _progress(ctx: Context, table: pd.DataFrame) -> None:
    from formulate.plan.progress import history

    spec = ctx.campaign
    st.subheader("Progress")
    hist = progress_share(cached(ctx, "history", history, spec, table))
    st.caption(
        "Share of today's hypervolume: how much of the objective space that today's Pareto "
        "front dominates (above each objective's reference value) had been reached after each "
        "batch; batch 0 is data not proposed by formulate."
    )
    if hist["membranes"].nunique() < 2:
        st.info("Needs measured membranes from a second batch to draw progress.")
    else:
        fig = px.line(
            hist,
            x="batch",
            y="share of today's hypervolume",
            markers=True,
            hover_data=["membranes"],
        )
        fig.update_layout(xaxis={"dtick": 1, "title": "batch (0: data not proposed by formulate)"})
        fig.update_yaxes(range=[0, 1.05])
        st.plotly_chart(fig, key="progress_plot")
    best = {f"best {o.property}": header(spec, o.property) for o in spec.objectives}
    shown = hist.rename(columns=best)
    for o in spec.objectives:
        col = header(spec, o.property)
        shown[col] = spec.to_display(o.property, shown[col])
    share = "share of today's hypervolume"
    shown[share] = [f"{v:.0%}" if pd.notna(v) else "" for v in shown[share]]
    for col in (header(spec, o.property) for o in spec.objectives):
        shown[col] = round_significant(shown[col])
    show_table(shown.drop(columns="hypervolume"))


def _diagnostics(ctx: Context, table: pd.DataFrame) -> None:
    spec = ctx.campaign
    st.subheader("Model diagnostics")
    if not st.button("Cross-validate the models", key="insights_cv"):
        return
    from formulate.model import fit_objective, model_cache
    from formulate.model.diagnostics import diagnose

    with user_errors(), st.spinner("Cross-validating (leave-one-out, closed form)..."):
        name = spec.strategy.surrogate
        found = cached(ctx, f"cv {name}", diagnose, spec, table, [name], "cpu", model_cache(spec))
        for problem in found.skipped:
            st.info(f"{spec.label(problem.where.split(' ')[0])}: {problem.what}")
        if found.scores.empty:
            return
        st.caption("Leave-one-out on the model scale (decades for log10 objectives, logit t+).")
        show_table(found.scores.assign(objective=found.scores["objective"].map(spec.label)))
        for warning in cv_warnings(spec, found.scores):
            st.warning(warning)
        parity = pd.concat(
            [p.assign(objective=spec.label(o)) for (o, _), p in found.predictions.items()]
        )
        fig = px.scatter(
            parity,
            x="observed",
            y="mean",
            error_y=1.96 * parity["std"],
            color="objective",
            symbol="censored",
            hover_name="membrane",
            labels={"mean": "predicted (left out)", "observed": "measured"},
        )
        low, high = (
            parity[["observed", "mean"]].min().min(),
            parity[["observed", "mean"]].max().max(),
        )
        fig.add_scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="parity",
            line={"dash": "dot", "color": "grey"},
        )
        st.plotly_chart(fig, key="parity_plot")
        for prop, _ in found.predictions:
            model = fit_objective(spec, table, prop, name, cache_dir=model_cache(spec))
            rel = relevance(model)
            if len(rel):
                st.caption(f"What the {spec.label(prop)} model finds relevant (1 = most)")
                st.bar_chart(rel.head(8), horizontal=True)


def _priors(ctx: Context, table: pd.DataFrame) -> None:
    """Each prior source: how well it alone predicts this campaign's measured membranes (rank
    correlation, R2 and a parity plot) and how far the campaign's model learned it carries."""
    spec = ctx.campaign
    st.subheader("Prior knowledge")
    if not spec.priors:
        st.caption(
            "No prior sources. An admin picks an earlier campaign under 'Learn from an earlier "
            "campaign', or adds a [[prior]] table to the campaign file."
        )
        return
    for line in prior_lines(spec):
        st.text(line)
    if not st.button("Check how well each source predicts this campaign", key="insights_priors"):
        return
    from formulate.model import fit_objective, model_cache
    from formulate.model.transfer import carried_by_source, source_skill

    with user_errors(), st.spinner("Fitting each source alone and the campaign's models..."):
        for o in spec.objectives:
            model = fit_objective(spec, table, o.property, cache_dir=model_cache(spec))
            for skill in source_skill(spec, table, o.property, carried_by_source(model)):
                _source_figure(spec, skill)


def _source_figure(spec: Campaign, skill: object) -> None:
    from formulate.model.transfer import USED, SourceSkill

    assert isinstance(skill, SourceSkill)
    used = "used" if skill.carries >= USED else "little used"
    st.markdown(
        f"**{skill.source.prior.label}** for {spec.label(skill.prop)}: rank correlation "
        f"{skill.rank_correlation:.2f}, R2 {skill.r2:.2f} on {len(skill.predictions)} measured "
        f"membranes (model scale); the campaign's model learned it carries "
        f"{skill.carries:.2f} ({used})."
    )
    fig = px.scatter(
        skill.predictions,
        x="observed",
        y="mean",
        hover_name="membrane",
        labels={"mean": f"predicted from {skill.source.prior.label} alone", "observed": "measured"},
    )
    low = skill.predictions[["observed", "mean"]].min().min()
    high = skill.predictions[["observed", "mean"]].max().max()
    line = {"dash": "dot", "color": "grey"}
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="parity", line=line)
    st.plotly_chart(fig, key=f"prior_parity_{skill.source.prior.label}_{skill.prop}")
