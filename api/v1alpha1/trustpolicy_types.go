package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TrustPolicySpec says which images a policy covers and who must have
// signed them. TrustPolicy and ClusterTrustPolicy share it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.require) || self.require.mode != 'threshold' || !has(self.require.threshold) || self.require.threshold <= size(self.authorities)",message="require.threshold must not exceed the number of authorities",fieldPath=".require.threshold"
type TrustPolicySpec struct {
	// Images are the globs of the image references this policy covers.
	// '*' matches within one path segment or tag, '**' across segments.
	// When several policies match an image, the most specific glob wins.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +required
	Images []ImageGlob `json:"images"`

	// Authorities are the roots of trust. Each has a unique name and
	// exactly one of key, keyless and static.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +required
	Authorities []Authority `json:"authorities"`

	// Require says how many authorities must verify. Default: all.
	// +optional
	Require *Require `json:"require,omitempty"`

	// TLog says how the transparency log is used. Default: offline.
	// +optional
	TLog *TLog `json:"tlog,omitempty"`

	// Pullability asks the registry to serve the image before approval.
	// +optional
	Pullability *Pullability `json:"pullability,omitempty"`

	// RequireDigest makes the webhook deny references without a digest.
	// +optional
	RequireDigest bool `json:"requireDigest,omitempty"`

	// Mode enforce denies unverified images; warn admits them with a
	// warning and records the result.
	// +kubebuilder:validation:Enum=enforce;warn
	// +kubebuilder:default=enforce
	// +optional
	Mode PolicyMode `json:"mode,omitempty"`

	// Exceptions admit matching images unverified until they expire. An
	// excepted image is always recorded as unverified.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// ImageGlob selects image references.
type ImageGlob struct {
	// Glob such as "registry.example.com/team/**" or "ghcr.io/org/app:v*".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^\\\\s]+$') && !self.contains('***')",message="glob must have no spaces and use only '*' and '**' as wildcards"
	// +required
	Glob string `json:"glob"`
}

// PolicyMode is enforce or warn.
type PolicyMode string

// Policy modes.
const (
	PolicyModeEnforce PolicyMode = "enforce"
	PolicyModeWarn    PolicyMode = "warn"
)

// Authority is one root of trust.
//
// +kubebuilder:validation:XValidation:rule="(has(self.key) ? 1 : 0) + (has(self.keyless) ? 1 : 0) + (has(self.static) ? 1 : 0) == 1",message="an authority needs exactly one of key, keyless or static"
type Authority struct {
	// Name identifies the authority in results, records and commit trailers.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`

	// Key trusts signatures made with one public key.
	// +optional
	Key *KeyAuthority `json:"key,omitempty"`

	// Keyless trusts Fulcio certificates issued to the given identities.
	// +optional
	Keyless *KeylessAuthority `json:"keyless,omitempty"`

	// Static passes or fails every image without looking at it.
	// +optional
	Static *StaticAuthority `json:"static,omitempty"`
}

// KeyAuthority is a cosign public key, inline or from a Secret.
//
// +kubebuilder:validation:XValidation:rule="has(self.data) != has(self.secretRef)",message="a key needs exactly one of data or secretRef"
type KeyAuthority struct {
	// Data is a PEM public key (ECDSA, RSA or Ed25519).
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Data string `json:"data,omitempty"`

	// SecretRef names a Secret key holding the PEM public key.
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`

	// TLog optional does not look at the transparency log, so keys that
	// sign without uploading to Rekor keep verifying; required makes a
	// signature count only when it carries a Rekor entry (a signed entry
	// timestamp) for exactly that signature and key that verifies offline
	// against trustedRoot's Rekor keys. spec.tlog.mode governs keyless
	// authorities only.
	// +kubebuilder:validation:Enum=optional;required
	// +kubebuilder:default=optional
	// +optional
	TLog string `json:"tlog,omitempty"`

	// TrustedRoot holds the Rekor public keys (a Sigstore trusted_root.json)
	// that tlog required verifies entries against. Required with tlog
	// required, unused otherwise.
	// +optional
	TrustedRoot *TrustedRoot `json:"trustedRoot,omitempty"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// Namespace of the Secret. For a TrustPolicy it defaults to, and must
	// be, the policy's own namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +required
	Key string `json:"key"`
}

// KeylessAuthority trusts certificates from a Sigstore trusted root.
type KeylessAuthority struct {
	// Identities accepted; a certificate must match one of them.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +required
	Identities []Identity `json:"identities"`

	// TrustedRoot holds the Fulcio roots, Rekor and CT public keys (a
	// Sigstore trusted_root.json) of a private Sigstore instance. Without
	// it, the authority trusts Sigstore's public-good instance, whose root
	// imagegate keeps current through TUF (docs/verification.md); an
	// imagegate run with --tuf-mirror=off (air-gapped) needs it.
	// +optional
	TrustedRoot TrustedRoot `json:"trustedRoot,omitzero"`
}

// Identity matches a certificate's OIDC issuer and subject, and optionally
// the Fulcio extensions that say which repository, workflow and ref the
// certificate was issued to. Regular expressions must be anchored (begin
// with ^ and end with $): with Sigstore's public-good Fulcio anyone can
// obtain a certificate, so an unanchored pattern such as
// "https://github.com/org/" would also match a subject that merely contains
// it. An unanchored pattern makes the policy invalid (Ready=False,
// InvalidPolicy).
//
// +kubebuilder:validation:XValidation:rule="has(self.issuer) != has(self.issuerRegExp)",message="an identity needs exactly one of issuer or issuerRegExp"
// +kubebuilder:validation:XValidation:rule="has(self.subject) != has(self.subjectRegExp)",message="an identity needs exactly one of subject or subjectRegExp"
type Identity struct {
	// Issuer is the exact OIDC issuer URL.
	// +optional
	Issuer string `json:"issuer,omitempty"`
	// IssuerRegExp is a regular expression (RE2) the issuer must match.
	// +optional
	IssuerRegExp string `json:"issuerRegExp,omitempty"`
	// Subject is the exact certificate subject (SAN).
	// +optional
	Subject string `json:"subject,omitempty"`
	// SubjectRegExp is a regular expression (RE2) the subject must match.
	// +optional
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
	// Extensions the certificate must carry with exactly these values;
	// fields left empty are not checked.
	// +optional
	Extensions *CertificateExtensions `json:"extensions,omitempty"`
}

// CertificateExtensions are Fulcio certificate extensions
// (OID 1.3.6.1.4.1.57264.1.*), named as Fulcio names them. Each set field
// must equal the certificate's value exactly, as cosign's
// --certificate-github-workflow-* flags do. For GitHub Actions prefer the
// source repository fields (sourceRepositoryURI, sourceRepositoryRef,
// sourceRepositoryDigest): Fulcio deprecated the githubWorkflow* ones,
// though it still issues them.
type CertificateExtensions struct {
	// GithubWorkflowTrigger is the event that ran the workflow, e.g. "push" (1.2, deprecated).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GithubWorkflowTrigger string `json:"githubWorkflowTrigger,omitempty"`
	// GithubWorkflowSHA is the commit the workflow ran on (1.3, deprecated).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GithubWorkflowSHA string `json:"githubWorkflowSHA,omitempty"`
	// GithubWorkflowName is the workflow's name (1.4, deprecated).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GithubWorkflowName string `json:"githubWorkflowName,omitempty"`
	// GithubWorkflowRepository is "owner/repo" (1.5, deprecated).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GithubWorkflowRepository string `json:"githubWorkflowRepository,omitempty"`
	// GithubWorkflowRef is the Git ref, e.g. "refs/tags/v1.2.3" (1.6, deprecated).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GithubWorkflowRef string `json:"githubWorkflowRef,omitempty"`
	// BuildSignerURI is the build instructions that signed (1.9).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BuildSignerURI string `json:"buildSignerURI,omitempty"`
	// BuildSignerDigest is the digest of those instructions (1.10).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BuildSignerDigest string `json:"buildSignerDigest,omitempty"`
	// RunnerEnvironment is "github-hosted" or "self-hosted" (1.11).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// SourceRepositoryURI is e.g. "https://github.com/org/repo" (1.12).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryURI string `json:"sourceRepositoryURI,omitempty"`
	// SourceRepositoryDigest is the commit built (1.13).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryDigest string `json:"sourceRepositoryDigest,omitempty"`
	// SourceRepositoryRef is the Git ref built, e.g. "refs/heads/main" (1.14).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryRef string `json:"sourceRepositoryRef,omitempty"`
	// SourceRepositoryIdentifier is the repository's immutable ID (1.15).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryIdentifier string `json:"sourceRepositoryIdentifier,omitempty"`
	// SourceRepositoryOwnerURI is e.g. "https://github.com/org" (1.16).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryOwnerURI string `json:"sourceRepositoryOwnerURI,omitempty"`
	// SourceRepositoryOwnerIdentifier is the owner's immutable ID (1.17).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryOwnerIdentifier string `json:"sourceRepositoryOwnerIdentifier,omitempty"`
	// BuildConfigURI is the top-level build instructions (1.18).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BuildConfigURI string `json:"buildConfigURI,omitempty"`
	// BuildConfigDigest is the digest of those instructions (1.19).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BuildConfigDigest string `json:"buildConfigDigest,omitempty"`
	// BuildTrigger is the event that started the build (1.20).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BuildTrigger string `json:"buildTrigger,omitempty"`
	// RunInvocationURI identifies the build run (1.21).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	RunInvocationURI string `json:"runInvocationURI,omitempty"`
	// SourceRepositoryVisibilityAtSigning is "public" or "private" (1.22).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	SourceRepositoryVisibilityAtSigning string `json:"sourceRepositoryVisibilityAtSigning,omitempty"`
}

// TrustedRoot points at a Sigstore trusted_root.json. The zero value
// (no trustedRoot in the spec) means Sigstore's public-good root.
type TrustedRoot struct {
	// SecretRef names the Secret key that holds trusted_root.json.
	// +required
	SecretRef SecretKeyRef `json:"secretRef"`
}

// IsSet reports whether the spec names a trusted root; otherwise the
// public-good root applies.
func (t TrustedRoot) IsSet() bool { return t.SecretRef != (SecretKeyRef{}) }

// StaticAuthority is a fixed answer.
type StaticAuthority struct {
	// Action pass or fail.
	// +kubebuilder:validation:Enum=pass;fail
	// +required
	Action string `json:"action"`
}

// Require says how many authorities must verify.
//
// +kubebuilder:validation:XValidation:rule="self.mode == 'threshold' ? has(self.threshold) : !has(self.threshold)",message="threshold is required with mode threshold and allowed only there"
type Require struct {
	// Mode all (every authority), any (one), or threshold (N).
	// +kubebuilder:validation:Enum=all;any;threshold
	// +kubebuilder:default=all
	// +optional
	Mode string `json:"mode,omitempty"`

	// Threshold is N for mode threshold, 1..len(authorities).
	// +kubebuilder:validation:Minimum=1
	// +optional
	Threshold *int32 `json:"threshold,omitempty"`
}

// TLog configures the transparency log for keyless authorities (key
// authorities have key.tlog).
type TLog struct {
	// Mode offline requires a Rekor entry (signed entry timestamp or
	// inclusion proof) carried in each keyless signature and verifies it
	// against the trusted root; online does the same, and for a signature
	// that carries no entry looks it up in the Rekor v1 API at rekorURL;
	// ignore does not require a log entry (a short-lived certificate then
	// needs an RFC 3161 timestamp).
	// +kubebuilder:validation:Enum=offline;online;ignore
	// +kubebuilder:default=offline
	// +optional
	Mode string `json:"mode,omitempty"`

	// RekorURL is the Rekor v1 API that mode online asks. Default
	// https://rekor.sigstore.dev (Sigstore's public-good log). Entries of
	// a Rekor v2 log cannot be looked up (v2 has no search API): they
	// must be in the signature's bundle.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^https?://[^\s/?#]+(/[^\s?#]*)?$`
	// +optional
	RekorURL string `json:"rekorURL,omitempty"`
}

// Pullability probes the registry as a pull would.
type Pullability struct {
	// Enabled turns the probe on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Platforms of a multi-platform image that must be served.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`
	// +optional
	Platforms []string `json:"platforms,omitempty"`
}

// Exception is the break-glass: matching images are admitted unverified.
type Exception struct {
	// Glob of the excepted images, in the syntax of images.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^\\\\s]+$') && !self.contains('***')",message="glob must have no spaces and use only '*' and '**' as wildcards"
	// +required
	Glob string `json:"glob"`

	// Reason is recorded with every excepted image.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Reason string `json:"reason"`

	// Expires is when the exception stops applying (RFC 3339).
	// +required
	Expires metav1.Time `json:"expires"`
}

// TrustPolicyStatus is the observed state of a policy.
type TrustPolicyStatus struct {
	// ObservedGeneration is the generation last compiled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// PolicyHash identifies the compiled rules ("sha256:...").
	// +optional
	PolicyHash string `json:"policyHash,omitempty"`

	// Conditions: Ready when the policy compiles (keys parse, secrets exist).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TrustPolicy verifies images of one namespace's workloads and ImageGates.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tp
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Hash",type=string,JSONPath=`.status.policyHash`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TrustPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TrustPolicySpec   `json:"spec"`
	Status TrustPolicyStatus `json:"status,omitempty"`
}

// TrustPolicyList is a list of TrustPolicy.
//
// +kubebuilder:object:root=true
type TrustPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TrustPolicy `json:"items"`
}

// ClusterTrustPolicy is a TrustPolicy for the whole cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ctp
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Hash",type=string,JSONPath=`.status.policyHash`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterTrustPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TrustPolicySpec   `json:"spec"`
	Status TrustPolicyStatus `json:"status,omitempty"`
}

// ClusterTrustPolicyList is a list of ClusterTrustPolicy.
//
// +kubebuilder:object:root=true
type ClusterTrustPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterTrustPolicy `json:"items"`
}

func init() {
	register(&TrustPolicy{}, &TrustPolicyList{}, &ClusterTrustPolicy{}, &ClusterTrustPolicyList{})
}
