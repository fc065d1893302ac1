# netc: build, test and train on a fresh Debian machine. `make train` and `make test` install the
# Debian packages netc needs when they are missing, then build and run.
SWIFT ?= swift
DEB_PACKAGES := pkg-config libopenblas-dev libyaml-dev zlib1g-dev libpng-dev libjpeg-dev graphviz openmpi-bin libopenmpi-dev dataset-fashion-mnist
NETC := .build/release/netc

.PHONY: all deps build install test train check-zoo fuzz fuzz-build fuzz-spec fuzz-data clean

all: build

# Installs only what is missing; uses sudo when not root.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# The binary names its commit (`netc --version`): a file git ignores, and a flag that compiles it in.
COMMIT_FILE := Sources/netc/BuildCommit.swift
build: deps
	@commit=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	 git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || commit="$$commit, modified"; \
	 printf '#if NETC_BUILD_COMMIT\nlet buildCommit = "%s"\n#endif\n' "$$commit" > $(COMMIT_FILE)
	$(SWIFT) build -c release --static-swift-stdlib --product netc -Xswiftc -DNETC_BUILD_COMMIT

# Puts the release netc (Swift's runtime linked in statically) on the PATH: PREFIX/bin/netc.
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(NETC) $(DESTDIR)$(PREFIX)/bin/netc

# The debug netc first: the data-parallel test runs it under mpirun.
test: deps
	$(SWIFT) build --product netc
	$(SWIFT) test

# The main job: d2l's ResNet-18 (the built-in default) on Fashion-MNIST at its native 28x28,
# a recipe that takes minutes here; `netc train` alone runs the chapter's 96x96, 10-epoch recipe.
train: build
	$(NETC) summary --depth 1
	$(NETC) train --resize 28 --epochs 2 --lr 0.05

check-zoo: build
	$(NETC) check architectures/*.yaml architectures/imagenet/*.yaml Examples/*.yaml

# libFuzzer over the spec front end (fuzz-spec) and NetcTrain's binary readers (fuzz-data), each
# for FUZZ_SECONDS. Builds into .build-fuzz with NETC_FUZZ set, which adds the two targets to the
# manifest; corpora grow in .build-fuzz/corpus, crashing inputs land in .build-fuzz/crashes.
FUZZ_SECONDS ?= 900
FUZZ_FLAGS ?= -rss_limit_mb=2048 -timeout=10 -detect_leaks=0
FUZZ_DIR := .build-fuzz
# swiftc keeps only the last -sanitize= it is given, so the compile flags name both in one;
# --sanitize=fuzzer links libFuzzer's main. Swift's runtime caches look like leaks to LSan.
FUZZ_BUILD := NETC_FUZZ=1 $(SWIFT) build --scratch-path $(FUZZ_DIR) --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
FUZZ_RUN := ASAN_OPTIONS=detect_leaks=0

fuzz: fuzz-spec fuzz-data

fuzz-build: deps
	$(FUZZ_BUILD) --product fuzz-spec
	$(FUZZ_BUILD) --product fuzz-data

fuzz-spec: fuzz-build
	mkdir -p $(FUZZ_DIR)/corpus/spec $(FUZZ_DIR)/crashes
	for f in architectures/*.yaml architectures/imagenet/*.yaml Examples/*.yaml Examples/broken/*.yaml; do \
	  cp $$f $(FUZZ_DIR)/corpus/spec/$$(echo $$f | tr / _); done
	$(FUZZ_RUN) $(FUZZ_DIR)/debug/fuzz-spec $(FUZZ_DIR)/corpus/spec -dict=Fuzz/spec.dict -max_total_time=$(FUZZ_SECONDS) \
	  -artifact_prefix=$(FUZZ_DIR)/crashes/spec- $(FUZZ_FLAGS)

fuzz-data: fuzz-build
	mkdir -p $(FUZZ_DIR)/corpus/data $(FUZZ_DIR)/crashes
	cp Fuzz/data-seeds/* $(FUZZ_DIR)/corpus/data/
	$(FUZZ_RUN) $(FUZZ_DIR)/debug/fuzz-data $(FUZZ_DIR)/corpus/data -dict=Fuzz/data.dict -max_total_time=$(FUZZ_SECONDS) \
	  -artifact_prefix=$(FUZZ_DIR)/crashes/data- $(FUZZ_FLAGS)

clean:
	rm -rf .build
