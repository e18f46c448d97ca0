"""The paper's claims checked against the measured data, and the fitted laws behind them.

A claim row holds the measured figure, its 95 % interval, the band the paper's words allow
(with where the band comes from) and a verdict:

- holds: the interval lies inside the band (edges included);
- does not hold: the interval lies wholly outside the band;
- inconclusive: the interval straddles an edge of the band, or there is no interval (a single
  cell, or a spread that cannot be estimated);
- not measured: the runs lack the cells the claim is about.

Bands: a figure the paper states is read at the precision it is written with, i.e. the numbers
that round to it (5.4 -> 5.35..5.45; "about 6x", one significant figure -> 5.5..6.5). A word
("proportionally", "linearly", "near-quadratic") is read as an exponent within 10 % of 1
(0.9..1.1), a stated choice. Exponents and ratios come from the one fitted model
(`vidcarbon.laws`); shares and carbon ratios are means over the cells of one configuration.

RQ1 is checked once per embodied source (ACT's model, the headline, and each published figure
in the carbon table), on the measured cells and, for the paper's GPU at its setting, from Eq. 1
without a run (`analysis.embodied`); with the break-even grid intensity of each device and
source (kind 'breakeven').
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from vidcarbon.analysis.efficiency import efficiency_markdown, phase_efficiency
from vidcarbon.analysis.embodied import PAPER, PaperSetting
from vidcarbon.analysis.levers import lever_findings, levers_markdown
from vidcarbon.analysis.parallel import layout_name, parallel_findings, parallel_markdown
from vidcarbon.analysis.shared_counters import note, without_cells, without_shared
from vidcarbon.analysis.sources import source_cells
from vidcarbon.carbon.intensity import resolve_scenario
from vidcarbon.grid import BASELINE, RESOLUTIONS, parse_cell_id
from vidcarbon.laws import (
    PHASES,
    QUANTITIES,
    VARIABLES,
    ModelLaws,
    fit_model,
    fit_models,
    usable_cells,
)
from vidcarbon.levers import baseline_rows
from vidcarbon.tables import provenance, read_table, write_table

LETTER = {"steps": "a", "pixels": "b", "frames": "f"}
HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED = "holds", "does not hold", "inconclusive", "not measured"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED)


@dataclass(frozen=True)
class Band:
    """The values a claim allows, edges included, and where that band comes from."""

    low: float
    high: float
    source: str


def stated(figure: float, significant: int, scale: float = 1.0, unit: str = "") -> Band:
    """The numbers that round to the paper's `figure` written with `significant` figures
    (10 at one figure: 9.5..15, since 9.4 rounds to 9 and 15 to 20), times `scale`."""
    unit_above = 10.0 ** (math.floor(math.log10(figure)) - significant + 1)
    exact_power = math.isclose(figure, 10 ** round(math.log10(figure)))
    unit_below = unit_above / 10 if exact_power and significant == 1 else unit_above
    low, high = figure - unit_below / 2, figure + unit_above / 2
    words = "one significant figure" if significant == 1 else f"{significant} significant figures"
    return Band(
        low * scale,
        high * scale,
        f"the paper's {figure:g}{unit} at its precision ({words})",
    )


EXPONENT_BAND = Band(0.9, 1.1, "stated choice: the exponent within 10 % of 1")


def judge(low: float | None, high: float | None, band: Band) -> str:
    """The verdict of an interval [low, high] against `band`."""
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if band.low <= low and high <= band.high:
        return HOLDS
    if high < band.low or low > band.high:
        return FAILS
    return INCONCLUSIVE


@dataclass(frozen=True)
class Finding:
    """One row of the findings table (see `vidcarbon.tables.FINDINGS` for the columns)."""

    kind: str  # fit | claim | breakeven | lever | parallel | parallel_fit
    model: str
    name: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    interval: str | None = None
    unit: str | None = None
    r2: float | None = None
    n: int | None = None
    phase: str | None = None
    quantity: str | None = None
    variable: str | None = None
    paper: str | None = None
    paper_value: str | None = None
    band_low: float | None = None
    band_high: float | None = None
    band_source: str | None = None
    verdict: str | None = None
    detail: str = ""
    embodied_source: str | None = None
    device: str | None = None
    gpus: int | None = None


@dataclass(frozen=True)
class Claim:
    """What the paper says (`quote`, where) and the figure and band it is checked against."""

    name: str
    paper: str
    paper_value: str
    unit: str
    band: Band

    def measured(self, model, value, low, high, interval, n, detail, r2=None, **about) -> Finding:
        """The row of a measured figure with its 95 % interval [low, high] (None: none);
        `about`: the embodied source and device of an RQ1 figure."""
        if low is None:
            detail = f"{detail}; no interval, so no verdict"
        return self._row(
            model,
            judge(low, high, self.band),
            detail,
            value=value,
            ci_low=low,
            ci_high=high,
            interval=interval,
            n=n,
            r2=r2,
            **about,
        )

    def not_measured(self, model: str, detail: str) -> Finding:
        return self._row(model, NOT_MEASURED, detail)

    def _row(self, model: str, verdict: str, detail: str, **measured) -> Finding:
        return Finding(
            kind="claim",
            model=model,
            name=self.name,
            unit=self.unit,
            paper=self.paper,
            paper_value=self.paper_value,
            band_low=self.band.low,
            band_high=self.band.high,
            band_source=self.band.source,
            verdict=verdict,
            detail=detail,
            **measured,
        )


PERCENT = 0.01
DENOISE_SHARE = Claim(
    "denoising share of a 2 s 240p video's energy at 40 steps",
    "RQ3, Fig. 4 (c): 'even with just 40 denoising steps, 97.3% of the carbon footprint of "
    "generating short, low-resolution videos (2s, 240p) is already accounted for'",
    "97.3 %",
    "fraction",
    stated(97.3, 3, PERCENT, " %"),
)
ENCODE_PER_STEP = Claim(
    "text encoding / one denoising step (2 s 240p)",
    "RQ3: 'this process [encoding] only consumes about 60% of the carbon footprint of a "
    "single denoising step'",
    "about 60 %",
    "fraction",
    stated(60, 1, PERCENT, " %"),
)
STEPS = Claim(
    "energy per video proportional to steps: exponent of steps",
    "RQ4, Fig. 5 (a): 'the carbon emissions per video generation increase proportionally "
    "with the number of denoising steps'",
    "proportional (exponent 1)",
    "exponent",
    EXPONENT_BAND,
)
RESOLUTION = Claim(
    "energy per video near-quadratic in resolution: exponent of pixels",
    "RQ5, Fig. 6: 'follow a near-quadratic trend as video resolution scales' (quadratic in "
    "height and width is exponent 1 in pixels per frame)",
    "near-quadratic (exponent 1 in pixels)",
    "exponent",
    EXPONENT_BAND,
)
RATIO_720P = Claim(
    "energy per video, 720p / 240p",
    "RQ5, Fig. 6: 'generating videos at 720p produces 10x more carbon than at 240p'",
    "10x",
    "ratio",
    stated(10, 1, unit="x"),
)
DURATION = Claim(
    "energy per video linear in duration: exponent of frames",
    "RQ5, Fig. 7: 'the carbon footprint of video generation scales linearly with video duration'",
    "linear (exponent 1)",
    "exponent",
    EXPONENT_BAND,
)
WIND = Claim(
    "operational / embodied carbon under wind",
    "RQ1, Fig. 2: 'Even when the datacenter is powered by wind ... operational carbon is 5.4 "
    "times the embodied carbon'",
    "5.4x",
    "ratio",
    stated(5.4, 2, unit="x"),
)
WIND_DOMINATES = Claim(
    "operational carbon larger than embodied under wind",
    "RQ1, Fig. 2: 'embodied carbon contributes negligibly to the overall carbon footprint "
    "compared to operational carbon. Even when the datacenter is powered by wind ...'",
    "operational > embodied",
    "ratio",
    Band(1.0, math.inf, "the paper's conclusion: operational carbon is the larger part"),
)
GAS = Claim(
    "embodied share of the carbon under gas",
    "RQ1, Fig. 2: 'When the system is powered by gas ... embodied carbon contributes only 0.4% "
    "to the carbon footprint of generating a video'",
    "0.4 %",
    "fraction",
    stated(0.4, 1, PERCENT, " %"),
)
PER_REQUEST = Claim(
    "carbon per request: 2 s 240p video / text response",
    "RQ2, Fig. 3 (a): 'The average carbon used to generate a video is approximately 6x "
    "higher than that required to generate a sequence of text tokens'",
    "about 6x",
    "ratio",
    stated(6, 1, unit="x"),
)
PER_UNIT = Claim(
    "carbon per unit: one frame / one token",
    "RQ2, Fig. 3 (b): 'the carbon per frame is about 78x higher than the carbon per token'",
    "about 78x",
    "ratio",
    stated(78, 2, unit="x"),
)
RQ1_CLAIMS = (WIND, WIND_DOMINATES, GAS)
CLAIMS = (
    WIND,
    WIND_DOMINATES,
    GAS,
    PER_REQUEST,
    PER_UNIT,
    DENOISE_SHARE,
    ENCODE_PER_STEP,
    STEPS,
    RESOLUTION,
    RATIO_720P,
    DURATION,
)


def mean_interval(values) -> tuple[float, float | None, float | None]:
    """Mean and the two ends of its 95 % t-interval (None with fewer than 2 values)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, None, None
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def ratio_interval(point: float, numerator, denominator) -> tuple[float | None, float | None]:
    """95 % interval of a ratio of two means whose point value is `point`: delta method on
    the log of the ratio, Welch-Satterthwaite degrees of freedom (None: fewer than 2 each)."""
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None, None
    va = a.var(ddof=1) / (len(a) * a.mean() ** 2)
    vb = b.var(ddof=1) / (len(b) * b.mean() ** 2)
    if va + vb == 0:
        return point, point
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, dof) * np.sqrt(va + vb))
    return point * math.exp(-half), point * math.exp(half)


