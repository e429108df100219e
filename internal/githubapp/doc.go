// Package githubapp exchanges a GitHub App's private key for an
// installation access token, which the gate uses as the Git password for a
// GitRepository with `provider: github`, as source-controller does. It reads
// the Secret keys Flux defines (githubAppID, githubAppInstallationID or
// githubAppInstallationOwner, githubAppPrivateKey, githubAppBaseURL), and
// caches tokens until shortly before they expire, in a bounded cache.
//
// The API server named by githubAppBaseURL is a tenant's choice and is
// treated as hostile: every response is read up to a byte limit, and every
// request ends with the caller's context (the Git operation's timeout).
package githubapp
