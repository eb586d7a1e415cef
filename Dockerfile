# Build a static fleetbot binary, then ship it alone on a minimal, non-root base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/fleetbot ./cmd/fleetbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fleetbot /usr/local/bin/fleetbot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fleetbot"]
CMD ["--help"]
