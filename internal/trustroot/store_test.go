package trustroot_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
)

// TestSecretRoundTripAndBound: the state persisted in the Secret reads
// back as written (created, then updated in place); a state over
// MaxStateBytes is refused before anything is written, and a Secret over
// the bound (written by someone else) is refused whole when read.
func TestSecretRoundTripAndBound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := "tuf-store"
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	store := &trustroot.SecretStore{Reader: cp.Client, Writer: cp.Client, Namespace: ns, Name: "tuf"}
	if st, err := store.Load(ctx); st != nil || err != nil {
		t.Fatalf("Load of a missing Secret: %+v, %v; want nothing", st, err)
	}
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for i, target := range []string{"first", "second"} {
		in := &trustroot.State{Mirror: "https://mirror.example", RefreshedAt: at.Add(time.Duration(i) * time.Hour), Files: map[string][]byte{
			"timestamp.json": []byte("t"), "snapshot.json": []byte("s"), "targets.json": []byte("tg"), trustroot.TargetName: []byte(target),
		}}
		if err := store.Save(ctx, in); err != nil {
			t.Fatal(err)
		}
		out, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if out.Mirror != in.Mirror || !out.RefreshedAt.Equal(in.RefreshedAt) || len(out.Files) != 4 || !bytes.Equal(out.Files[trustroot.TargetName], []byte(target)) {
			t.Fatalf("round trip %d: %+v, want %+v", i, out, in)
		}
	}

	// One byte over the bound, counting the mirror URL.
	big := &trustroot.State{Mirror: "m", Files: map[string][]byte{trustroot.TargetName: bytes.Repeat([]byte{'x'}, trustroot.MaxStateBytes)}}
	bigStore := &trustroot.SecretStore{Reader: cp.Client, Writer: cp.Client, Namespace: ns, Name: "tuf-big"}
	err := bigStore.Save(ctx, big)
	if err == nil || !strings.Contains(err.Error(), "524289 bytes, more than the 524288 bytes") {
		t.Fatalf("Save over the bound: %v", err)
	}
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tuf-big"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused state was written: %v", err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tuf-big"}, Data: map[string][]byte{
		trustroot.TargetName: bytes.Repeat([]byte{'x'}, trustroot.MaxStateBytes+1),
	}}
	if err := cp.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if st, err := bigStore.Load(ctx); st != nil || err == nil || !strings.Contains(err.Error(), "more than the 524288 bytes") {
		t.Fatalf("Load over the bound: %+v, %v", st, err)
	}
}
