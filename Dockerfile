# Cầu Nối: ảnh chạy production (production image).
#
#   docker build -t caunoi .
#   docker run --env-file .env -v caunoi-data:/data -p 127.0.0.1:9090:9090 caunoi
#
# The handbook is embedded in the binary (go:embed); the image holds one static
# binary and nothing else. The base image has no shell, so there is no
# HEALTHCHECK here: the orchestrator probes GET /healthz and /readyz on the
# admin port, and docker-compose.yml runs `caunoi healthcheck`.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/caunoi ./cmd/caunoi
# The data directory, owned by the unprivileged user, so that a fresh volume
# mounted on /data starts writable.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/caunoi /caunoi
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV DATA_DIR=/data \
    LISTEN=:8443 \
    ADMIN_LISTEN=:9090
VOLUME ["/data"]
# 8443: webhook (behind a TLS-terminating proxy); 9090: /healthz, /readyz, /metrics.
EXPOSE 8443 9090
USER nonroot:nonroot
ENTRYPOINT ["/caunoi"]
CMD ["serve"]
