# Entry points for developers and CI; docs/setup.md describes them.
#   make test   set up, start the daemons, make the images, run pytest, stop
#               the daemons this run started. PYTEST_ARGS passes options.
#   make demo   set up, start the daemons (left running), make the images,
#               serve the example's git repository on 127.0.0.1 and run
#               `dagger up examples/hello` with it.
SHELL := /bin/bash
PYTEST_ARGS ?=

.PHONY: setup daemons images demo test stop status bench

setup:
	scripts/setup

daemons: setup
	scripts/daemons start

images: daemons
	scripts/images

demo: images
	eval "$$(scripts/daemons env)" && scripts/serve-git sh -c '.venv/bin/dagger up examples/hello --input libRemote="$$ARCHON_GIT_URL"'; \
	status=$$?; \
	echo "make demo: the daemons are still running; stop them with: scripts/daemons stop"; \
	exit $$status

test: setup
	scripts/lib/run-tests $(PYTEST_ARGS)

stop:
	scripts/daemons stop

status:
	scripts/daemons status

bench: images
	eval "$$(scripts/daemons env)" && .venv/bin/python bench/run_benchmark.py $(BENCH_ARGS)
