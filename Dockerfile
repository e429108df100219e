# One image for every role: imagegate controller | webhook | verify.
# Build: make docker-build (needs a Docker engine; none runs on the CI
# machines, where `make build` checks the same static build).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/imagegate/imagegate/internal/version.Version=${VERSION}" \
      -o /out/imagegate ./cmd/imagegate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/imagegate /imagegate
USER 65532:65532
ENTRYPOINT ["/imagegate"]
