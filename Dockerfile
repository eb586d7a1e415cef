# Build static fleetbot and fleetbot-server binaries (fleetbot runs
# fleetbot-server, beside it, for serve), then ship them alone on a minimal,
# non-root base.
# `make image` passes the commit and the build's date; the version is the
# VERSION file's, as for `make build`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG COMMIT=""
ARG BUILD_DATE=""
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags="-s -w -X github.com/fleetbot/fleetbot/internal/cli.version=$(cat VERSION) -X github.com/fleetbot/fleetbot/internal/cli.commit=${COMMIT} -X github.com/fleetbot/fleetbot/internal/cli.date=${BUILD_DATE}" \
      -o /out/ ./cmd/fleetbot ./cmd/fleetbot-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fleetbot /out/fleetbot-server /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fleetbot"]
CMD ["--help"]
