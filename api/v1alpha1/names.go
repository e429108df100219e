package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ImageVerificationName is the object name of the record for (digest,
// policyHash): "iv-" and 40 hex digits of sha256(digest "/" policyHash).
// Equal inputs give equal names, so replicas that verify the same image
// under the same rules write the same object.
func ImageVerificationName(digest, policyHash string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(digest) + "/" + strings.ToLower(policyHash)))
	return "iv-" + hex.EncodeToString(sum[:20])
}

// TrustPolicyAnnotation on an ImagePolicy names the policy that verifies
// its selections instead of the image globs: the TrustPolicy of that name
// in the ImagePolicy's namespace, or else the ClusterTrustPolicy.
const TrustPolicyAnnotation = "imagegate.dev/trust-policy"