def _describe(cells: pd.DataFrame) -> str:
    return (
        f"{len(cells)} cells at {cells.resolution.iloc[0]}, {int(cells.frames.iloc[0])} frames, "
        f"{int(cells.steps.iloc[0])} steps"
    )


def run_claims(runs: pd.DataFrame, laws: dict[str, ModelLaws]) -> list[Finding]:
    """The claims the runs table and the fitted laws can check, per model."""
    findings = []
    usable = usable_cells(runs)
    for model, law in laws.items():
        cells = usable[usable.model == model]
        short = cells[(cells.resolution == "240p") & (cells.frames == 2 * law.fps)]
        where = f"240p, {2 * law.fps} frames (2 s at the runs' {law.fps} fps)"
        at40 = short[short.steps == 40]
        if at40.empty:
            findings.append(DENOISE_SHARE.not_measured(model, f"no cell at {where}, 40 steps"))
        else:
            share, low, high = mean_interval(at40.denoise_energy_j / at40.energy_j)
            findings.append(
                DENOISE_SHARE.measured(
                    model, share, low, high, "95 % CI of the mean", len(at40), _describe(at40)
                )
            )
        if short.empty:
            findings.append(ENCODE_PER_STEP.not_measured(model, f"no cell at {where}"))
        else:
            ratio, low, high = mean_interval(
                short.encode_energy_j / (short.denoise_energy_j / short.steps)
            )
            findings.append(
                ENCODE_PER_STEP.measured(
                    model,
                    ratio,
                    low,
                    high,
                    "95 % CI of the mean",
                    len(short),
                    f"{len(short)} cells at {where}, all steps; cells of one prompt share "
                    "its encoding",
                )
            )
        for claim, variable in ((STEPS, "steps"), (RESOLUTION, "pixels"), (DURATION, "frames")):
            findings.append(_exponent_claim(claim, law, variable))
        findings.append(_ratio_720p(law))
    return findings


