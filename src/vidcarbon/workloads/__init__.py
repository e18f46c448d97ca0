"""The three measured workloads, video, image and text, each in the same shape:

- `spec`: what a job is asked (its identity, as its record and row name it; the models it
  may use) and where its records live;
- `jobs`: the Snakemake side, called by the rule scripts; hands measured work to a child
  process (`vidcarbon.process.isolation`) and never imports torch;
- `measured`: the child side, the job's body under the meter (`vidcarbon.workloads.measured`
  holds what the three share);
- `table`: from records to the rows of the workload's table (`vidcarbon.workloads.rows`
  holds the column groups every measured row shares).
"""
