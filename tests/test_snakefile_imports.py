"""Every Snakemake start parses the Snakefile: the dry run, the submitting host, and the batch
step of every SLURM job. What the parse imports is paid at each of them."""

import subprocess
import sys
import textwrap

from tests.conftest import REPO

HEAVY = ("altair", "scipy", "torch", "diffusers", "transformers")


def test_parsing_the_snakefile_imports_no_plotting_fitting_or_model_library():
    """altair and scipy (about 1 s of imports on the development VM) and the model libraries
    are left to the jobs that draw, fit and generate."""
    code = textwrap.dedent(
        f"""
        import sys
        from snakemake.cli import main
        sys.argv = ["snakemake", "--list-rules", "--quiet"]
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    *rules, imported = out.strip().splitlines()
    assert "generate" in rules and "chart_power_trace" in rules
    assert imported == "[]"