def _exponent_claim(claim: Claim, law: ModelLaws, variable: str) -> Finding:
    if variable in law.fixed:
        return claim.not_measured(law.model, f"its runs hold a single {variable} value")
    if ("energy_j", "video") not in law.fits:
        reason = law.reasons[("energy_j", "video")]
        return claim.measured(law.model, None, None, None, None, law.n, f"no law: {reason}")
    c = law.exponent(variable)
    fit = law.fit()
    lo, hi = fit.x_range[variable]
    return claim.measured(
        law.model,
        c.value,
        c.ci_low,
        c.ci_high,
        "95 % CI of the exponent",
        fit.n,
        f"energy ~ {' x '.join(f'{v}^{LETTER[v]}' for v in law.varying)} over all "
        f"{fit.n} cells (R² {fit.r2:.3f}); {variable} {lo:g} .. {hi:g}",
        r2=fit.r2,
    )


def _ratio_720p(law: ModelLaws) -> Finding:
    pixels = {r: float(np.prod(law.sizes.get(r, RESOLUTIONS[r]))) for r in ("240p", "720p")}
    ratio = law.ratio("pixels", pixels["240p"], pixels["720p"])
    missing = [r for r in ("240p", "720p") if r not in law.sizes]
    if missing:
        detail = f"no {' or '.join(missing)} cell"
        if ratio is not None:
            detail += f"; the law would extrapolate {ratio.value:.3g}x"
        return RATIO_720P.not_measured(law.model, detail)
    if ratio is None:
        reason = law.reasons.get(("energy_j", "video"), "no law")
        return RATIO_720P.measured(law.model, None, None, None, None, law.n, f"no law: {reason}")
    return RATIO_720P.measured(
        law.model,
        ratio.value,
        ratio.low,
        ratio.high,
        "95 % CI, from the exponent's",
        law.fit().n,
        f"(pixels ratio {pixels['720p'] / pixels['240p']:.3f})^exponent of pixels; steps and "
        "frames equal",
    )


def _embodied_sources(carbon: pd.DataFrame) -> list[str]:
    """The embodied sources of the carbon table, the headline first."""
    return list(
        dict.fromkeys(
            carbon.sort_values("embodied_default", ascending=False, kind="stable").embodied_source
        )
    )


