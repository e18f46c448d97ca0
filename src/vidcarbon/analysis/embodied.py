"""RQ1 under every embodied source: the headline rows of the carbon table, the paper's RQ1
figures recomputed from Eq. 1 for its GPU at its setting, and the break-even grid intensity.

At a constant average power P (W) both RQ1 ratios are independent of the job length:
  operational / embodied = (P x pue x intensity / 3.6e6) / (embodied_g / lifetime_s)
  break-even intensity   = embodied_g / lifetime_s x 3.6e6 / (P x pue)        (g/kWh)
below which embodied carbon exceeds operational carbon.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from vidcarbon import defaults
from vidcarbon.carbon.accounting import (
    SECONDS_PER_YEAR,
    breakeven_intensity_g_per_kwh,
    embodied_share_g,
    operational_g,
)


def headline(carbon: pd.DataFrame) -> pd.DataFrame:
    """The rows of the headline embodied source (ACT): one per cell and scenario."""
    return carbon[carbon.embodied_default]


@dataclass(frozen=True)
class PaperSetting:
    """The paper's RQ1 setting: its GPU at an average power, PUE and lifetime (defaults.py)."""

    power_w: float = defaults.RQ1_POWER_W
    pue: float = defaults.PUE
    lifetime_years: float = defaults.LIFETIME_YEARS
    tolerance: float = defaults.RQ1_POWER_TOLERANCE

    @property
    def powers_w(self) -> tuple[float, float, float]:
        """Low end, value and high end of the "~250 W" the paper's ratios allow."""
        return (
            self.power_w * (1 - self.tolerance),
            self.power_w,
            self.power_w * (1 + self.tolerance),
        )

    def describe(self, device: str) -> str:
        low, _, high = self.powers_w
        return (
            f"{device} at {self.power_w:g} W ({low:g}..{high:g} W), PUE {self.pue:g}, "
            f"{self.lifetime_years:g} years, modelled from Eq. 1 (no run)"
        )

    def embodied_g_per_s(self, embodied_g: float) -> float:
        """Embodied carbon charged per second of use of a unit of `embodied_g`."""
        return embodied_share_g(1.0, embodied_g, self.lifetime_years * SECONDS_PER_YEAR)

    def operational_g_per_s(self, intensity_g_per_kwh: float, power_w: float) -> float:
        """Operational carbon of one second at `power_w`."""
        return operational_g(power_w, intensity_g_per_kwh, self.pue)

    def operational_per_embodied(self, embodied_g, intensity_g_per_kwh, power_w) -> float:
        """Operational over embodied carbon at `power_w`."""
        return self.operational_g_per_s(intensity_g_per_kwh, power_w) / self.embodied_g_per_s(
            embodied_g
        )

    def embodied_fraction(self, embodied_g, intensity_g_per_kwh, power_w) -> float:
        """Embodied share of the carbon at `power_w`."""
        embodied = self.embodied_g_per_s(embodied_g)
        return embodied / (embodied + self.operational_g_per_s(intensity_g_per_kwh, power_w))

    def breakeven_g_per_kwh(self, embodied_g: float, power_w: float) -> float:
        """The intensity below which embodied carbon exceeds operational at `power_w`."""
        return breakeven_intensity_g_per_kwh(power_w, self.embodied_g_per_s(embodied_g), self.pue)


PAPER = PaperSetting()
