"""Insights page: Pareto front, model slices (Fig. S16's shape), progress, diagnostics."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from formulate.ui.context import Context, cached, unit_of, user_errors


def render(ctx: Context) -> None:
    from formulate.plan.progress import history, pareto_front

    spec = ctx.campaign
    table = ctx.table()
    names = [o.property for o in spec.objectives]
    front = set(cached(ctx, "pareto", pareto_front, spec, table)["membrane"])
    done = table.dropna(subset=names[:2]).assign(
        pareto=lambda t: t["membrane"].isin(front).map({True: "Pareto", False: "dominated"})
    )
    st.subheader("Pareto front")
    if len(done) == 0:
        st.info("No membrane has these objectives measured yet.")
    else:
        x, y = st.columns(2)
        ax = x.selectbox("x", names, index=0, key="pareto_x")
        ay = y.selectbox("y", names, index=1, key="pareto_y")
        fig = px.scatter(
            done,
            x=ax,
            y=ay,
            color="pareto",
            hover_name="membrane",
            symbol="provenance",
            log_x=ax != "transference_number",
            log_y=ay != "transference_number",
            labels={ax: f"{ax} [{unit_of(ctx, ax)}]", ay: f"{ay} [{unit_of(ctx, ay)}]"},
        )
        st.plotly_chart(fig, key="pareto_plot")
        if len(names) >= 3:
            full = done.dropna(subset=names)
            st.plotly_chart(
                px.scatter_3d(
                    full,
                    x=names[0],
                    y=names[1],
                    z=names[2],
                    color="pareto",
                    hover_name="membrane",
                    log_x=True,
                    log_z=True,
                ),
                key="pareto_3d",
            )
    _slice(ctx, table)
    st.subheader("Progress")
    hist = cached(ctx, "history", history, spec, table)
    st.dataframe(hist, hide_index=True)
    if len(hist) > 1:
        st.line_chart(hist, x="membranes", y="hypervolume")
    st.subheader("Model diagnostics")
    if st.button("Cross-validate the models", key="insights_cv"):
        from formulate.model import model_cache
        from formulate.model.diagnostics import diagnose

        with user_errors(), st.spinner("Cross-validating (leave-one-out)..."):
            found = diagnose(spec, table, [spec.strategy.surrogate], cache_dir=model_cache(spec))
            st.dataframe(found.scores, hide_index=True)
            for problem in found.skipped:
                st.caption(f"{problem.where}: {problem.what}")


def _slice(ctx: Context, table: pd.DataFrame) -> None:
    from formulate.report.insights import model_slice

    spec = ctx.campaign
    numeric = spec.space.numeric_names()
    cats = spec.space.categorical_names()
    if not numeric or not cats:
        return
    st.subheader("Model slice")
    a, b, c = st.columns(3)
    prop = a.selectbox("Objective", [o.property for o in spec.objectives], key="slice_prop")
    variable = b.selectbox("Along", numeric, key="slice_var")
    by = c.selectbox("One curve per", cats, key="slice_by")
    best = table.dropna(subset=[prop]).sort_values(prop).tail(1)
    base = best[spec.space.names()].iloc[0].to_dict() if len(best) else spec.space.sample(1)[0]
    st.caption(
        "Other variables held at the best membrane so far: "
        + ", ".join(f"{k}={v}" for k, v in base.items() if k not in (variable, by))
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
        fig = px.line(
            curve,
            x=variable,
            y="mean",
            color=by,
            log_y=prop != "transference_number",
            labels={"mean": f"{prop} [{unit_of(ctx, prop)}]"},
        )
        for level, part in curve.groupby(by):
            fig.add_scatter(
                x=part[variable],
                y=part["upper"],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=part[variable],
                y=part["lower"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                opacity=0.2,
                name=f"{level} 95%",
            )
        st.plotly_chart(fig, key="slice_plot")
