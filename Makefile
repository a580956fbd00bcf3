# nnfmri — a CNN trainer with built-in imaging.
#
#   make run     installs what is missing, builds, trains the main job
#   make test    installs what is missing, builds, runs the GoogleTest suite, then the page's
#                JavaScript checks (node --check, node --test tests/page/)
#   make bench   Google Benchmark micro-benchmarks + the PyTorch peer comparison + serve's load test
#   make test-serve  `nnfmri serve` in headless Chromium while a short run trains
#   make asan    the test suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang, build/san/)
#   make fuzz    every reader under libFuzzer + ASan + UBSan (clang), FUZZ_SECONDS (60) per harness,
#                FUZZ_JOBS (all cores) harnesses at a time
#   make test-mpi  2-rank training and analyze under mpirun, compared byte for byte with 1 rank
#   make MPI=1   build on Open MPI (the default when mpicxx is present; MPI=0 builds without it)
#
# Layout: nn/ datasets/ imaging/ are compiled into build/libnnfmri.a; apps/ is the
# `nnfmri` command; tests/ and bench/ link the same library (tests also apps/ but main.cpp).
# Objects live in build/.

SHELL := /bin/bash
.DEFAULT_GOAL := all

# ---- Debian packages ---------------------------------------------------------------
# libopenblas-openmp-dev: the OpenMP build of OpenBLAS, so that OpenMP is the single
# owner of threads (a pthread OpenBLAS called inside an OpenMP region oversubscribes).
# nodejs: `make test` checks and unit-tests the report page's JavaScript (report/page/*.js).
# fonts-dejavu-core: DejaVuSans.ttf, the text of every figure (rasterised with libstb's stb_truetype).
# libcpp-httplib-dev: the HTTP server of `nnfmri serve` (cpp-httplib; serve/server.cpp alone includes it).
# libopenmpi-dev openmpi-bin: data-parallel training and distributed imaging under mpirun (dist/).
# python3-numpy: `make test` loads an .npz nnfmri wrote with numpy itself (Npz.NumpyLoadsIt), and
# tests/bad_inputs.sh builds its hostile files with /usr/bin/python3.
PACKAGES := libopenblas-dev libopenblas-openmp-dev libstb-dev libgtest-dev libbenchmark-dev \
            zlib1g-dev dataset-fashion-mnist nlohmann-json3-dev nodejs fonts-dejavu-core libcpp-httplib-dev \
            libopenmpi-dev openmpi-bin python3-numpy
# Only for `make test-report` (report.html in a real browser; pdftotext reads its printout) and
# `make test-serve`, installed by the same deps rule.
BROWSER_PACKAGES := chromium poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BUILD ?= build
CXX ?= g++
BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp
OPT ?= -O3 -march=native
CXXFLAGS := -std=c++17 $(OPT) -fopenmp -Wall -Wextra -MMD -MP -I. -isystem $(BLAS_INC) $(EXTRA_CXXFLAGS)
LDFLAGS := -fopenmp -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) $(EXTRA_LDFLAGS)
LDLIBS := -lopenblas -lstb -lz -lcpp-httplib -lpthread
# Debian's libcpp-httplib.so is built with these (its cpp-httplib.pc): the header must see the same
# class layouts.  Only serve/server.cpp includes httplib.h.
HTTPLIB_DEFINES := -DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT

# OpenBLAS kernels: the rule of app::library_settings (apps/common.cpp; NNFMRI_BLAS_CORETYPE, else the AVX-512 SkylakeX kernels
# when the CPU has them), so that tests and benchmarks run with the kernels nnfmri itself uses.
BLAS_CORE := $(or $(NNFMRI_BLAS_CORETYPE),$(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo && echo SkylakeX))
ifneq ($(BLAS_CORE),)
export OPENBLAS_CORETYPE := $(BLAS_CORE)
endif

