# Developer entry points. The README's two commands (scripts/demo.sh, scripts/test.sh) install
# dependencies first and then call `make demo` / `make test`.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 300

.PHONY: all deps build release test test-debug test-sanitized asan fuzz bench kms-soak demo demo-attestation format clean

all: build

deps:
	bash scripts/install-deps.sh

build:
	cmake --preset debug
	cmake --build --preset debug -j $(JOBS)

release:
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

test: test-debug test-sanitized

test-debug: build
	ctest --preset debug -j $(JOBS)

# clang + ASan + UBSan: all unit tests again, plus a short smoke run of every fuzz target.
test-sanitized:
	@if command -v clang++ >/dev/null 2>&1; then \
	  cmake --preset fuzz && cmake --build --preset fuzz -j $(JOBS) && \
	  ctest --preset fuzz -j $(JOBS); \
	else \
	  echo "SKIP: clang++ not found; sanitized tests and fuzz smoke runs did not run"; \
	fi

# gcc ASan+UBSan build of the unit tests.
asan:
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# Longer fuzzing: each target for FUZZ_SECONDS (default 300) on a copy of its corpus.
fuzz:
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS)
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench: release
	bash scripts/bench.sh

# Crash soak of the KMS: KMS_SOAK_KILLS (default 500) SIGKILLs under load, state and audit log
# checked after every restart.
kms-soak: release
	cmake --build --preset release -j $(JOBS) --target kms_crash_test
	bash scripts/kms-soak.sh $(or $(KMS_SOAK_KILLS),500) build/release

# The sealed question demo. MODEL=path.gguf picks another model, PROMPT="..." another question.
demo: build
	bash scripts/demo-run.sh build/debug $(if $(MODEL),--model "$(MODEL)") $(if $(PROMPT),--prompt "$(PROMPT)")

# The attestation round trip alone (no enclave process, no KMS).
demo-attestation: build
	bash scripts/demo-attestation.sh build/debug

format:
	find src apps bench fuzz tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build
