package trust

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
)

// secretsTest is a TrustPolicy reading the key cosign.pub of the Secret
// "keys" in a namespace of its own, reconciled by a manager set up as the
// controller's (Secrets never cached), whose API requests are recorded.
type secretsTest struct {
	t      *testing.T
	policy *igv1.TrustPolicy
	secret *corev1.Secret
	reqs   *testenv.APIRequests
}

func newSecretsTest(t *testing.T, ns string, resync time.Duration, watch labels.Selector) *secretsTest {
	t.Helper()
	ctx := t.Context()
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	cfg, reqs := testenv.RecordAPIRequests(cp.Config)
	// One namespace per test: managers of parallel tests leave each
	// other's policies alone.
	opts := ctrl.Options{Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}}}
	secrets.LimitManager(&opts, watch)
	cp.StartManager(t, cfg, opts, func(mgr ctrl.Manager) error {
		r := &Reconciler{
			Client: mgr.GetClient(), Secrets: secrets.Reader{Client: mgr.GetAPIReader()},
			Resync: resync, SecretSelector: watch,
		}
		return r.SetupWithManager(mgr)
	})
	p := testenv.TrustPolicy(ns, "release", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: "keys", Key: "cosign.pub"},
		}}},
	})
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"}}
	return &secretsTest{t: t, policy: p, secret: sec, reqs: reqs}
}

// status waits until the policy is Ready=want and, when Ready, carries a
// hash other than notHash; it returns the hash.
func (s *secretsTest) status(want metav1.ConditionStatus, notHash string) string {
	s.t.Helper()
	p := s.policy
	var hash string
	err := wait.PollUntilContextTimeout(s.t.Context(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, err
		}
		c := p.Status.Conditions
		hash = p.Status.PolicyHash
		return len(c) == 1 && c[0].Status == want && (want == metav1.ConditionFalse || hash != notHash), nil
	})
	if err != nil {
		s.t.Fatalf("status never became Ready=%s with a new hash: %+v", want, p.Status)
	}
	return hash
}

// createKey creates the Secret with a new key, or rotates its key.
func (s *secretsTest) createKey(create bool) {
	s.t.Helper()
	s.secret.Data = map[string][]byte{"cosign.pub": testenv.NewCosignKey(s.t).PublicPEM}
	var err error
	if create {
		err = cp.Client.Create(s.t.Context(), s.secret)
	} else {
		err = cp.Client.Update(s.t.Context(), s.secret)
	}
	if err != nil {
		s.t.Fatal(err)
	}
}

// TestStatusFollowsTheSecretsAPolicyReads: the Secret a policy waits for
// appears, then its key is rotated; the spec never changes, and nothing
// watches Secrets: the status follows both within a resync period,
// because each policy is compiled again every period and its Secret read
// again by name. The manager sends no list or watch of Secrets at all.
func TestStatusFollowsTheSecretsAPolicyReads(t *testing.T) {
	t.Parallel()
	s := newSecretsTest(t, "trust-secrets", 200*time.Millisecond, nil)
	s.status(metav1.ConditionFalse, "")
	s.createKey(true)
	first := s.status(metav1.ConditionTrue, "")
	s.createKey(false)
	s.status(metav1.ConditionTrue, first)

	gets := 0
	for _, r := range s.reqs.Of("secrets") {
		if r.Verb != "get" || r.Namespace != "trust-secrets" || r.Name != "keys" {
			t.Errorf("the manager sent %+v; want only gets of trust-secrets/keys", r)
		}
		gets++
	}
	// At least: not found, the created key, the rotated key.
	if gets < 3 {
		t.Errorf("%d gets of the Secret, want at least 3", gets)
	}
}

// TestLabelledSecretChangeRecompilesAtOnce: with a watch selector (Flux's
// reconcile.fluxcd.io/watch: Enabled) and a resync period longer than the
// test, creating and rotating a labelled Secret recompiles the policy at
// once. The manager lists and watches only Secrets with that label, and
// only their metadata: no key material enters its cache.
func TestLabelledSecretChangeRecompilesAtOnce(t *testing.T) {
	t.Parallel()
	sel, err := secrets.ParseWatchSelector(secrets.WatchLabel)
	if err != nil {
		t.Fatal(err)
	}
	s := newSecretsTest(t, "trust-secrets-watched", time.Hour, sel)
	s.status(metav1.ConditionFalse, "")
	s.secret.Labels = map[string]string{meta.LabelKeyWatch: meta.LabelValueWatchEnabled}
	s.createKey(true)
	first := s.status(metav1.ConditionTrue, "")
	s.createKey(false)
	s.status(metav1.ConditionTrue, first)

	watches := 0
	for _, r := range s.reqs.Of("secrets") {
		switch r.Verb {
		case "get":
			if r.Namespace != "trust-secrets-watched" || r.Name != "keys" {
				t.Errorf("the manager read Secret %s/%s", r.Namespace, r.Name)
			}
		case "list", "watch":
			if r.LabelSelector != secrets.WatchLabel || !r.MetadataOnly {
				t.Errorf("the manager sent %+v; want the label selector %s and metadata only", r, secrets.WatchLabel)
			}
			watches++
		default:
			t.Errorf("the manager sent %+v", r)
		}
	}
	if watches == 0 {
		t.Error("no list or watch of Secrets: nothing watched the labelled Secret")
	}
}
