# netc: build, test and train on a fresh Debian machine. `make train` and `make test` install the
# Debian packages netc needs when they are missing, then build and run.
SWIFT ?= swift
DEB_PACKAGES := pkg-config libopenblas-dev libyaml-dev zlib1g-dev dataset-fashion-mnist
NETC := .build/release/netc

.PHONY: all deps build test train check-zoo clean

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

build: deps
	$(SWIFT) build -c release --static-swift-stdlib --product netc

test: deps
	$(SWIFT) test

# The main job: d2l's ResNet-18 (the built-in default) on Fashion-MNIST at its native 28x28,
# a recipe that takes minutes here; `netc train` alone runs the chapter's 96x96, 10-epoch recipe.
train: build
	$(NETC) summary --depth 1
	$(NETC) train --resize 28 --epochs 2 --lr 0.05

check-zoo: build
	$(NETC) check architectures/*.yaml architectures/imagenet/*.yaml Examples/*.yaml

clean:
	rm -rf .build
