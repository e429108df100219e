package v1alpha1

// Condition types.
const (
	// ReadyCondition is Flux's Ready.
	ReadyCondition = "Ready"
	// BlockedCondition is True when some selection was withheld from Git.
	BlockedCondition = "Blocked"
	// StalledCondition is True when the gate cannot proceed without a
	// change to its configuration.
	StalledCondition = "Stalled"
	// ReconcilingCondition is Flux's Reconciling: True while a run handles
	// a new generation or a requested reconcile, and while transient
	// failures are retried.
	ReconcilingCondition = "Reconciling"
	// TrustRootStaleCondition is set on a trust policy whose keyless
	// authorities rely on Sigstore's public-good trusted root: True when
	// imagegate could not refresh that root through TUF (verification goes
	// on with the last good root, or, with none, keyless authorities are
	// Unavailable), False when it is current.
	TrustRootStaleCondition = "TrustRootStale"
)

// Condition reasons.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonVerificationFailed = "VerificationFailed"
	ReasonUnavailable        = "RegistryUnavailable"
	ReasonGitOperationFailed = "GitOperationFailed"
	ReasonInvalidPolicy      = "InvalidPolicy"
	ReasonInvalidSource      = "InvalidSourceConfiguration"
	ReasonInvalidUpdate      = "InvalidUpdateStrategy"
	ReasonSuspended          = "Suspended"
	ReasonAllVerified        = "AllVerified"
	ReasonProgressing        = "Progressing"
	// ReasonProgressingWithRetry: the last run failed and will be retried.
	ReasonProgressingWithRetry = "ProgressingWithRetry"
	// ReasonAccessDenied: the ImageGate names a GitRepository in another
	// namespace and the controller runs with --no-cross-namespace-refs
	// (Flux's reason and flag).
	ReasonAccessDenied = "AccessDenied"
	// ReasonTrustRootRefreshed: the public-good root is current.
	ReasonTrustRootRefreshed = "Refreshed"
	// ReasonTrustRootRefreshFailed: the last refresh failed; the last good
	// root is in use.
	ReasonTrustRootRefreshFailed = "RefreshFailed"
	// ReasonTrustRootUnavailable: there is no public-good root at all (no
	// mirror, nothing persisted); keyless authorities relying on it are
	// Unavailable.
	ReasonTrustRootUnavailable = "TrustRootUnavailable"
)