def carbon_claims(carbon: pd.DataFrame, reference_resolution: str = "240p") -> list[Finding]:
    """Operational against embodied carbon under wind and gas (RQ1), per model and embodied
    source, at the configuration of the RQ1 chart."""
    findings = []
    for model in sorted(set(carbon.model)):
        for source in _embodied_sources(carbon[carbon.model == model]):
            of_source = carbon[(carbon.model == model) & (carbon.embodied_source == source)]
            device = of_source.embodied_device.iloc[0]
            about = {"embodied_source": source, "device": device}
            for claim, scenario in ((WIND, "wind"), (WIND_DOMINATES, "wind"), (GAS, "gas")):
                rows = source_cells(of_source[of_source.scenario == scenario], reference_resolution)
                if rows.empty:
                    findings.append(
                        claim._row(
                            model,
                            NOT_MEASURED,
                            f"no ok cell under a '{scenario}' scenario",
                            **about,
                        )
                    )
                    continue
                per_cell = (
                    rows.embodied_g / rows.total_g
                    if claim is GAS
                    else rows.operational_g / rows.embodied_g
                )
                value, low, high = mean_interval(per_cell)
                charged = f"{rows.embodied_unit.iloc[0]}, {rows.embodied_counts.iloc[0]}"
                findings.append(
                    claim.measured(
                        model,
                        value,
                        low,
                        high,
                        "95 % CI of the mean",
                        len(rows),
                        f"{_describe(rows)} (the RQ1 chart's); embodied carbon of {charged}, "
                        f"{rows.unit_embodied_g.iloc[0] / 1000:.4g} kg",
                        **about,
                    )
                )
    return findings


PAPER_SETTING = "paper setting"


def paper_setting_claims(sources: list[dict], setting: PaperSetting = PAPER) -> list[Finding]:
    """RQ1 for the paper's GPU at its setting under each of its embodied sources, from Eq. 1
    (no run); the interval spans the "~250 W" the paper's figures allow."""
    intensity = {
        s: resolve_scenario({"source": s}, "rq1").intensity_g_per_kwh for s in ("wind", "gas")
    }
    low_w, power_w, high_w = setting.powers_w
    findings = []
    for src in sources:
        about = {"embodied_source": src["source"], "device": src["device"]}
        detail = (
            f"{setting.describe(src['device'])}; embodied {src['embodied_g'] / 1000:.4g} kg "
            f"({src['counts']}; {src['citation']})"
        )
        for claim in RQ1_CLAIMS:
            if claim is GAS:
                at = [
                    setting.embodied_fraction(src["embodied_g"], intensity["gas"], p)
                    for p in (high_w, power_w, low_w)
                ]
            else:
                at = [
                    setting.operational_per_embodied(src["embodied_g"], intensity["wind"], p)
                    for p in (low_w, power_w, high_w)
                ]
            findings.append(
                claim.measured(
                    PAPER_SETTING,
                    at[1],
                    at[0],
                    at[2],
                    f"range over {low_w:g}..{high_w:g} W",
                    None,
                    detail,
                    **about,
                )
            )
    return findings


BREAKEVEN = "break-even grid intensity (embodied > operational below it)"


def breakeven_rows(
    carbon: pd.DataFrame | None,
    sources: list[dict],
    reference_resolution: str = "240p",
    setting: PaperSetting = PAPER,
) -> list[Finding]:
    """The grid intensity below which embodied carbon exceeds operational, per model, device
    and embodied source on the RQ1 chart's cells, and for the paper's GPU at its setting."""
    rows = []
    if carbon is not None and len(carbon):
        for model in sorted(set(carbon.model)):
            for source in _embodied_sources(carbon[carbon.model == model]):
                of_source = carbon[(carbon.model == model) & (carbon.embodied_source == source)]
                cells = source_cells(of_source, reference_resolution)
                cells = cells.drop_duplicates("cell_id")  # the same in every scenario
                if cells.empty:
                    continue
                value, low, high = mean_interval(cells.breakeven_intensity_g_per_kwh)
                rows.append(
                    Finding(
                        kind="breakeven",
                        model=model,
                        name=BREAKEVEN,
                        value=value,
                        ci_low=low,
                        ci_high=high,
                        interval=None if low is None else "95 % CI of the mean",
                        unit="g_per_kwh",
                        n=len(cells),
                        embodied_source=source,
                        device=cells.embodied_device.iloc[0],
                        detail=f"{_describe(cells)} (the RQ1 chart's); "
                        f"{cells.embodied_unit.iloc[0]}, "
                        f"{cells.unit_embodied_g.iloc[0] / 1000:.4g} kg; "
                        "embodied_g / (energy_kwh x pue)",
                    )
                )
    low_w, power_w, high_w = setting.powers_w
    for src in sources:
        at = [setting.breakeven_g_per_kwh(src["embodied_g"], p) for p in (high_w, power_w, low_w)]
        rows.append(
            Finding(
                kind="breakeven",
                model=PAPER_SETTING,
                name=BREAKEVEN,
                value=at[1],
                ci_low=at[0],
                ci_high=at[2],
                interval=f"range over {low_w:g}..{high_w:g} W",
                unit="g_per_kwh",
                embodied_source=src["source"],
                device=src["device"],
                detail=f"{setting.describe(src['device'])}; embodied "
                f"{src['embodied_g'] / 1000:.4g} kg ({src['counts']}); "
                "embodied_g / lifetime_s x 3.6e6 / (P x pue)",
            )
        )
    return rows


