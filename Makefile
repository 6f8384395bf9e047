# The two commands a newcomer needs:  `make lab`  and  `make test`.
# Both create .venv if missing, install the pinned environment (pyproject.toml [dev]) and the course kernel.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := image-gen-course
JOBS   ?= 2

.PHONY: setup lab test notebooks benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 needed, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (image-gen course)"
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab notebooks/

test: setup
	COURSE_FAST=1 COURSE_STRICT=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile -q

notebooks: setup
	$(BIN)/python -m course_lib.release

benchmark: setup
	$(BIN)/python -m course_lib.benchmark

clean:
	rm -rf $(VENV)
