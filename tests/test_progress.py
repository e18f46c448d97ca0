"""`make run` condenses Snakemake's five lines per job into one progress line."""

import io

from vidcarbon.progress import condense

PROFILE_LINE = (
    "Using workflow specific profile profiles/default for setting default command line arguments."
)
SNAKEMAKE_OUTPUT = f"""{PROFILE_LINE}
vidcarbon: study 'cpu-toy' (hash b70fec439307f4e4) from config/config.yaml
Assuming unrestricted shared filesystem usage.
Building DAG of jobs...
Using shell: /usr/bin/bash
Provided cores: 2
Rules claiming more threads will be scaled down.
Job stats:
job         count
--------  -------
generate       20
collect         1
all             1
total          22

Select jobs to execute...
Execute 2 jobs...
[Sun Nov 29 19:37:11 2026]
Finished jobid: 3 (Rule: generate)
1 of 22 steps (5%) done
Select jobs to execute...
[Sun Nov 29 19:37:12 2026]
Finished jobid: 4 (Rule: generate)
2 of 22 steps (9%) done
[Sun Nov 29 19:37:13 2026]
Finished jobid: 5 (Rule: generate)
3 of 22 steps (14%) done
RuleException:
CalledProcessError in file "workflow/rules/collect.smk", line 5:
Complete log(s): .snakemake/log/2026-11-29T193711.snakemake.log
Adding rq2_video_vs_text.png (1.07 MB).
Adding findings.md (2.61 KB).
Report created.
"""


def test_condensed_output_keeps_what_matters():
    out = io.StringIO()
    condense(io.StringIO(SNAKEMAKE_OUTPUT), out, tty=False)
    assert out.getvalue().splitlines() == [
        PROFILE_LINE,
        "vidcarbon: study 'cpu-toy' (hash b70fec439307f4e4) from config/config.yaml",
        "vidcarbon: 22 jobs to run: 20 generate, 1 collect",
        "vidcarbon: 1 of 22 jobs done (5 %); generate 1 of 20",
        "vidcarbon: 3 of 22 jobs done (14 %); generate 3 of 20",  # every 10 % off a terminal
        "RuleException:",
        'CalledProcessError in file "workflow/rules/collect.smk", line 5:',
        "Complete log(s): .snakemake/log/2026-11-29T193711.snakemake.log",
        "Report created.",
    ]


def test_on_a_terminal_progress_rewrites_one_line_and_a_second_call_drops_the_banner():
    out = io.StringIO()
    condense(io.StringIO(SNAKEMAKE_OUTPUT), out, tty=True, banner=False)
    text = out.getvalue()
    assert "vidcarbon: study" not in text and "Using workflow specific profile" not in text
    assert text.count("\r\033[K") == 3
    assert "\r\033[Kvidcarbon: 3 of 22 jobs done (14 %); generate 3 of 20\nRuleException:" in text
