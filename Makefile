# corpusprep build. `make` builds the CLI; `make test`, `make demo`, `make bench`, `make asan` as in README.
# Every src/*.c and src/*.cc (but main.c and the MPI module) goes into build/libcorpusprep.a; every
# tests/test_*.c becomes one cmocka executable. WERROR=1 (set by CI) turns warnings into errors.
# ISAL=0 builds the gzip reader on zlib alone (the portable path) instead of ISA-L's igzip; `make test-zlib`
# runs the reader, CLI and WARC tests on that build, in build-zlib/.

CC       ?= gcc
CXX      ?= g++
BUILD    ?= build
OPT      ?= -O2 -g
PREFIX   ?= /usr/local
WERROR   ?=
WARN      = -Wall -Wextra $(if $(WERROR),-Werror)
OMP      ?= -fopenmp
ISAL     ?= 1
CPPFLAGS += -Iinclude -MMD -MP -D_GNU_SOURCE $(if $(filter 1,$(ISAL)),-DCP_HAVE_ISAL)
CFLAGS   += -std=c11 $(OPT) $(WARN) $(OMP) $(SAN)
CXXFLAGS += -std=c++14 $(OPT) $(WARN) $(SAN)
# The full CLD2 tables live in libcld2_full, which nothing references by symbol: keep it linked.
LDLIBS   += $(if $(filter 1,$(ISAL)),-lisal) -ljansson -ldeflate -lz -lzstd -lxxhash -lutf8proc -Wl,--no-as-needed \
            -lcld2_full -lcld2 -Wl,--as-needed -lfasttext -lstdc++ -lm -lpthread
LDFLAGS  += $(OMP) $(SAN)

DEB_BUILD = gcc g++ make pkg-config libjansson-dev zlib1g-dev libzstd-dev libxxhash-dev libutf8proc-dev \
            libcld2-dev libfasttext-dev libcmocka-dev libdeflate-dev $(if $(filter 1,$(ISAL)),libisal-dev)
DEB_RUN   = gzip zstd python3 fasttext wamerican wdutch wngerman wfrench wspanish witalian wportuguese
DEB_BENCH = python3-langdetect time
# the report's tests render report.html in headless Chromium and check it with tidy (tests/report/check_html.py)
DEB_TEST  = chromium tidy
DEB_ALL   = $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST)

