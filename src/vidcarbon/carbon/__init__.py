"""Carbon accounting: grid intensity scenarios, embodied carbon, per-cell carbon, credits.

carbon_g = energy_kwh x PUE x intensity_g_per_kwh + (t_gen_s / t_life_s) x embodied_g
(Li, Jiang, Tiwari, HotCarbon'24, Eq. 1; ACT, Gupta et al., ISCA'22). See docs/carbon.md.
"""
