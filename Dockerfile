# policybot: multi-stage build. cargo-chef caches the dependency build in its own layer, so a
# source change rebuilds only the crate; the runtime is slim Debian with the binary, data/ and
# intents/, and a prebuilt search index.

FROM rust:1.88-slim-bookworm AS chef
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/* \
 && cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --bin policybot --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin policybot

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --shell /usr/sbin/nologin policybot
WORKDIR /app
COPY --from=builder /src/target/release/policybot /usr/local/bin/policybot
COPY data/ data/
COPY intents/ intents/
ENV POLICYBOT_DATA_DIR=/app/data \
    POLICYBOT_INTENTS_DIR=/app/intents \
    POLICYBOT_INDEX_DIR=/app/index \
    POLICYBOT_HEALTH_LISTEN=0.0.0.0:8081 \
    POLICYBOT_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info
# Build the index at image build time so a container starts answering at once.
RUN policybot index && chown -R policybot /app/index
USER policybot
# 8080: webhook (only with POLICYBOT_WEBHOOK_URL); 8081: GET /healthz.
EXPOSE 8080 8081
# No curl in the slim image: bash's /dev/tcp is enough for a GET.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s CMD ["bash", "-c", \
  "exec 3<>/dev/tcp/127.0.0.1/8081 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
CMD ["policybot", "serve"]
