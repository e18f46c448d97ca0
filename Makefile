# vidcarbon: `make run` runs the default pipeline on this CPU; `make test` runs every check.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
SHELL := /bin/bash

.PHONY: install run unlock summary test test-fast lint pytest dryrun clean readme-images quality-env \
	test-quality gpu-check gpu-check-preflight gpu-check-cpu gpu-check-wheels

# PyPI's torch wheel for Linux is the CUDA build (with about 3 GB of nvidia-* wheels). On a
# Linux machine without an NVIDIA driver, PyTorch's CPU index is added when it answers within
# 5 s, so pip takes torch 2.13.0+cpu (about 190 MB) from it; a machine that cannot reach it
# installs what its pip finds (a local CPU wheel, or PyPI's). Override: TORCH_INDEX= (none) or
# TORCH_INDEX=<url>.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(shell [ "$$(uname -s)" = Linux ] && [ ! -e /proc/driver/nvidia ] \
	&& ! command -v nvidia-smi >/dev/null 2>&1 \
	&& python3 -c "import urllib.request as u; u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=5)" \
	2>/dev/null && echo $(TORCH_CPU_INDEX))

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@index="$(TORCH_INDEX)"; \
	echo "installing vidcarbon and its dependencies pinned in constraints.txt$${index:+, torch from $$index}"; \
	$(BIN)/python -m pip install --quiet -c constraints.txt $${index:+--extra-index-url "$$index"} -e '.[test]'
	touch $@

install: $(STAMP)

# The console gets what vidcarbon's logger plugin prints (profiles/default sets it: the planned
# jobs, a progress line, failed cells, anything unusual, the summary), then the report;
# Snakemake's job-by-job log goes to .snakemake/log/. A lock left by a killed run is removed
# first, when no Snakemake runs in this directory (`make unlock` alone does only that).
run: $(STAMP)
	@vidcarbon unlock --quiet
	@snakemake --cores all --report results/report.html --report-after-run || { status=$$?; \
	  echo "vidcarbon: the run stopped (the error is above); fix it and \`make run\` again:" \
	    "completed jobs are kept"; exit $$status; }

unlock: $(STAMP)
	@vidcarbon unlock

summary: $(STAMP)
	vidcarbon summary

dryrun: $(STAMP)
	snakemake -n

lint: $(STAMP)
	ruff check .
	ruff format --check .
	snakefmt --check Snakefile workflow
	snakemake --lint

pytest: $(STAMP)
	pytest -ra

test: lint pytest

# For everyday work: lint, every test that is not end-to-end, and one end-to-end run of the
# default pipeline with its incremental reruns. `make test` (CI) runs everything.
test-fast: lint
	pytest -ra -m "not e2e" tests
	pytest -ra tests/e2e/test_pipeline.py -k end_to_end

# Charts shown in the README, regenerated from a fresh default run.
readme-images: run
	mkdir -p docs/img
	cp results/charts/rq1_energy_sources.png results/charts/rq3_phase_shares.png \
	   results/charts/power_trace.png docs/img/

clean:
	rm -rf results logs .snakemake

# VBench (imaging_quality/MUSIQ, overall_consistency/ViCLIP) pins transformers/numpy versions that
# clash with ours, so it lives in its own venv. --isolated skips PIP_FIND_LINKS, which would pick the
# local CPU torch wheel; the PyPI (CUDA) torch + torchvision pair runs on CPU too. About 5 GB.
QVENV ?= .venv-quality
QSTAMP := $(QVENV)/.installed-stamp

$(QSTAMP): envs/quality-requirements.txt envs/quality-constraints.txt
	python3 -m venv $(QVENV)
	$(QVENV)/bin/python -m pip install --isolated --quiet --upgrade pip
	$(QVENV)/bin/python -m pip install --isolated --quiet \
		-c envs/quality-constraints.txt -r envs/quality-requirements.txt
	$(QVENV)/bin/python -m pip install --isolated --quiet --no-deps vbench==0.1.5
	touch $@

quality-env: $(QSTAMP)

# VBench tests with random placeholder weights (not part of `make test`: see docs/quality.md).
test-quality: $(STAMP) $(QSTAMP)
	VIDCARBON_QUALITY_PYTHON=$(abspath $(QVENV))/bin/python pytest -ra -m vbench tests/quality

# The GPU check (docs/benchmarks.md): a 60 s pre-flight, then the real pipeline on one CUDA GPU
# in at most 7.5 minutes; exit 0 when every required part came back. On a GPU machine without
# network it needs no venv, only the wheels of gpu-check-wheels in .whl/.
GPU_CHECK_OUT ?= gpu-check

gpu-check:
	bash benchmarks/gpu_check.sh --out $(GPU_CHECK_OUT)

gpu-check-preflight:
	bash benchmarks/gpu_check.sh --preflight --out $(GPU_CHECK_OUT)

gpu-check-cpu: $(STAMP)
	bash benchmarks/gpu_check.sh --cpu --out $(GPU_CHECK_OUT)

gpu-check-wheels: $(STAMP)
	bash benchmarks/gpu_check_wheels.sh
