# vidcarbon: `make run` runs the default pipeline on this CPU; `make test` runs every check.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install run test lint pytest dryrun clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)

run: $(STAMP)
	snakemake --cores all

dryrun: $(STAMP)
	snakemake -n

lint: $(STAMP)
	ruff check .
	ruff format --check .
	snakefmt --check workflow
	snakemake --lint

pytest: $(STAMP)
	pytest -ra

test: lint pytest

clean:
	rm -rf results logs .snakemake
