package secrets

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestParseWatchSelector: "" watches nothing; a selector that matches
// every Secret (blank) or does not parse is refused with the flag's help.
func TestParseWatchSelector(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":            "<nil>",
		WatchLabel:    WatchLabel,
		"owner!=helm": "owner!=helm",
		" ":           "error",
		"a=(":         "error",
	} {
		sel, err := ParseWatchSelector(in)
		got := "error"
		switch {
		case err == nil && sel == nil:
			got = "<nil>"
		case err == nil:
			got = sel.String()
		}
		if got != want {
			t.Errorf("ParseWatchSelector(%q) = %s (err %v), want %s", in, got, err, want)
		}
	}
}

// TestLimitManagerReadsSecretsByName: through a manager configured by
// LimitManager, the client's reads of a Secret (present or missing) are
// GETs by name at the API server, and the manager never lists or watches
// Secrets; Reader reads a key the same way.
func TestLimitManagerReadsSecretsByName(t *testing.T) {
	t.Parallel()
	cp := testenv.StartControlPlane(t)
	ctx := t.Context()
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "keys"},
		Data:       map[string][]byte{"cosign.pub": []byte("key")},
	}
	if err := cp.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	cfg, reqs := testenv.RecordAPIRequests(cp.Config)
	var opts ctrl.Options
	LimitManager(&opts, nil)
	mgr := cp.StartManager(t, cfg, opts, func(ctrl.Manager) error { return nil })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache never synced")
	}
	c := mgr.GetClient()
	for range 2 {
		var got corev1.Secret
		if err := c.Get(ctx, client.ObjectKeyFromObject(sec), &got); err != nil || string(got.Data["cosign.pub"]) != "key" {
			t.Fatalf("get: %v %q", err, got.Data)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "missing"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Fatalf("missing Secret: err = %v, want NotFound", err)
	}
	if v, err := (Reader{Client: c}).SecretValue(ctx, "default", "keys", "cosign.pub"); err != nil || string(v) != "key" {
		t.Fatalf("SecretValue: %q %v", v, err)
	}
	var lines []string
	for _, r := range reqs.Of("secrets") {
		lines = append(lines, r.Verb+" "+r.Namespace+"/"+r.Name)
	}
	want := []string{"get default/keys", "get default/keys", "get default/missing", "get default/keys"}
	if !slices.Equal(lines, want) {
		t.Fatalf("requests for Secrets %q, want %q", lines, want)
	}
}