def comparison_claims(
    comparison: pd.DataFrame | None,
    runs: pd.DataFrame,
    llm: pd.DataFrame | None,
    laws: dict[str, ModelLaws],
) -> list[Finding]:
    """Video against text per request and per unit at 2 s 240p (RQ2), per video model: the
    ratios of video_vs_text.parquet (the most steps measured there), with an interval from
    the spread of the videos' and the text requests' energies."""
    findings = []
    for model, law in laws.items():
        group = f"240p_f{2 * law.fps}_"
        rows = pd.DataFrame()
        if comparison is not None and len(comparison):
            # energy ratios, the same under every scenario: one row per group is enough
            groups = comparison.drop_duplicates(["modality", "model", "group"])
            rows = groups[
                (groups.modality == "video")
                & (groups.model == model)
                & groups.group.str.startswith(group)
            ]
        if rows.empty:
            reason = "no 2 s 240p video in video_vs_text.parquet, or no text baseline"
            findings += [c.not_measured(model, reason) for c in (PER_REQUEST, PER_UNIT)]
            continue
        steps = rows.group.str.extract(r"_s(\d+)$")[0].astype(int)
        best = rows.loc[steps.idxmax()]
        usable = usable_cells(runs)
        videos = usable[
            (usable.model == model)
            & (usable.resolution == "240p")
            & (usable.frames == 2 * law.fps)
            & (usable.steps == steps.max())
        ]
        text = None
        if llm is not None:
            text = llm[
                (llm.llm == best.reference_text)
                & (llm.status == "ok")
                & llm.energy_j.notna()
                & (llm.output_tokens > 0)
            ]
        detail = f"{best.group} ({len(videos)} videos) against {best.reference_text}"
        for claim, point, video_values, text_values in (
            (
                PER_REQUEST,
                best.request_ratio_vs_text,
                videos.energy_j,
                None if text is None else text.energy_j,
            ),
            (
                PER_UNIT,
                best.unit_ratio_vs_text,
                videos.energy_j / videos.frames,
                None if text is None else text.energy_j / text.output_tokens,
            ),
        ):
            low, high = (None, None)
            if text_values is not None:
                low, high = ratio_interval(point, video_values, text_values)
            n_text = 0 if text is None else len(text)
            findings.append(
                claim.measured(
                    model,
                    float(point),
                    low,
                    high,
                    "95 % CI of a ratio of means",
                    len(videos) + n_text,
                    f"{detail} ({n_text} requests); energy ratio, so any one intensity",
                )
            )
    return findings


def law_rows(laws: dict[str, ModelLaws]) -> list[Finding]:
    """The fitted exponents of every model, phase and quantity (kind 'fit'); a law not fitted
    is one row with its reason in `detail`."""
    rows = []
    for model, law in laws.items():
        for quantity in QUANTITIES:
            for phase in PHASES:
                fit = law.fits.get((quantity, phase))
                if fit is None:
                    reason = law.reasons.get((quantity, phase), "not fitted")
                    rows.append(
                        Finding(
                            kind="fit",
                            model=model,
                            name=f"{phase} {quantity}",
                            phase=phase,
                            quantity=quantity,
                            detail=reason,
                        )
                    )
                    continue
                for variable in law.varying:
                    c = fit[variable]
                    rows.append(
                        Finding(
                            kind="fit",
                            model=model,
                            name=f"{phase} {quantity}: exponent of {variable}",
                            value=c.value,
                            ci_low=c.ci_low,
                            ci_high=c.ci_high,
                            interval="95 % CI of the exponent",
                            unit="exponent",
                            r2=fit.r2,
                            n=fit.n,
                            phase=phase,
                            quantity=quantity,
                            variable=variable,
                        )
                    )
    return rows


def _layout_laws(cells: pd.DataFrame, model: str, gpus: int, label: str) -> list[Finding]:
    """`law_rows` of one model's cells on `gpus` devices, as kind parallel_fit with `label`
    (which cells) before each name; without a varying variable, one row saying so."""
    law = fit_model(cells, model)
    if not law.varying:
        said = "its cell holds" if len(cells) == 1 else f"its {len(cells)} cells hold"
        return [
            Finding(
                kind="parallel_fit",
                model=model,
                name=f"{label}: no law",
                n=len(cells),
                gpus=gpus,
                detail=f"not fitted: {said} one value each of steps, pixels and frames; a law "
                "needs a variable with two values or more",
            )
        ]
    return [
        replace(r, kind="parallel_fit", gpus=gpus, name=f"{label}: {r.name}")
        for r in law_rows({model: law})
    ]


