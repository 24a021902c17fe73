# Swiftlet build, demo and tests. `make demo` and `make test` install what is
# missing (apt, the private jemalloc, PyPI test packages, the model) first.
#
# Outputs land in build/: lib/libswiftlet.so, bin/swiftlet (the CLI),
# bin/generate, bin/chat, bin/json_reply, bin/dlopen_host (the C examples),
# bin/swiftlet-kernel-bench (each kernel timed alone), and test-bin/
# (drivers the Python tests use to reach engine pieces the C API does not).

SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/swiftlet
export SWIFTLET_CACHE := $(CACHE)
# Renamed whenever scripts/build-jemalloc.sh's configure options change, so a
# stale cached build is never linked.
export SWIFTLET_JEMALLOC_PREFIX := $(CACHE)/jemalloc-5.3.0-noretain
JEMALLOC := $(SWIFTLET_JEMALLOC_PREFIX)/lib/libjemalloc_pic.a
BUILD := build
CC ?= cc

# Release build; the Swift runtime linked statically; the private jemalloc
# linked in; only the header's functions exported (build/swiftlet.map).
SWIFT_BUILD_FLAGS := -c release \
	-Xswiftc -static-stdlib \
	-Xcc -DSWIFTLET_JEMALLOC \
	-Xlinker $(JEMALLOC) \
	-Xlinker --version-script=$(CURDIR)/$(BUILD)/swiftlet.map \
	-Xlinker --gc-sections -Xlinker -s

EXAMPLES := generate chat dlopen_host
PROMPT ?= Write a haiku about a small fast bird.

.PHONY: all deps build examples csharp model demo test test-long bench bench-kernels clean
.PHONY: fuzz test-asan test-tsan test-cpus test-llamacpp

all: build examples

deps:
	@scripts/install-deps.sh

$(BUILD)/swiftlet.map: include/swiftlet.h
	@mkdir -p $(BUILD)
	@scripts/export-map.sh include/swiftlet.h > $@

# Outputs replace the old files (a new inode) rather than overwrite them, so a
# process still running the previous library or binary is not corrupted.
INSTALL_OUTPUT := cp --remove-destination

build: deps $(BUILD)/swiftlet.map
	swift build $(SWIFT_BUILD_FLAGS)
	@mkdir -p $(BUILD)/lib $(BUILD)/bin $(BUILD)/test-bin
	@bin="$$(swift build $(SWIFT_BUILD_FLAGS) --show-bin-path)" && \
	$(INSTALL_OUTPUT) "$$bin/libswiftlet.so" $(BUILD)/lib/ && \
	$(INSTALL_OUTPUT) "$$bin/swiftlet-cli" $(BUILD)/bin/swiftlet && \
	$(INSTALL_OUTPUT) "$$bin/KernelBench" $(BUILD)/bin/swiftlet-kernel-bench && \
	$(INSTALL_OUTPUT) "$$bin/GGUFInspect" $(BUILD)/test-bin/gguf-inspect && \
	$(INSTALL_OUTPUT) "$$bin/SafeTensorsInspect" $(BUILD)/test-bin/safetensors-inspect && \
	$(INSTALL_OUTPUT) "$$bin/TokenizerCheck" $(BUILD)/test-bin/tokenizer-check && \
	$(INSTALL_OUTPUT) "$$bin/ChatTemplateCheck" $(BUILD)/test-bin/chat-template-check && \
	$(INSTALL_OUTPUT) "$$bin/KernelCheck" $(BUILD)/test-bin/kernel-check

