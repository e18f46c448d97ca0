"""Planning time of a paper-sized grid: `snakemake -n` on a base git ref and the working tree.

Usage: python benchmarks/planning.py [--base REF] [--repeats 1] [--cells 10000] [--keep]
       python benchmarks/planning.py --profile OUT.prof --cells 2000

The grid: 10 prompts x steps 2..20 by 2 x 144p..720p x 0.5..2.5 s by 0.5 (8 fps: 4..20
frames) x 4 seeds = 10,000 cells (`--cells 2000`: 2 prompts), the default config otherwise.
Each side (`git archive REF` for the base; the working tree's tracked and untracked,
non-ignored files) gets a temporary copy with that config, run with this interpreter's venv
and that copy's `src/` first on PYTHONPATH. Per side and repeat, base and tree interleaved:

- `snakemake -n --quiet` (the quiet dry run) and `snakemake -n` (printing every job);
- after faking every job's outputs as done (empty files, each rule's newer than those of
  the rules it reads from, by `--rulegraph`): the no-op dry run, which plans the whole DAG
  and finds nothing to do.

Each line gives wall seconds, user+system CPU seconds and peak RSS of the Snakemake process
(`os.wait4`), and the job count from Snakemake's 'Job stats'. `--profile` runs the tree's
quiet dry run in-process under cProfile instead and writes the profile.
"""

from __future__ import annotations

import argparse
import contextlib
import graphlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from default_run import checkout  # benchmarks/ is this script's folder

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SUBJECTS = (
    "a red kite over a hillside",
    "steam over a bowl of noodles",
    "a tram crossing a rainy square",
    "waves on a basalt beach",
    "a cat asleep on a windowsill",
    "snow falling on a pine forest",
    "a cyclist on a mountain road",
    "lanterns drifting on a river",
    "a potter shaping clay",
    "a lighthouse in a storm",
)


def grid_config(cells: int) -> tuple[dict, list[str]]:
    """The default config with the study grid and no levers; (config, prompt lines) for `cells`
    cells."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    per_prompt = 10 * 5 * 5 * 4
    if cells % per_prompt:
        raise SystemExit(f"--cells {cells}: must be a multiple of {per_prompt}")
    prompts = [f"{s.capitalize()}, filmed at dusk." for s in SUBJECTS[: cells // per_prompt]]
    config["prompts"] = "config/prompts/planning.txt"
    config["study"] = f"planning-{cells}"
    config["grid"] = {
        "steps": list(range(2, 21, 2)),
        "resolutions": ["144p", "240p", "360p", "480p", "720p"],
        "durations_s": [0.5, 1.0, 1.5, 2.0, 2.5],
        "seeds": [0, 1, 2, 3],
    }
    config.pop("levers", None)  # a grid of baseline cells: the default's levers are on its grid
    return config, prompts


def prepare(ref: str | None, root: Path, cells: int) -> Path:
    dest = root / (ref or "tree").replace("/", "_")
    checkout(ref, dest)
    config, prompts = grid_config(cells)
    (dest / "config" / "prompts" / "planning.txt").write_text("\n".join(prompts) + "\n")
    (dest / "config" / "planning.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def snakemake(dest: Path, *args: str) -> dict:
    """Run Snakemake in `dest` on the planning config; wall, CPU, peak RSS, jobs planned."""
    env = {**os.environ, "PYTHONPATH": str(dest / "src")}
    cmd = [SNAKEMAKE, "--cores", "2", "--configfile", "config/planning.yaml", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {dest}:\n{out[-3000:]}")
    stats = re.search(r"^total\s+(\d+)", out, re.M)
    return {
        "wall_s": wall_s,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "jobs": int(stats[1]) if stats else 0,
        "lines": out.count("\n"),
        "out": out,
    }


def rule_order(dest: Path) -> list[str]:
    """The rules in an order in which each follows the rules it reads from (`--rulegraph`)."""
    dot = snakemake(dest, "--rulegraph")["out"]
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, re.M))
    graph = {name: set() for name in names.values()}
    for source, target in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M):
        graph[names[target]].add(names[source])
    return list(graphlib.TopologicalSorter(graph).static_order())


def fake_done(dest: Path, dry_run: str) -> int:
    """Create every output a dry run lists, empty, each rule's outputs newer than those of
    the rules it reads from; the number of files."""
    rank = {rule: i for i, rule in enumerate(rule_order(dest))}
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:.*\n)*?\s+output: (.+)$", dry_run, re.M)
    start_ns = time.time_ns()  # after the checkout: newer than every config file
    count = 0
    for rule, outputs in jobs:
        for name in outputs.split(", "):
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            os.utime(path, ns=(start_ns + rank[rule] * 10**9,) * 2)
            count += 1
    return count


def show(side: str, what: str, r: dict) -> None:
    print(
        f"{side:>8} {what:<22} wall {r['wall_s']:6.1f} s  cpu {r['cpu_s']:6.1f} s  "
        f"peak RSS {r['peak_rss_mb']:5.0f} MB  jobs {r['jobs']:6d}  output lines {r['lines']}"
        + ("  (nothing to be done)" if "Nothing to be done" in r["out"] else ""),
        flush=True,
    )


def profile(dest: Path, out: str) -> None:
    """The tree's quiet dry run in this process under cProfile."""
    import cProfile

    from snakemake.cli import main

    os.chdir(dest)
    sys.path.insert(0, str(dest / "src"))
    argv = ["--cores", "2", "--configfile", "config/planning.yaml", "-n", "--quiet"]
    cProfile.runctx("main(argv)", globals(), {"main": main, "argv": argv}, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git ref to compare with (e.g. 74a4e15)")
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary checkouts")
    parser.add_argument("--profile", metavar="OUT", help="cProfile the tree's quiet dry run")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="vidcarbon-planning-"))
    try:
        tree = prepare(None, root, args.cells)
        if args.profile:
            with contextlib.suppress(SystemExit):  # Snakemake's main exits
                profile(tree, str(Path(args.profile).resolve()))
            return
        sides = {"tree": tree}
        if args.base:
            sides = {"base": prepare(args.base, root, args.cells), **sides}
        print(f"{args.cells} cells; load average before: {Path('/proc/loadavg').read_text()}")
        for _ in range(args.repeats):
            for side, dest in sides.items():
                show(side, "snakemake -n --quiet", snakemake(dest, "-n", "--quiet"))
                show(side, "snakemake -n", snakemake(dest, "-n"))
        for side, dest in sides.items():
            fake_done(dest, snakemake(dest, "-n")["out"])
            show(side, "no-op -n --quiet", snakemake(dest, "-n", "--quiet"))
        print(f"load average after: {Path('/proc/loadavg').read_text()}")
    finally:
        if args.keep:
            print(f"checkouts kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
