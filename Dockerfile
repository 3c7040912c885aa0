# syntax=docker/dockerfile:1.7
#
# Two images:
#   gasclaw-bot  (default, the last stage): only gasclaw (a static musl binary) and git, on
#                Alpine, running as a non-root user under tini.
#   full:        gasclaw plus the stack it runs: gt, bd, dolt, Node 24 with
#                OpenClaw and Claude Code, tmux, at pinned versions. Two users:
#                gasclaw (10001) holds the keys; the stack (gt, bd, dolt, the
#                agents, the gateway) runs as agent (10002). The entrypoint
#                starts as root: gasclaw reads its secret files, becomes
#                GASCLAW_USER at once keeping only the capabilities to run
#                and manage the stack as STACK_USER (see the README).
#
#   docker build -t gasclaw-bot .
#   docker build --target full -t gasclaw .
#
# Versions are build arguments; gasclaw reads the same pins from its own
# configuration (GT_VERSION …) for `gasclaw update --check`. gt 1.2.1 is the
# first line whose `gt handoff` keeps agents.<alias>.env (the proxy URL, token
# and config dir); it needs dolt >= 2.0.7 and Go 1.25 (go.mod: go 1.25.8).

ARG RUST_VERSION=1.95
ARG ALPINE_VERSION=3.20
ARG GO_VERSION=1.25
ARG NODE_MAJOR=24

# ---------------------------------------------------------------- build
FROM rust:${RUST_VERSION}-alpine${ALPINE_VERSION} AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
# Everything cargo and the embedded catalogue, skills and locales need.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY src src
COPY commands commands
COPY skills skills
COPY locales locales
COPY benches benches
COPY tests tests
# Only the product: the fakes and the demo (crates/gasclaw-fakes) never ship.
RUN cargo build --profile image --locked -p gasclaw \
 && cp target/image/gasclaw /usr/local/bin/gasclaw \
 && gasclaw --version

# ------------------------------------------------------- go tools (full)
FROM golang:${GO_VERSION}-bookworm AS go-tools
ARG GT_VERSION=1.2.1
ARG BD_VERSION=1.0.5
ARG DOLT_VERSION=2.3.1
RUN go install github.com/steveyegge/gastown/cmd/gt@v${GT_VERSION} \
 && go install github.com/steveyegge/beads/cmd/bd@v${BD_VERSION} \
 && curl -fsSL -o /tmp/dolt.tgz "https://github.com/dolthub/dolt/releases/download/v${DOLT_VERSION}/dolt-linux-amd64.tar.gz" \
 && tar -xzf /tmp/dolt.tgz -C /tmp \
 && install -m 0755 /tmp/dolt-linux-amd64/bin/dolt /go/bin/dolt

# ------------------------------------------------------------------- full
FROM node:${NODE_MAJOR}-bookworm-slim AS full
ARG OPENCLAW_VERSION=2026.9.6
ARG CLAUDE_VERSION=2.1.332
ARG GT_VERSION=1.2.1
ARG BD_VERSION=1.0.5
ARG DOLT_VERSION=2.3.1
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tmux tini ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund "openclaw@${OPENCLAW_VERSION}" "@anthropic-ai/claude-code@${CLAUDE_VERSION}" \
 && npm cache clean --force \
 && groupadd -g 10001 gasclaw \
 && useradd -m -u 10001 -g gasclaw -d /home/gasclaw gasclaw \
 && groupadd -g 10002 agent \
 && useradd -m -u 10002 -g agent -d /home/agent agent \
 && mkdir -p /var/lib/gasclaw /workspace /project \
 && chown gasclaw:gasclaw /var/lib/gasclaw /home/gasclaw \
 && chown agent:agent /workspace /project /home/agent \
 && chmod 0700 /var/lib/gasclaw /home/gasclaw /home/agent \
 && git config --system --add safe.directory /project
COPY --from=go-tools /go/bin/gt /go/bin/bd /go/bin/dolt /usr/local/bin/
COPY --from=build /usr/local/bin/gasclaw /usr/local/bin/gasclaw
ENV GASCLAW_HOME=/var/lib/gasclaw \
    GASCLAW_USER=gasclaw \
    STACK_USER=agent \
    GT_ROOT=/workspace/gt \
    PROJECT_DIR=/project \
    GT_RIG_URL=/project \
    GASCLAW_HTTP_ADDR=127.0.0.1:18791 \
    GT_VERSION=${GT_VERSION} \
    BD_VERSION=${BD_VERSION} \
    DOLT_VERSION=${DOLT_VERSION} \
    OPENCLAW_VERSION=${OPENCLAW_VERSION} \
    CLAUDE_VERSION=${CLAUDE_VERSION}
VOLUME ["/var/lib/gasclaw", "/workspace", "/project"]
# No USER: gasclaw starts as root and drops to GASCLAW_USER before it does
# anything else (every subcommand, the health check included).
WORKDIR /home/gasclaw
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 CMD ["gasclaw", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "gasclaw"]
CMD ["run"]

# ------------------------------------------------- gasclaw-bot (default)
FROM alpine:${ALPINE_VERSION} AS gasclaw-bot
RUN apk add --no-cache git tini ca-certificates \
 && addgroup -S -g 10001 gasclaw \
 && adduser -S -D -u 10001 -G gasclaw -h /home/gasclaw gasclaw \
 && mkdir -p /var/lib/gasclaw /workspace /project \
 && chown gasclaw:gasclaw /var/lib/gasclaw /workspace /project
COPY --from=build /usr/local/bin/gasclaw /usr/local/bin/gasclaw
ENV GASCLAW_HOME=/var/lib/gasclaw \
    GT_ROOT=/workspace/gt \
    PROJECT_DIR=/project \
    GT_RIG_URL=/project \
    GASCLAW_HTTP_ADDR=127.0.0.1:18791
VOLUME ["/var/lib/gasclaw", "/workspace", "/project"]
USER 10001:10001
WORKDIR /home/gasclaw
# The first boot installs OpenClaw's plugin dependencies: give it time.
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 CMD ["gasclaw", "healthcheck"]
ENTRYPOINT ["/sbin/tini", "--", "gasclaw"]
CMD ["run"]
