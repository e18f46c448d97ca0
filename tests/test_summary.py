"""What `make run` ends with: counts, the retry command, where things are, headline findings."""

from vidcarbon.summary import summarise
from vidcarbon.tables import provenance, write_table


def run_row(cell_id, status, error=None):
    model, prompt, rest = cell_id.split("/")
    return {
        "run_id": cell_id,
        "cell_id": cell_id,
        "model": model,
        "prompt_id": prompt,
        "resolution": rest.split("_")[0],
        "frames": 8,
        "steps": 4,
        "seed": 0,
        "lever": "baseline",
        "gpus": 1,
        "ulysses_degree": 1,
        "ring_degree": 1,
        "status": status,
        "error": error,
    }


def finding(name, verdict, value, kind="claim", unit="exponent", ci=(None, None)):
    return {
        "kind": kind,
        "model": "latte-tiny",
        "name": name,
        "value": value,
        "unit": unit,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "paper_value": "linear",
        "verdict": verdict,
    }


def test_summary_counts_names_failures_with_a_retry_and_gives_headlines(tmp_path):
    ok = "latte-tiny/p0123456789/144p_f8_s4_seed0_baseline"
    oom = "latte-tiny/p0123456789/360p_f16_s16_seed0_baseline"
    meta = provenance("h", [], [])
    write_table(
        "runs",
        [run_row(ok, "ok"), run_row(oom, "oom", "CUDA out of memory")],
        tmp_path / "runs.parquet",
        meta,
    )
    findings = [
        finding("energy ~ steps^a: exponent of steps", None, 1.0, kind="fit"),
        finding("denoising share at 40 steps", "not measured", None),
        finding("energy linear in steps", "holds", 0.998, ci=(0.97, 1.02)),
        finding("embodied share under gas", "does not hold", 0.007451, unit="fraction"),
    ]
    write_table("findings", findings, tmp_path / "findings.parquet", meta)
    lines = summarise(tmp_path).splitlines()
    assert lines[0] == "vidcarbon: video cells 1 ok, 1 oom"
    assert lines[1] == f"  oom: {oom}: CUDA out of memory"
    assert lines[2] == "  retry the 1 failed: vidcarbon retry --status oom && make run"
    assert lines[-2:] == [
        "    energy linear in steps: exponent 0.998 [95 % CI 0.97 .. 1.02] (latte-tiny; paper "
        "linear): holds",
        "    embodied share under gas: 0.745 % [no interval] (latte-tiny; paper linear): "
        "does not hold",
    ]
    # with more claims than lines, those with an interval come first
    findings = [finding(f"one-cell claim {i}", "inconclusive", 2.0, unit="ratio") for i in range(3)]
    findings.append(finding("fitted claim", "holds", 1.01, ci=(0.99, 1.03)))
    write_table("findings", findings, tmp_path / "findings.parquet", meta)
    lines = summarise(tmp_path).splitlines()
    assert lines[-3].startswith("    fitted claim: exponent 1.01 [95 % CI 0.99 .. 1.03]")
    assert lines[-1].startswith("    one-cell claim 1: 2x [no interval]")
    # a folder without a report or charts (a run that stopped early) points to neither
    report = f"no report yet (`snakemake --report {tmp_path}/report.html`; make run makes it)"
    assert f"  {report}; tables {tmp_path}/*.parquet" in "\n".join(lines)
    assert "charts" not in "\n".join(lines)
    (tmp_path / "report.html").write_text("<html></html>")
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "rq1.png").write_bytes(b"png")
    lines = summarise(tmp_path).splitlines()
    assert any(line.startswith(f"  report {tmp_path}/report.html; tables") for line in lines)
    assert any(line.endswith(f"; charts {tmp_path}/charts/") for line in lines)


def test_summary_before_any_table_says_how_to_resume(tmp_path):
    assert "`make run` again resumes it" in summarise(tmp_path)
