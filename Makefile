# Thin wrappers over scripts/ (the README's commands call the scripts directly).
.PHONY: run test

run:
	./scripts/run.sh

test:
	./scripts/test.sh $(PYTEST_ARGS)