LIB_C    = $(filter-out src/main.c src/mpi_%.c,$(wildcard src/*.c))
LIB_CC   = $(wildcard src/*.cc)
CONFIGS  = $(shell find configs -type f \( -name '*.json' -o -name '*.txt' \) | LC_ALL=C sort)
LIB_OBJ  = $(LIB_C:src/%.c=$(BUILD)/obj/%.o) $(LIB_CC:src/%.cc=$(BUILD)/obj/%.o) $(BUILD)/obj/configs_embed.o
LIB      = $(BUILD)/libcorpusprep.a
BIN      = $(BUILD)/corpusprep
# Each fuzz harness also runs without libFuzzer: replay_<h> feeds it tests/fuzz/regress/<h>/ (see fuzz below).
FUZZ_HARNESSES = record reader config json keys warc dolma
REPLAYS  = $(FUZZ_HARNESSES:%=$(BUILD)/replay_%)
TESTS    = $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/test_*.c)) $(REPLAYS)

.PHONY: all deps test test-zlib unit e2e demo bench bench-patho asan install clean sample model
all: $(BIN)

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: src/%.cc | $(BUILD)/obj
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@
$(BUILD)/obj:
	mkdir -p $@
# configs/ is compiled into the library: the built-in defaults and presets are the files themselves.
$(BUILD)/gen/configs_embed.c: configs/embed.sh $(CONFIGS)
	mkdir -p $(BUILD)/gen && sh configs/embed.sh $@
$(BUILD)/obj/configs_embed.o: $(BUILD)/gen/configs_embed.c | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BIN): $(BUILD)/obj/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/test_%: tests/test_%.c tests/cli_util.c tests/cli_util.h $(LIB) | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests $< tests/cli_util.c $(LIB) $(LDFLAGS) -lcmocka $(LDLIBS) -o $@

# Installs what is missing with apt-get when root; otherwise prints the command to run.
deps:
	@missing=$$(for p in $(DEB_ALL) $(EXTRA_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	  grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing: $$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null \
	    || { echo "apt-get install failed for: $$missing" >&2; exit 1; }; \
	  else echo "missing Debian packages; run as root:" >&2; \
	    echo "  apt-get install -y $$missing" >&2; exit 1; fi; fi

test: deps
	@$(MAKE) --no-print-directory model || echo "warning: no fastText model ($(LID176)); its tests will be skipped" >&2
	$(MAKE) --no-print-directory $(BIN) $(TESTS) $(BUILD)/bench_stages $(BUILD)/bench_minhash # the benches compile
	BUILD=$(BUILD) CP_LID_MODEL=$(LID176) sh tests/run.sh $(TESTS)

# The gzip reader's portable zlib path: the tests that read gzip, on an ISAL=0 build of their own.
ZLIB_TESTS = build-zlib/test_reader build-zlib/test_cli build-zlib/test_warc build-zlib/test_split
test-zlib: deps
	$(MAKE) --no-print-directory BUILD=build-zlib ISAL=0 build-zlib/corpusprep $(ZLIB_TESTS)
	BUILD=build-zlib sh tests/run.sh $(ZLIB_TESTS)

asan: deps
	$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

sample: deps $(BIN)
	@python3 bench/make_sample.py $(BUILD)/sample

demo: deps
	$(MAKE) --no-print-directory $(BIN) sample
	rm -rf $(BUILD)/demo-out
	$(BIN) -o $(BUILD)/demo-out --keep-rejected $(BUILD)/sample
	@echo "demo output in $(BUILD)/demo-out (stats: $(BUILD)/demo-out/stats.json, report: $(BUILD)/demo-out/report.html)"

bench: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_BENCH)" deps $(BIN) $(BUILD)/bench_stages $(BUILD)/bench_minhash \
	  $(if $(filter 1,$(ISAL)),$(BUILD)/bench_gzip)
	BUILD=$(BUILD) sh bench/run.sh
	BUILD=$(BUILD) sh bench/checkpoint.sh

# Pathological but legal inputs at two sizes each (issue 11): time should grow linearly with size.
bench-patho: deps $(BIN)
	python3 bench/patho.py $(BIN) $(BUILD)/bench-patho $(if $(PATHO_SCALE),--scale $(PATHO_SCALE))

# The fastText language-ID model the tests and bench_langid use: lid.176.ftz (917 KB, CC BY-SA 3.0, from
# fasttext.cc), as shipped inside the npm package fasttext.wasm.js 1.0.0, fetched with `npm pack` and checked
# against its SHA-256. Never fetched at run time; never committed. MODELS is shared by build and build-asan.
MODELS   ?= build/models
LID176    = $(MODELS)/lid.176.ftz
LID176_PKG = fasttext.wasm.js@1.0.0
LID176_IN  = package/dist/models/language-identification/assets/lid.176.ftz
LID176_SHA = 8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83
DEB_MODEL  = npm
model: $(LID176)
$(LID176):
	@command -v npm >/dev/null || $(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_MODEL)" deps
	rm -rf $(MODELS)/fetch && mkdir -p $(MODELS)/fetch
	cd $(MODELS)/fetch && npm pack --silent $(LID176_PKG) >/dev/null
	tar -xzf $(MODELS)/fetch/fasttext.wasm.js-1.0.0.tgz -C $(MODELS)/fetch $(LID176_IN)
	echo "$(LID176_SHA)  $(MODELS)/fetch/$(LID176_IN)" | sha256sum -c --quiet
	mv $(MODELS)/fetch/$(LID176_IN) $@ && rm -rf $(MODELS)/fetch

$(BUILD)/bench_%: bench/bench_%.c $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/corpusprep

clean:
	rm -rf build build-asan build-zlib build-fuzz build-cov

# ---- fuzzing (issue 11) ----
# `make fuzz` builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan + UBSan, into FUZZ_BUILD), builds
# the seed corpora from ../shared and the tests' fixtures, and runs each harness for FUZZ_SECONDS;
# `make fuzz FUZZ_SECONDS=3600` is the campaign. `make fuzz-cov` replays the corpora through a build with
# clang's source coverage and prints llvm-cov's line coverage of src/. The library is built without OpenMP
# there (one document at a time; no libomp needed). Crashes go to FUZZ_BUILD/artifacts/<harness>/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined
DEB_FUZZ      = clang llvm libclang-rt-dev
FUZZ_MAKE     = $(MAKE) --no-print-directory CC=clang CXX=clang++ OMP= OPT="-O1 -g -fno-omit-frame-pointer"
.PHONY: fuzz fuzz-build fuzz-cov fuzz-bins fuzz-campaign
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_HARNESSES)
# The campaign in CPU seconds per harness (FUZZ_CPU_SECONDS, default 3600), resumable: see tests/fuzz/campaign.sh.
fuzz-campaign: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/campaign.sh $(FUZZ_HARNESSES)
fuzz-build: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_FUZZ)" deps
	$(FUZZ_MAKE) BUILD=$(FUZZ_BUILD) SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bins
fuzz-bins: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz_%)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer -fsanitize-link-c++-runtime $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
$(BUILD)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_common.h $(LIB)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/fuzz -DREPLAY_DIR='"tests/fuzz/regress/$*"' $< tests/fuzz/replay.c \
	  $(LIB) $(LDFLAGS) $(LDLIBS) -o $@
fuzz-cov: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_FUZZ)" deps
	$(FUZZ_MAKE) BUILD=build-cov SAN="-fprofile-instr-generate -fcoverage-mapping" $(FUZZ_HARNESSES:%=build-cov/replay_%)
	FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/cov.sh build-cov $(FUZZ_HARNESSES)

# ---- cluster mode (issue 5) ----
# `make MPI=1` also builds $(BUILD)/corpusprep-mpi with the MPI compiler wrapper MPICC (the cluster's own MPI;
# here mpicc.mpich or mpicc.openmpi pick one when both are installed). Only main.c (with -DCP_MPI) and
# src/mpi_*.c see MPI (the cluster run, its exchange, input plan, progress lines and stats); they link the same
# library. MPI_OUT keeps builds against different MPIs apart.
MPICC    ?= mpicc
MPI_OUT  ?= $(BUILD)
MPI_BIN   = $(MPI_OUT)/corpusprep-mpi
MPI_OBJ   = $(addprefix $(MPI_OUT)/obj-mpi/,main.o mpi_cluster.o mpi_exchange.o mpi_plan.o mpi_progress.o \
            mpi_stats.o)
DEB_MPI   = mpich libmpich-dev openmpi-bin libopenmpi-dev
DEB_SLURM = slurmctld slurmd slurm-client munge
ifneq ($(MPI),)
all: $(MPI_BIN)
endif
.PHONY: mpi mpi-both mpi-test slurm-test mpi-bench
mpi: $(MPI_BIN)
$(MPI_OUT)/obj-mpi/%.o: src/%.c
	@mkdir -p $(@D)
	$(MPICC) $(CPPFLAGS) -DCP_MPI $(CFLAGS) -c $< -o $@
$(MPI_BIN): $(MPI_OBJ) $(LIB)
	$(MPICC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Single process against mpirun -n 1, 2, 3 under MPICH and Open MPI, on a corpus with every kind of duplicate.
mpi-test: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_MPI)" deps
	$(MAKE) --no-print-directory mpi-both
	BUILD=$(BUILD) sh tests/mpi/run.sh
# The sbatch examples of configs/slurm/ on a one-node Slurm that the test starts and stops (root only).
slurm-test: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_MPI) $(DEB_SLURM)" deps
	$(MAKE) --no-print-directory mpi-both
	BUILD=$(BUILD) sh tests/mpi/slurm.sh
# The single-process binary and corpusprep-mpi against each of the two MPIs (both installed).
mpi-both: $(BIN)
	$(MAKE) --no-print-directory MPI=1 MPICC=mpicc.mpich MPI_OUT=$(BUILD)/mpich mpi
	$(MAKE) --no-print-directory MPI=1 MPICC=mpicc.openmpi MPI_OUT=$(BUILD)/openmpi mpi
# K = 1, 2, 4 ranks: throughput, bytes exchanged per document, memory per rank.
mpi-bench: deps
	$(MAKE) --no-print-directory EXTRA_DEBS="$(DEB_MPI) time" deps
	$(MAKE) --no-print-directory $(BIN)
	$(MAKE) --no-print-directory MPI=1 MPICC=mpicc.mpich MPI_OUT=$(BUILD)/mpich mpi
	BUILD=$(BUILD) sh bench/mpi_bench.sh

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/*.d $(MPI_OUT)/obj-mpi/*.d)
