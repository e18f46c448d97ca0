from vidcarbon.logs import logged
from vidcarbon.workloads.text import jobs

wc = snakemake.wildcards
with logged(snakemake.log[0]):
    jobs.llm_request(
        llm=wc.llm,
        dataset=wc.dataset,
        shard=int(wc.shard),
        shards=snakemake.params.shards,
        spec=snakemake.params.spec,
        prompts_path=snakemake.input.prompts,
        targets_tokens={wc.dataset: snakemake.params.target_tokens},
        cap_tokens=snakemake.params.cap_tokens,
        batch_size=snakemake.params.batch_size,
        warmup_tokens=snakemake.params.warmup_tokens,
        measurement=dict(snakemake.params.measurement, threads=snakemake.threads),
        record_path=snakemake.output.record,
        log_path=snakemake.log[0],
        attempt=snakemake.resources.attempt,
    )
