# syntax=docker/dockerfile:1
#
# sbx-mcp: an MCP server (stdio) that gives an agent an isolated Linux sandbox.
#
#   docker build -t sbx-mcp --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -i --rm --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
#              --security-opt systempaths=unconfined --security-opt apparmor=unconfined \
#              -v "$PWD:/workspace" sbx-mcp
#
# See README "Docker" for what each flag buys and the isolation level without it.

# The full version of go.mod's go line: with GOTOOLCHAIN=local an older
# cached golang:1.26 image cannot build a module that asks for 1.26.8.
ARG GO_VERSION=1.26.8

# ---- build: a static binary (no cgo, so it runs on any runtime image) ----
FROM golang:${GO_VERSION}-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/sbx-mcp/sbx-mcp/config.Version=${VERSION} -X github.com/sbx-mcp/sbx-mcp/config.Commit=${COMMIT}" \
      -o /out/sbx-mcp ./cmd/sbx-mcp

# ---- runtime: the tools an agent expects inside the sandbox ----
# Debian 13 (trixie): its nodejs is 20.19 (bookworm's was 18, past its end
# of life), the newest Node Debian's stable packages offer.
FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      bash coreutils procps util-linux findutils grep sed gawk less file \
      git curl ca-certificates ripgrep jq unzip xz-utils \
      python3 python3-numpy python3-pandas python3-matplotlib \
      nodejs \
      tini \
 && rm -rf /var/lib/apt/lists/*
# Matplotlib builds its font cache on first import: do it once here (it lands
# in /root/.cache/matplotlib) instead of in the first run_code call.
RUN python3 -c 'import matplotlib.pyplot'
COPY --from=build /out/sbx-mcp /usr/local/bin/sbx-mcp
WORKDIR /workspace
# The container's root is needed for full isolation (the server creates
# namespaces and drops every capability for the code it runs). tini is PID 1 so
# orphans are reaped even at the lowest isolation level (no PID namespace);
# it forwards SIGTERM to the server, which then tears the sandbox down.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/sbx-mcp"]
CMD ["--workdir", "/workspace"]
