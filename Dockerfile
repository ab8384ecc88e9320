# siobroker container image: Debian bookworm, two stages.
#
#   docker build -t siobroker .
#   docker run --rm -p 8080:8080 siobroker                      # one node, chat page at /
#   docker run --rm -p 8080:8080 siobroker --redis redis://HOST:6379 --node-id n1 --advertise HOST:8080
#
# The defaults (listen on 0.0.0.0:8080, serve the chat page, JSON logs) are environment variables
# rather than CMD arguments, so that arguments given to `docker run IMAGE ...` (or a compose
# `command:` / a Kubernetes `args:`) are added to them instead of replacing them; a flag still beats
# its variable, so `--listen 0.0.0.0:9000` or `-e SIO_LOG_FORMAT=text` override them.

# ---- builder: the Debian build dependencies (the Makefile's APT_PACKAGES, build side) ---------
FROM debian:bookworm-slim AS builder

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config ca-certificates \
        libwebsockets-dev libuv1-dev libhiredis-dev libmsgpack-dev libjansson-dev libssl-dev libhttp-parser-dev \
        uthash-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The browser client (socket.io.min.js) is copied by the build from the pinned socket.io-client
# devDependency, so this is a plain `npm ci` from the lockfile (dev dependencies included). The
# lockfile layer is cached as long as package.json / package-lock.json do not change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .

# Only the daemon, the files it serves (web/) and siocli: no tests, fixtures or examples.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release --no-warn-unused-cli \
 && cmake --build build --target siobroker siobroker_web siocli -j"$(nproc)" \
 && DESTDIR=/stage cmake --install build --prefix /usr/local \
 && /stage/usr/local/bin/siobroker --version \
 && /stage/usr/local/bin/siocli --version

# ---- runtime: the shared libraries only, a non-root user --------------------------------------
FROM debian:bookworm-slim

# libwebsockets-evlib-uv is the libuv event-loop plugin libwebsockets loads at run time; curl is
# for the HEALTHCHECK below.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libwebsockets17 libwebsockets-evlib-uv libuv1 libhiredis0.14 libmsgpackc2 libjansson4 libhttp-parser2.9 \
        libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 siobroker \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin siobroker

# /usr/local/bin/siobroker, /usr/local/bin/siocli (with its man page in /usr/local/share/man),
# /usr/local/share/siobroker/socket.io.min.js(.map), /usr/local/share/siobroker/www (the chat
# page) and /usr/local/share/siobroker/admin-ui (the admin UI, served at /admin/ with --admin);
# siobroker finds them at <dir of executable>/../share/siobroker by itself.
# siocli needs only Redis: `docker run --rm --entrypoint siocli siobroker --redis URL nodes`.
COPY --from=builder /stage/usr/local/ /usr/local/

ENV SIO_LISTEN=0.0.0.0:8080 \
    SIO_STATIC_DIR=/usr/local/share/siobroker/www \
    SIO_LOG_FORMAT=json

USER 10001:10001
EXPOSE 8080

# Liveness only (/healthz: the process is alive). Readiness (/readyz: listening and, with --redis,
# Redis connected and subscribed) is what a balancer or an orchestrator should route on; the
# compose file and the Helm chart do. The port is the default listen port: change both together.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl --fail --silent --show-error --max-time 2 -o /dev/null http://127.0.0.1:8080/healthz || exit 1

# SIGTERM (docker stop) shuts the node down cleanly: it removes its Redis registry record.
STOPSIGNAL SIGTERM
ENTRYPOINT ["siobroker"]