def layout_law_rows(runs: pd.DataFrame) -> list[Finding]:
    """The laws fitted separately per model and layout (kind parallel_fit) to its usable
    cells on several devices, and to the one-device cells of the same keys (1 GPU), so that
    their exponents compare on one subset of the grid. `runs`: every no-lever cell."""
    usable = usable_cells(runs[runs.lever == BASELINE])
    on_many = usable[usable.gpus > 1]
    rows = []
    one_label = "1 GPU, the parallel cells' keys"
    for model, cells in on_many.groupby("model"):
        one_ids = {parse_cell_id(c).baseline.cell_id for c in cells.cell_id}
        one = usable[usable.cell_id.isin(one_ids)]
        if one.empty:
            rows.append(
                Finding(
                    kind="parallel_fit",
                    model=model,
                    name=f"{one_label}: no law",
                    n=0,
                    gpus=1,
                    detail="not fitted: no usable one-device cell of the parallel cells' keys",
                )
            )
        else:
            rows += _layout_laws(one, model, 1, one_label)
        for (gpus, ulysses, ring), layout in cells.groupby(
            ["gpus", "ulysses_degree", "ring_degree"]
        ):
            rows += _layout_laws(layout, model, int(gpus), layout_name(gpus, ulysses, ring))
    return rows


def findings_rows(
    runs: pd.DataFrame,
    carbon: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    llm: pd.DataFrame | None = None,
    reference_resolution: str = "240p",
    rq1_sources: list[dict] = (),
) -> list[dict]:
    """All findings as rows of the `findings` table; a missing table makes its claims
    'not measured'. `rq1_sources`: the embodied sources of the paper's GPU
    (`carbon.embodied.source_table`), for RQ1 at the paper's setting."""
    laws = fit_models(runs)
    found = law_rows(laws)
    if carbon is not None:
        found += carbon_claims(carbon, reference_resolution)
    else:
        found += [c.not_measured(m, "no carbon table") for m in laws for c in RQ1_CLAIMS]
    found += paper_setting_claims(list(rq1_sources))
    found += breakeven_rows(carbon, list(rq1_sources), reference_resolution)
    found += comparison_claims(comparison, runs, llm, laws)
    found += run_claims(runs, laws)
    return [asdict(f) for f in found]


