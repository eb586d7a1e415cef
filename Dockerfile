# Build a static fleetbot binary, then ship it alone on a minimal, non-root base.
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
      -ldflags="-s -w -X main.version=$(cat VERSION) -X main.commit=${COMMIT} -X main.date=${BUILD_DATE}" \
      -o /out/fleetbot ./cmd/fleetbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fleetbot /usr/local/bin/fleetbot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fleetbot"]
CMD ["--help"]
