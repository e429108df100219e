// Package trustroot keeps Sigstore's public-good trusted root
// (trusted_root.json) current through TUF, for keyless authorities whose
// policy names no trusted root of its own.
//
// It owns one Source per process (source.go): sigstore-go's TUF client,
// anchored in the root.json sigstore-go embeds, refreshes the repository
// at start and every interval (update.go) through a fetcher that bounds
// every file it downloads (fetcher.go); the last verified metadata and
// target are persisted in one Secret of the install namespace (store.go),
// so that a rescheduled Pod starts without the network. When a refresh
// fails the last good root stays in use, reported stale through the
// policies' status (internal/trust) and metrics (metrics.go).
//
// The Source implements policy.PublicGoodSource; verification never
// reaches the network through it. It must not import the gate, the
// webhook or internal/verify.
package trustroot