LIB_SRC := $(wildcard base/*.cpp nn/*.cpp datasets/*.cpp run/*.cpp imaging/*.cpp report/*.cpp serve/*.cpp)
APP_SRC := $(wildcard apps/*.cpp)
# TEST_SKIP: test folders left out of this tree's suite (make test-isa's trees leave out ISA_TEST_SKIP, below).
TEST_SKIP ?=
TEST_SRC := $(wildcard tests/*.cpp $(filter-out tests/fuzz/% $(addsuffix /%,$(TEST_SKIP)),$(wildcard tests/*/*.cpp)))
BENCH_SRC := $(wildcard bench/*.cpp)

# MPI (README "Beyond one machine (MPI)"): dist/world_mpi.cpp, the only file that includes <mpi.h>,
# is compiled with Open MPI's flags (mpicxx --showme) and linked into nnfmri and the tests; MPI=0
# links dist/world_serial.cpp instead.  Auto-detected: 1 when mpicxx is on the PATH.
MPI ?= $(if $(shell command -v mpicxx 2>/dev/null),1,0)
ifeq ($(MPI),1)
DIST_SRC := dist/world_mpi.cpp
MPI_CXXFLAGS := -DOMPI_SKIP_MPICXX $(shell mpicc --showme:compile 2>/dev/null)
MPI_LDLIBS := $(shell mpicc --showme:link 2>/dev/null)
else
DIST_SRC := dist/world_serial.cpp
endif
DIST_OBJ := $(DIST_SRC:%.cpp=$(BUILD)/obj/%.o)
$(BUILD)/obj/dist/world_mpi.o: CXXFLAGS += $(MPI_CXXFLAGS)
# Which of the two is linked: a change of MPI relinks nnfmri and the tests.
# Written when the Makefile is read, only when it changes (not by a rule on a phony target, which
# `make -n` counts as remade: its dry run then showed a relink a real make does not do).
LINK_KIND := $(BUILD)/link-kind
$(shell mkdir -p $(BUILD); echo "MPI=$(MPI)" | cmp -s - $(LINK_KIND) || echo "MPI=$(MPI)" > $(LINK_KIND))

LIB_OBJ := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
APP_OBJ := $(APP_SRC:%.cpp=$(BUILD)/obj/%.o)
# The commands without main(): the tests drive the flag table and the training run directly.
APP_LIB_OBJ := $(filter-out $(BUILD)/obj/apps/main.o,$(APP_OBJ))
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/obj/%.o)
BENCH_OBJ := $(BENCH_SRC:%.cpp=$(BUILD)/obj/%.o)

LIB := $(BUILD)/libnnfmri.a
APP := $(BUILD)/nnfmri
TESTS := $(BUILD)/nnfmri_tests
BENCH := $(BUILD)/nnfmri_bench

.PHONY: all deps san-deps build run test test-page test-readme test-report test-serve test-mpi test-isa bench bench-serve asan fuzz clean cifar10

# Compilations run JOBS at a time (all cores); the set-up steps (deps) always run first, alone.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all: deps
	@$(MAKE) -j$(JOBS) --no-print-directory build

build: $(APP)

# $(call install_missing,PACKAGES,TARGET): apt-get installs those of PACKAGES that are not installed.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && [ -n "$(SUDO)" ] && ! command -v $(SUDO) > /dev/null; then \
	  echo "make $(2): error: missing Debian packages:$$missing; run make $(2) as root or install sudo"; exit 1; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "make $(2): installing missing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing \
	    || { echo "make $(2): error: could not install$$missing (apt-get failed)"; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES),deps)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/serve/server.o: CXXFLAGS += $(HTTPLIB_DEFINES)
# The test suite's own files at -O1 (the last -O wins): 40% less compile time than -O3, and the
# suite's time is spent in the library.  -fexpensive-optimizations contracts a*b+c into one fused
# multiply-add as -O2 and -O3 do, so that the tests' own arithmetic rounds as the library's does
# (without it the tests that compare the two bit for bit fail).
$(TEST_OBJ): CXXFLAGS += -O1 -fexpensive-optimizations

# report/page.cpp embeds the page's files with the assembler's .incbin, which -MMD cannot see.
PAGE_FILES := $(wildcard report/page/*.html report/page/*.css report/page/*.js)
$(BUILD)/obj/report/page.o: $(PAGE_FILES)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The whole archive: imaging stages register themselves from their own object files
# (imaging/stage.h), which nothing else references, so the linker must not drop them.
WHOLE_LIB = -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive

$(APP): $(APP_OBJ) $(DIST_OBJ) $(LIB) $(LINK_KIND)
	$(CXX) $(LDFLAGS) $(APP_OBJ) $(DIST_OBJ) $(WHOLE_LIB) $(LDLIBS) $(MPI_LDLIBS) -o $@

# nnfmri without MPI (dist/world_serial.cpp) beside the MPI one: make test-mpi checks that it refuses
# to run under mpirun.
SERIAL_APP := $(BUILD)/nnfmri-serial
$(SERIAL_APP): $(APP_OBJ) $(BUILD)/obj/dist/world_serial.o $(LIB)
	$(CXX) $(LDFLAGS) $(APP_OBJ) $(BUILD)/obj/dist/world_serial.o $(WHOLE_LIB) $(LDLIBS) -o $@

$(TESTS): $(TEST_OBJ) $(APP_LIB_OBJ) $(DIST_OBJ) $(LIB) $(LINK_KIND)
	$(CXX) $(LDFLAGS) $(TEST_OBJ) $(APP_LIB_OBJ) $(DIST_OBJ) $(WHOLE_LIB) -lgtest -lgtest_main $(LDLIBS) $(MPI_LDLIBS) -o $@

$(BENCH): $(BENCH_OBJ) $(LIB)
	$(CXX) $(LDFLAGS) $(BENCH_OBJ) $(WHOLE_LIB) -lbenchmark -lbenchmark_main $(LDLIBS) -o $@

# ---- the main job ----------------------------------------------------------------
# CIFAR-10 is looked for in $NNFMRI_DATA/cifar-10-batches-bin, ./data/cifar-10-batches-bin
# and the workplace subset ../shared/datasets/cifar10-subset; otherwise Fashion-MNIST.
# Each `make run` replaces the previous run in RUN_OUT (train --overwrite).
EPOCHS ?= 10
THREADS ?= 2
RUN_OUT ?= runs/main
RUN_ARGS ?=
# Imaging after every epoch; the ζ budget per layer keeps the whole job within a few minutes.
IMAGING ?= --analyze-every 1 --zeta-budget 1.5
CIFAR_CANDIDATES := $(if $(NNFMRI_DATA),$(NNFMRI_DATA)/cifar-10-batches-bin) data/cifar-10-batches-bin ../shared/datasets/cifar10-subset

run: all
	@data=""; for d in $(CIFAR_CANDIDATES); do \
	  if [ -f "$$d/test_batch.bin" ]; then data="cifar10:$$d"; break; fi; done; \
	if [ -z "$$data" ]; then \
	  echo "make run: CIFAR-10 was not found in: $(CIFAR_CANDIDATES); get it with 'make cifar10' (needs internet)."; \
	  echo "make run: continuing on Fashion-MNIST from the Debian package dataset-fashion-mnist."; \
	  data="fashion-mnist"; fi; \
	echo "make run: --overwrite replaces the previous run in $(RUN_OUT) (resume an interrupted one with: $(APP) train --resume $(RUN_OUT))"; \
	echo "+ $(APP) train --data $$data --model reference --epochs $(EPOCHS) --threads $(THREADS) --out $(RUN_OUT) --overwrite $(IMAGING) $(RUN_ARGS)"; \
	$(APP) train --data "$$data" --model reference --epochs $(EPOCHS) --threads $(THREADS) --out $(RUN_OUT) --overwrite $(IMAGING) $(RUN_ARGS)
	$(APP) report $(RUN_OUT)
	@echo "make run: the report is $(RUN_OUT)/report.html; to watch runs live while they train: $(APP) serve $(patsubst %/,%,$(dir $(RUN_OUT)))"

test: all
	@$(MAKE) -j$(JOBS) --no-print-directory $(TESTS)
	OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive bash tests/run_suites.sh $(TESTS) $(JOBS)
	@$(MAKE) --no-print-directory test-page

# The page's JavaScript: every file parses, and the pure helpers pass their unit tests (no browser).
PAGE_JS := $(wildcard report/page/*.js)
PAGE_TESTS := $(wildcard tests/page/*.test.js)
test-page:
	@for f in $(PAGE_JS); do node --check $$f || { echo "make test-page: $$f does not parse"; exit 1; }; done
	node --test --test-reporter=spec $(PAGE_TESTS)

# README's commands are ones the CLI accepts: each nnfmri command and --flag one that nnfmri's --help
# lists, each `make X` a target here (tests/readme_commands.sh; no data, no network, about 2 s).
test-readme: $(APP)
	bash tests/readme_commands.sh $(APP) README.md

bench: all
	@$(MAKE) -j$(JOBS) --no-print-directory $(BENCH)
	$(BENCH) --benchmark_min_time=0.5
	@data=""; for d in $(CIFAR_CANDIDATES); do \
	  if [ -f "$$d/test_batch.bin" ]; then data="$$d"; break; fi; done; \
	if [ -z "$$data" ]; then \
	  echo "make bench: CIFAR-10 was not found in: $(CIFAR_CANDIDATES); the PyTorch peer comparison is skipped (get it with 'make cifar10', needs internet)."; \
	else echo "+ bash bench/peer_compare.sh $$data"; bash bench/peer_compare.sh "$$data"; fi
	node bench/serve_load.js --nnfmri $(APP)

# report.html in headless Chromium (installed when missing): DOM counts, slider, click, console errors;
# screenshots build/report.png, report-layers.png, report-eeg.png, report-full.png and report-missing-tract.png; prints the page
# size and load time.  RUN=DIR: the report of that run instead of a synthetic one.
test-report: all
	@$(MAKE) --no-print-directory deps PACKAGES="$(BROWSER_PACKAGES)"
	node tests/report_browser_test.js --nnfmri $(APP) --out $(BUILD) $(if $(RUN),--run $(RUN))

# `nnfmri serve` in headless Chromium while a short run trains: live epochs without a reload, the
# user's place kept, two runs compared (tests/serve_browser_test.js).
test-serve: all
	@$(MAKE) --no-print-directory deps PACKAGES="$(BROWSER_PACKAGES)"
	node tests/serve_browser_test.js --nnfmri $(APP) --out $(BUILD)

# 2-rank training and analyze under mpirun on this machine, compared byte for byte with 1 rank
# (tests/mpi_compare.sh); builds with MPI=1 (make deps installs Open MPI).
test-mpi: deps
	@$(MAKE) -j$(JOBS) --no-print-directory MPI=1 $(APP) $(SERIAL_APP)
	bash tests/mpi_compare.sh $(APP) $(SERIAL_APP)

# The suite built for the instruction sets of other CPUs and run on this one.  The library's vector code
# has up to three paths chosen at compile time (AVX-512, AVX2 + FMA, none: imaging/lesion_walker.cpp,
# nn/winograd.cpp, nn/layers.cpp, imaging/grid_stats.cpp), and -march=native builds only this CPU's.
# x86-64 is SSE2 alone (an old CPU: the walker's scalar rows, Winograd and pooling without vectors,
# grid statistics without FMA), run with the OpenBLAS kernels such a CPU gets (Nehalem).  The AVX2 +
# FMA paths (x86-64-v3: most laptops; AMD before Zen 4) are what make asan builds; with
# ISA_LEVELS="x86-64-v3:Haswell x86-64:Nehalem" this target also builds them with g++ -O3.  Each level
# in its own tree, $(BUILD)/isa/LEVEL/; a level this CPU cannot run (glibc's ld.so --help says which)
# is skipped with a line.
ISA_LEVELS ?= x86-64:Nehalem
# The suites of the folders whose code has no vector path of its own (base/, run/, report/, serve/: files,
# JSON, figures, HTTP) are left out of these trees: they run in the native and sanitizer trees, and leaving
# them out here keeps CI within its 30 minutes.  nn/, imaging/, datasets/ and apps/ (the kernels, and the
# commands that drive them end to end, bit for bit) run here in full.
ISA_TEST_SKIP := tests/base tests/run tests/report tests/serve
# BUILD_ONLY=1 (here, for make asan and for make fuzz): build what the target runs, run nothing (CI builds
# these trees in the background, at the lowest priority, while it runs the checks before them).
test-isa: deps
	@for pair in $(ISA_LEVELS); do \
	  level=$${pair%%:*}; core=$${pair#*:}; tree=$(BUILD)/isa/$$level; \
	  if [ "$$level" != x86-64 ] && ! /lib64/ld-linux-x86-64.so.2 --help 2>/dev/null | grep -q "$$level (supported"; then \
	    echo "make test-isa: this CPU cannot run $$level code; skipped"; continue; fi; \
	  echo "make test-isa: the suite built with -march=$$level, OpenBLAS $$core kernels ($$tree)"; \
	  $(MAKE) -j$(JOBS) --no-print-directory BUILD=$$tree OPT="-O3 -march=$$level" TEST_SKIP="$(ISA_TEST_SKIP)" \
	    $$tree/nnfmri $$tree/nnfmri_tests || exit 1; \
	  if [ -n "$(BUILD_ONLY)" ]; then continue; fi; \
	  NNFMRI_BLAS_CORETYPE=$$core OPENBLAS_CORETYPE=$$core OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive \
	    bash tests/run_suites.sh $$tree/nnfmri_tests $(JOBS) || exit 1; \
	done

# The bounded load test of `nnfmri serve` on loopback (bench/serve_load.js): 50 clients × 200 requests.
bench-serve: all
	node bench/serve_load.js --nnfmri $(APP)

# ---- make asan and make fuzz: one sanitizer build tree (clang, ASan + UBSan) ------------------------
# The library, apps/, the tests and the fuzz harnesses are compiled once with clang in build/san/;
# `make asan` links the test suite from those objects (and build/san/nnfmri beside it, which the
# command tests start), `make fuzz` one libFuzzer binary per reader (tests/fuzz/).  Most objects
# carry libFuzzer's coverage hooks (-fsanitize=fuzzer-no-link); linked without libFuzzer, as the
# test suite is, the sanitizer runtime's default hooks do nothing with them, but they are still
# called: one call per comparison.  clang's libFuzzer ships
# in Debian's libclang-rt-N-dev (libclang_rt.fuzzer); clang's -fopenmp needs libomp-N-dev.
# -gline-tables-only: file and line in every report, at two thirds of -g's compile time.
# -Wno-pass-failed: at -O1 clang's loop vectoriser is off and it says so for every `omp simd` loop
# (at -O3 the same code compiles without a warning).
FUZZ_SECONDS ?= 60
# harnesses running at a time (each one process on one core)
FUZZ_JOBS ?= $(JOBS)
SAN_CLANG ?= 14
SAN_PACKAGES := clang-$(SAN_CLANG) libclang-rt-$(SAN_CLANG)-dev libomp-$(SAN_CLANG)-dev
SAN_CXX := clang++-$(SAN_CLANG)
SAN_BUILD := build/san
SAN_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
# The sanitizers check the AVX2 + FMA vector paths (-march=x86-64-v3: what most laptops run; the
# native suite checks this CPU's, make test-isa the paths without vectors), with OpenBLAS's Haswell
# kernels; on a CPU that cannot run x86-64-v3 code, its own (-march=native).
SAN_MARCH := $(shell /lib64/ld-linux-x86-64.so.2 --help 2>/dev/null | grep -q "x86-64-v3 .supported" && echo x86-64-v3 || echo native)
SAN_BLAS_ENV := $(if $(filter x86-64-v3,$(SAN_MARCH)),NNFMRI_BLAS_CORETYPE=Haswell OPENBLAS_CORETYPE=Haswell)
SAN_CXXFLAGS := -std=c++17 -gline-tables-only -march=$(SAN_MARCH) -fno-omit-frame-pointer -fopenmp -Wall -Wextra -Wno-pass-failed \
                -MMD -MP -I. -isystem $(BLAS_INC) $(SAN_SANITIZE)
# The numeric kernels: compiled without hooks.  The kernels a fuzz harness runs (tests/fuzz/ reads
# files, builds nets from specs and runs them forward and backward: layers, Winograd, the loss) are
# compiled a second time with hooks, in build/san/fuzz-obj/, for the harnesses alone: in the suite
# the hooks' calls made training 5-6× slower (a training test 36.4 s against 6.8 s: bench/README.md).
SAN_FUZZ_KERNEL_SRC := nn/layers.cpp nn/winograd.cpp nn/loss.cpp
SAN_KERNEL_SRC := nn/optim.cpp nn/trainer.cpp imaging/lesion_walker.cpp imaging/lesion_game.cpp imaging/shapley.cpp \
                  imaging/region_lesion.cpp imaging/zeta.cpp imaging/tract.cpp imaging/grid_stats.cpp $(SAN_FUZZ_KERNEL_SRC)
SAN_LDFLAGS := $(SAN_SANITIZE) -fopenmp -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB)
FUZZ_HARNESSES := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
SAN_LIB_OBJ := $(LIB_SRC:%.cpp=$(SAN_BUILD)/obj/%.o) $(filter-out %/apps/main.o,$(APP_SRC:%.cpp=$(SAN_BUILD)/obj/%.o)) \
               $(SAN_BUILD)/obj/dist/world_serial.o
SAN_TEST_OBJ := $(TEST_SRC:%.cpp=$(SAN_BUILD)/obj/%.o)
SAN_FUZZ_KERNEL_OBJ := $(SAN_FUZZ_KERNEL_SRC:%.cpp=$(SAN_BUILD)/fuzz-obj/%.o)
SAN_FUZZ_LIB_OBJ := $(filter-out $(SAN_FUZZ_KERNEL_SRC:%.cpp=$(SAN_BUILD)/obj/%.o),$(SAN_LIB_OBJ)) $(SAN_FUZZ_KERNEL_OBJ)

# Optimisation and coverage per object: the library, apps/ and the harnesses at -O1 with libFuzzer's
# hooks, those kernels at -O1 without them (a third less compile time), the test suite's own files at
# -O0 without them (a third of -O1's compile time; the suite's time is spent in the library).
SAN_OBJ_FLAGS = -O1 -fsanitize=fuzzer-no-link
$(SAN_KERNEL_SRC:%.cpp=$(SAN_BUILD)/obj/%.o): SAN_OBJ_FLAGS = -O1
$(SAN_TEST_OBJ): SAN_OBJ_FLAGS = -O0

# Which -march the tree was built for: a change (another CPU, or this Makefile's) rebuilds it.
SAN_KIND := $(SAN_BUILD)/march
$(shell mkdir -p $(SAN_BUILD); echo "$(SAN_MARCH)" | cmp -s - $(SAN_KIND) || echo "$(SAN_MARCH)" > $(SAN_KIND))

$(SAN_BUILD)/obj/%.o: %.cpp $(SAN_KIND)
	@mkdir -p $(dir $@)
	$(SAN_CXX) $(SAN_CXXFLAGS) $(SAN_OBJ_FLAGS) -c $< -o $@

$(SAN_BUILD)/fuzz-obj/%.o: %.cpp $(SAN_KIND)
	@mkdir -p $(dir $@)
	$(SAN_CXX) $(SAN_CXXFLAGS) -O1 -fsanitize=fuzzer-no-link -c $< -o $@

$(SAN_BUILD)/obj/serve/server.o: SAN_CXXFLAGS += $(HTTPLIB_DEFINES)
$(SAN_BUILD)/obj/report/page.o: $(PAGE_FILES)

$(SAN_BUILD)/nnfmri_tests: $(SAN_TEST_OBJ) $(SAN_LIB_OBJ)
	$(SAN_CXX) $(SAN_LDFLAGS) $^ -lgtest -lgtest_main $(LDLIBS) -o $@

$(SAN_BUILD)/nnfmri: $(SAN_BUILD)/obj/apps/main.o $(SAN_LIB_OBJ)
	$(SAN_CXX) $(SAN_LDFLAGS) $^ $(LDLIBS) -o $@

$(SAN_BUILD)/fuzz_%: $(SAN_BUILD)/obj/tests/fuzz/fuzz_%.o $(SAN_FUZZ_LIB_OBJ)
	$(SAN_CXX) $(SAN_LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# Objects of the pattern chain are kept (make would delete them as intermediate files).
.SECONDARY: $(SAN_LIB_OBJ) $(SAN_FUZZ_KERNEL_OBJ) $(FUZZ_HARNESSES:%=$(SAN_BUILD)/obj/tests/fuzz/fuzz_%.o)

san-deps:
	$(call install_missing,$(SAN_PACKAGES),san)

# Sanitized binaries run with address-space randomisation off where the kernel lets setarch turn it
# off: clang 14's ASan maps its shadow and allocator at fixed addresses, and where mmap is randomised
# with more bits (vm.mmap_rnd_bits 32) a process can start where they lie and die of SIGSEGV before
# its first line (llvm-project#57653, fixed in later LLVM; measured here 2026-12-04: 100 of 200 runs of
# `build/san/nnfmri --version` at 32 bits, 0 of 200 under setarch -R).
NO_ASLR = $(shell setarch $$(uname -m) -R true 2> /dev/null && echo setarch $$(uname -m) -R)

# The suite under ASan + UBSan.
asan: deps san-deps
	@$(MAKE) -j$(JOBS) --no-print-directory $(SAN_BUILD)/nnfmri_tests $(SAN_BUILD)/nnfmri
	$(if $(BUILD_ONLY),@true,$(SAN_BLAS_ENV) ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive $(NO_ASLR) bash tests/run_suites.sh $(SAN_BUILD)/nnfmri_tests $(JOBS))

fuzz: deps san-deps
	@$(MAKE) -j$(JOBS) --no-print-directory $(FUZZ_HARNESSES:%=$(SAN_BUILD)/fuzz_%)
	$(if $(BUILD_ONLY),@true,FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) $(NO_ASLR) bash tests/fuzz/run.sh $(SAN_BUILD) $(FUZZ_HARNESSES))

CIFAR_URL := https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
CIFAR_MD5 := c32a1d4ab5d03f1284b67883e8d87530
cifar10:
	@mkdir -p data && cd data && \
	{ curl -fL -o cifar-10-binary.tar.gz.part "$(CIFAR_URL)" || wget -O cifar-10-binary.tar.gz.part "$(CIFAR_URL)"; } \
	  || { rm -f cifar-10-binary.tar.gz.part; echo "make cifar10: error: download of $(CIFAR_URL) failed (offline?); copy cifar-10-binary.tar.gz into data/ by hand"; exit 1; }; \
	echo "$(CIFAR_MD5)  cifar-10-binary.tar.gz.part" | md5sum -c --quiet \
	  || { rm -f cifar-10-binary.tar.gz.part; echo "make cifar10: error: md5 of the download is not $(CIFAR_MD5)"; exit 1; }; \
	mv cifar-10-binary.tar.gz.part cifar-10-binary.tar.gz && tar xzf cifar-10-binary.tar.gz && echo "make cifar10: data/cifar-10-batches-bin is ready"

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(DIST_OBJ:.o=.d) $(BUILD)/obj/dist/world_serial.d $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
-include $(SAN_LIB_OBJ:.o=.d) $(SAN_FUZZ_KERNEL_OBJ:.o=.d) $(SAN_TEST_OBJ:.o=.d) $(SAN_BUILD)/obj/apps/main.d $(FUZZ_HARNESSES:%=$(SAN_BUILD)/obj/tests/fuzz/fuzz_%.d)