# The examples are built exactly as a user builds them against an installed library.
examples: build
	$(CC) -std=c99 -Wall -Wextra -O2 -I include bindings/c/examples/generate.c -L $(BUILD)/lib -lswiftlet -Wl,-rpath,'$$ORIGIN/../lib' -o $(BUILD)/bin/generate
	$(CC) -std=c99 -Wall -Wextra -O2 -I include bindings/c/examples/chat.c -L $(BUILD)/lib -lswiftlet -Wl,-rpath,'$$ORIGIN/../lib' -o $(BUILD)/bin/chat
	$(CC) -std=c99 -Wall -Wextra -O2 -I include bindings/c/examples/json_reply.c -L $(BUILD)/lib -lswiftlet -Wl,-rpath,'$$ORIGIN/../lib' -o $(BUILD)/bin/json_reply
	$(CC) -std=c99 -Wall -Wextra -O2 -I include bindings/c/examples/dlopen_host.c -ldl -o $(BUILD)/bin/dlopen_host
	@mkdir -p $(BUILD)/test-bin
	$(CC) -std=c99 -Wall -Wextra -Werror -O1 -g -I include Tests/c/misuse.c -L $(BUILD)/lib -lswiftlet -lpthread -Wl,-rpath,'$$ORIGIN/../lib' -o $(BUILD)/test-bin/misuse