def _number(value, unit: str | None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if unit == "fraction":
        return f"{100 * value:.4g} %"
    if unit == "ratio":
        return f"{value:.4g}x"
    if unit == "g_per_kwh":
        return f"{value:.4g} g/kWh"
    return _exponent(value)


def _exponent(value: float) -> str:
    return f"{value if abs(value) >= 5e-4 else 0.0:.3f}"  # no "-0.000"


def _interval(row) -> str:
    if row.ci_low is None or pd.isna(row.ci_low):
        return ""
    return f"{_number(row.ci_low, row.unit)} .. {_number(row.ci_high, row.unit)}"


def _band(row) -> str:
    if row.band_high == math.inf:
        return f"> {_number(row.band_low, row.unit)}"
    return f"{_number(row.band_low, row.unit)} .. {_number(row.band_high, row.unit)}"


def _source(row) -> str:
    if row.embodied_source is None or pd.isna(row.embodied_source):
        return ""
    return f"{row.embodied_source} ({row.device})"


def _rq1_cell(row) -> str:
    """A claim row as 'value [interval] **verdict**' (its verdict alone if not measured)."""
    if row is None or pd.isna(row.value):
        return "" if row is None else row.verdict
    interval = _interval(row)
    return f"{_number(row.value, row.unit)}{f' [{interval}]' if interval else ''} **{row.verdict}**"


def rq1_markdown(findings: pd.DataFrame) -> list[str]:
    """RQ1 and the break-even at a glance: one line per model (or the paper's setting), device
    and embodied source."""
    rq1 = findings[findings.embodied_source.notna()]
    if rq1.empty:
        return []
    lines = [
        "## RQ1 under each embodied source",
        "",
        "The paper charges ACT's model of the A100 (the headline here too); published figures "
        "count more of the machine (docs/carbon.md, *Embodied sources*). *paper setting* rows "
        "are Eq. 1 for the paper's GPU at its setting, not a measurement; their interval is "
        "the range over the power the paper's figures allow. Break-even: the grid intensity "
        "below which embodied carbon exceeds operational.",
        "",
        "| model | embodied source (device) | operational / embodied, wind | "
        "operational larger under wind | embodied share, gas | break-even g/kWh |",
        "|---|---|---|---|---|---|",
    ]
    for (model, source), rows in rq1.groupby(["model", "embodied_source"], sort=False):
        by = {r.name: r for r in rows.itertuples()}

        first = rows.iloc[0]
        breakeven = by.get(BREAKEVEN)
        even = ""
        if breakeven is not None:
            even = f"{breakeven.value:.3g}"
            if breakeven.ci_low is not None and not pd.isna(breakeven.ci_low):
                even += f" [{breakeven.ci_low:.3g} .. {breakeven.ci_high:.3g}]"
        lines.append(
            f"| {model} | {source} ({first.device}) | {_rq1_cell(by.get(WIND.name))} "
            f"| {_rq1_cell(by.get(WIND_DOMINATES.name))} | {_rq1_cell(by.get(GAS.name))} "
            f"| {even} |"
        )
    return [*lines, ""]


LEGEND = (
    "Each claim is checked against the band written beside it: **holds** when the measured "
    "95 % interval lies inside the band, **does not hold** when it lies wholly outside, "
    "**inconclusive** when it straddles an edge or there is no interval, **not measured** "
    "when the runs lack the cells. A figure the paper states is read at its own precision "
    "(the numbers that round to it); a word (proportional, linear, near-quadratic) as an "
    "exponent within 10 % of 1. Exponents and ratios come from one law per model, phase and "
    "quantity (energy, time) fitted to all successful cells: y = c x steps^a x pixels^b x "
    "frames^f (log-log least squares); `vidcarbon estimate`, the credits and the RQ5 charts "
    "use the same laws."
)


def caveats(runs: pd.DataFrame) -> list[str]:
    """What the reader must know about the runs before trusting a verdict."""
    notes = []
    ok = runs[runs.status == "ok"]
    estimated = ok[ok.cpu_method.eq("estimated")] if "cpu_method" in ok else ok.iloc[0:0]
    if len(estimated):
        notes.append(
            f"{len(estimated)} of {len(ok)} cells have CPU energy **estimated** from CPU time "
            "(`cpu_method = estimated`), not measured."
        )
    if len(ok) and ok.device.eq("cpu").all():
        notes.append(
            "Every cell ran on a CPU: the paper measured Open-Sora on an A100, and a model run "
            "elsewhere is not expected to reproduce its figures; a verdict here says whether "
            "these runs reproduce them, not whether the paper is right."
        )
    return notes


def summary_markdown(findings: pd.DataFrame, runs: pd.DataFrame | None = None) -> str:
    """The findings as Markdown: the claims with their bands, then the fitted laws."""
    lines = ["# Findings", "", LEGEND, ""]
    if runs is not None:
        lines += [f"- {note}" for note in caveats(runs)] + [""]
    lines += ["## The paper's claims against the measured data", ""]
    lines += [
        "| model | claim | embodied source | measured | 95 % interval | band (source) | verdict "
        "| n | how |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in findings[findings.kind == "claim"].itertuples():
        n = "" if pd.isna(f.n) else int(f.n)
        lines.append(
            f"| {f.model} | {f.name} | {_source(f)} | {_number(f.value, f.unit)} | "
            f"{_interval(f)} | {_band(f)} ({f.band_source}) | **{f.verdict}** | {n} | {f.detail} |"
        )
    lines += ["", "Where each claim is in the paper:", ""]
    claims = findings[findings.kind == "claim"].drop_duplicates("name")
    lines += [f"- *{f.name}*: {f.paper}" for f in claims.itertuples()]
    lines += ["", *rq1_markdown(findings)]
    lines += ["## The fitted laws: y = c x steps^a x pixels^b x frames^f", ""]
    lines += [
        "Exponents with their 95 % confidence interval; a variable with one value in the runs "
        "is not fitted (blank).",
        "",
        "| model | phase | quantity | steps | pixels | frames | R² | n |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += _law_lines(findings[findings.kind == "fit"], ["model"])
    return "\n".join(lines) + "\n"


def _law_lines(fits: pd.DataFrame, keys: list[str]) -> list[str]:
    """Table rows of fit rows, one per `keys`, phase and quantity: the exponents with their
    95 % CI, R² and n, or the reason a law was not fitted."""
    lines = []
    for key, rows in fits.groupby([*keys, "phase", "quantity"], sort=False):
        named = " | ".join(map(str, key))
        if rows.variable.isna().all():  # a law not fitted: its reason instead of exponents
            lines.append(f"| {named} | {rows.detail.iloc[0]} | | | | |")
            continue
        by = rows.set_index("variable")
        cells = [
            f"{_exponent(by.value[v])} [{_exponent(by.ci_low[v])}, {_exponent(by.ci_high[v])}]"
            if v in by.index
            else ""
            for v in VARIABLES
        ]
        first = rows.iloc[0]
        lines.append(
            f"| {named} | {' | '.join(cells)} | {max(first.r2, 0.0):.3f} | {int(first.n)} |"
        )
    return lines


def layout_laws_markdown(findings: pd.DataFrame) -> list[str]:
    """The laws per layout (kind parallel_fit) as Markdown lines (none without them)."""
    fits = findings[findings.kind == "parallel_fit"]
    if fits.empty:
        return []
    fits = fits.assign(cells_on=fits.name.str.split(": ").str[0])
    unfitted = [
        f"| {f.model} | {f.cells_on} | | | {f.detail} | | | | {int(f.n)} |"
        for f in fits[fits.phase.isna()].itertuples()
    ]
    return [
        "## The laws per number of GPUs",
        "",
        "The fitted laws (y = c x steps^a x pixels^b x frames^f) fitted again, separately to "
        "each layout's cells and to the one-device cells of the same keys (1 GPU), so that their "
        "exponents compare on one subset of the grid; a layout whose cells hold one value of "
        "every variable has no law.",
        "",
        "| model | cells on | phase | quantity | steps | pixels | frames | R² | n |",
        "|---|---|---|---|---|---|---|---|---|",
        *_law_lines(fits, ["model", "cells_on"]),
        *unfitted,
        "",
    ]


def markdown_to_html(markdown: str, title: str = "Findings") -> str:
    """A standalone HTML page of the findings Markdown (headings, paragraphs, lists, tables),
    so that the Snakemake report shows the tables rather than a link to a .md file."""

    def inline(text: str) -> str:
        text = html.escape(text)
        parts = text.split("**")
        text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
        text = re.sub(r"\*([^*\s][^*]*)\*", r"<i>\1</i>", text)  # *claim name*
        parts = text.split("`")
        return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))

    body, table, items = [], [], []

    def flush():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{inline(c)}</th>" for c in cells[0])
            rows_html = "".join(
                "<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>")
            table.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
    flush()
    style = (
        "body{font-family:sans-serif;font-size:13px;margin:1em}"
        "table{border-collapse:collapse;margin:0.5em 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
        "th{background:#f3f3f3}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_findings(
    runs_path: str,
    carbon_path: str,
    flops_path: str,
    comparison_path: str | None,
    llm_path: str | None,
    levers_path: str,
    parallel_path: str | None,
    outputs: dict[str, str],
    reference_resolution: str,
    scenario: str,
    fidelity_floor_ssim: float,
    gpu_peaks_tflops: dict[str, float],
    config_hash: str,
    rq1_sources: list[dict],
) -> None:
    """Rule findings: the claims, break-evens and laws (findings.parquet), energy per FLOP
    (efficiency.parquet), and both as Markdown and HTML (`outputs`: findings, efficiency,
    summary, html); `rq1_sources` as in `findings_rows`; `parallel_path`: the parallel table,
    where the config has layouts (None: no parallel findings). Cells whose device-wide counter
    was shared are left out, and said so."""
    measured = read_table("runs", runs_path).to_pandas()
    runs, left_out = without_shared(baseline_rows(measured))
    carbon = without_cells(baseline_rows(read_table("carbon", carbon_path).to_pandas()), measured)
    comparison = (
        read_table("video_vs_text", comparison_path).to_pandas() if comparison_path else None
    )
    llm = read_table("llm", llm_path).to_pandas() if llm_path else None
    rows = findings_rows(
        runs,
        carbon,
        comparison,
        llm,
        reference_resolution=reference_resolution,
        rq1_sources=rq1_sources,
    )
    levers = read_table("levers", levers_path).to_pandas()
    rows += lever_findings(levers, scenario, fidelity_floor_ssim)
    if parallel_path:
        parallel = read_table("parallel", parallel_path).to_pandas()
        rows += parallel_findings(parallel, scenario)
        rows += [asdict(f) for f in layout_law_rows(without_shared(measured)[0])]
    meta = provenance(config_hash, sorted(set(runs.hostname.dropna())), [])
    write_table("findings", rows, outputs["findings"], meta)
    flops = read_table("flops", flops_path).to_pandas()
    efficiency = phase_efficiency(runs, flops, gpu_peaks_tflops)
    write_table("efficiency", efficiency.to_dict("records"), outputs["efficiency"], meta)
    found = pd.DataFrame(rows)
    summary = summary_markdown(found, runs) + "\n" + efficiency_markdown(efficiency)
    summary += "\n" + "\n".join(levers_markdown(found))
    for section in (parallel_markdown(found), layout_laws_markdown(found)):
        summary += "\n" + "\n".join(section) if section else ""
    if left_out:
        summary += "\n" + note(left_out) + "\n"
    Path(outputs["summary"]).write_text(summary)
    Path(outputs["html"]).write_text(markdown_to_html(summary))