# The C# binding (bindings/csharp) with Mono's compiler: Swiftlet.dll, the
# Generate.exe example and the binding's tests, beside a copy of the library
# (DllImport("swiftlet") finds libswiftlet.so next to the assemblies).
CSHARP := $(BUILD)/csharp
MCS := mcs -warnaserror -nologo
csharp: build
	@mkdir -p $(CSHARP)
	$(MCS) -target:library -out:$(CSHARP)/Swiftlet.dll bindings/csharp/src/*.cs
	$(MCS) -out:$(CSHARP)/Generate.exe -r:$(CSHARP)/Swiftlet.dll bindings/csharp/examples/Generate.cs
	$(MCS) -out:$(CSHARP)/SwiftletTests.exe -r:$(CSHARP)/Swiftlet.dll bindings/csharp/tests/BindingTests.cs
	@cp $(BUILD)/lib/libswiftlet.so $(CSHARP)/

model: deps
	@scripts/fetch-model.sh >/dev/null
	@scripts/fetch-gemma3.sh >/dev/null
	@scripts/fetch-minilm.sh >/dev/null

# `make demo MODEL=gemma3` (Gemma 3 270M, a base model: it continues the
# prompt), MODEL=smollm2 (the default) or MODEL=path/to/file.gguf.
MODEL ?= smollm2
demo: examples model
	@case "$(MODEL)" in \
		smollm2) model="$$(scripts/fetch-model.sh)" ;; \
		gemma3) model="$$(scripts/fetch-gemma3.sh)" ;; \
		*) model="$(MODEL)" ;; \
	esac && $(BUILD)/bin/generate "$$model" "$(PROMPT)"

test: examples csharp model
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" SWIFTLET_MODEL_GEMMA3="$$(scripts/fetch-gemma3.sh)" SWIFTLET_MODEL_MINILM="$$(scripts/fetch-minilm.sh)" \
		scripts/run-tests.sh

# Swiftlet against llama.cpp's goldens, with llama.cpp's own quantizer making
# the k-quant / IQ4 files (Tests/python/test_llamacpp_quant_types.py; `make test`
# runs it too, but skips what needs the venv when the venv is missing): builds
# the cached llama-cpp-python venv first if missing (scripts/llama-venv.sh,
# ~12 minutes once), then runs that test, test_llamacpp_agreement.py and
# test_llamacpp_lora.py (a LoRA adapter, llama.cpp run live).
test-llamacpp: build model
	@scripts/llama-venv.sh >/dev/null
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" python3 -m pytest -q \
		Tests/python/test_llamacpp_quant_types.py Tests/python/test_llamacpp_agreement.py \
		Tests/python/test_llamacpp_lora.py

# The checks too slow for `make test` (Tests/long): 10,000 tokens generated
# through a 512-token context that shifts, in flat memory.
test-long: build model
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" python3 -m pytest -q Tests/long

# Swiftlet and llama.cpp side by side (not part of `make test`): installs
# llama-cpp-python into a cached venv outside the repo on first use.
# Each kernel alone (a few seconds), then both engines side by side, then the
# grammar row (bench-grammar below; BENCH_GRAMMAR_ARGS applies there too).
bench: build model
	$(BUILD)/bin/swiftlet-kernel-bench
	scripts/bench.sh

bench-kernels: build
	$(BUILD)/bin/swiftlet-kernel-bench

# JSON-schema-constrained generation on SmolLM2 at 2 threads: Swiftlet's
# grammar sampler vs llama.cpp's (llama-cpp-python) on the same GBNF
# (bench/bench_grammar.py; `make bench` runs it too, after bench.py).
# `make bench-grammar BENCH_GRAMMAR_ARGS="--runs 5"` passes arguments on.
BENCH_GRAMMAR_ARGS ?=
export BENCH_GRAMMAR_ARGS
.PHONY: bench-grammar
bench-grammar: build
	@python="$$(scripts/llama-venv.sh)" && \
	"$$python" bench/bench_grammar.py --model "$$(scripts/fetch-model.sh)" --llama-python "$$python" $(BENCH_GRAMMAR_ARGS)

# What observers and LoRA adapters cost: SmolLM2 prompt and generation speed
# with none, with an observer, with a rank-8 adapter, as ratios to none in the
# same command (bench/bench_hooks.py; `make bench` runs it too, last).
# `make bench-hooks BENCH_HOOKS_ARGS="--baseline-lib OLD.so"` adds a build without them.
BENCH_HOOKS_ARGS ?=
export BENCH_HOOKS_ARGS
.PHONY: bench-hooks
bench-hooks: build model
	@python3 bench/bench_hooks.py --model "$$(scripts/fetch-model.sh)" $(BENCH_HOOKS_ARGS)

# Sentence embeddings (all-MiniLM-L6-v2): Swiftlet vs sentence-transformers vs
# llama.cpp, 256 short sentences at 1 and 2 threads (bench/bench_embed.py).
# Installs the cached st-venv (scripts/st-venv.sh, torch, several GB, once) and
# llama-venv; converts the folder to $(EMBED_GGUF) for llama.cpp with
# `swiftlet convert` (every run: a second, and never a stale file).
# `make bench-embed BENCH_EMBED_ARGS="--runs 5"` passes arguments on.
EMBED_GGUF ?= $(CACHE)/models/all-MiniLM-L6-v2.f32.gguf
BENCH_EMBED_ARGS ?=
.PHONY: bench-embed
bench-embed: build model
	@scripts/st-venv.sh >/dev/null
	@scripts/llama-venv.sh >/dev/null
	@folder="$$(scripts/fetch-minilm.sh)" && \
	$(BUILD)/bin/swiftlet convert "$$folder" "$(EMBED_GGUF)" && \
	SWIFTLET_MODEL_MINILM="$$folder" python3 bench/bench_embed.py --folder "$$folder" --gguf "$(EMBED_GGUF)" $(BENCH_EMBED_ARGS)

# Hardening (README "Hardening"): each builds its own instrumented library in
# .build-fuzz, .build-asan or .build-tsan (scripts/build-sanitized.sh).
# `make fuzz FUZZ_SECONDS=600` fuzzes each target that long (make test: 25 s).
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

test-asan: model
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" SWIFTLET_MODEL_GEMMA3="$$(scripts/fetch-gemma3.sh)" SWIFTLET_MODEL_MINILM="$$(scripts/fetch-minilm.sh)" \
		scripts/test-asan.sh

test-tsan: model
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" scripts/test-tsan.sh

test-cpus: examples model
	SWIFTLET_MODEL_Q4_1="$$(scripts/fetch-model.sh)" scripts/test-cpus.sh

clean:
	rm -rf $(BUILD) .build .build-fuzz .build-asan .build-tsan
