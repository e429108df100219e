package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// key.tlog required without a trusted root cannot verify an entry: the
// policy does not compile (the status says InvalidPolicy), rather than
// accepting entries it cannot check.
func TestCompileKeyTLogRequiredNeedsTrustedRoot(t *testing.T) {
	t.Parallel()
	s := keySpec(string(publicPEM(t)))
	s.Authorities[0].Key.TLog = "required"
	_, err := Compile(context.Background(), clusterRef, s, secretMap{})
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "spec.authorities[0]: key: tlog: required needs trustedRoot") {
		t.Fatalf("err = %v, want ErrInvalidPolicy naming key.tlog and trustedRoot", err)
	}
	s.Authorities[0].Key.TrustedRoot = &igv1.TrustedRoot{SecretRef: igv1.SecretKeyRef{Name: "root", Namespace: "ns", Key: "trusted_root.json"}}
	_, err = Compile(context.Background(), clusterRef, s, secretMap{"ns/root/trusted_root.json": []byte("{}")})
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "not a Sigstore trusted_root.json") {
		t.Fatalf("err = %v, want the trusted root named as unparseable", err)
	}
}

func TestCompileKeyTLogOptionalByDefault(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"", "optional"} {
		s := keySpec(string(publicPEM(t)))
		s.Authorities[0].Key.TLog = mode
		p, err := Compile(context.Background(), clusterRef, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		if k := p.Authorities[0].Key; k.TLogRequired || k.TrustedRoot != nil {
			t.Errorf("key.tlog %q compiled to required=%v root=%v, want optional without a root", mode, k.TLogRequired, k.TrustedRoot)
		}
	}
}

func TestCompileTLogRekorURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tlog    *igv1.TLog
		mode    TLogMode
		url     string
		invalid bool
	}{
		{nil, TLogOffline, DefaultRekorURL, false},
		{&igv1.TLog{Mode: "online"}, TLogOnline, DefaultRekorURL, false},
		{&igv1.TLog{Mode: "online", RekorURL: "https://rekor.example.com/"}, TLogOnline, "https://rekor.example.com", false},
		{&igv1.TLog{Mode: "online", RekorURL: "http://127.0.0.1:8080"}, TLogOnline, "http://127.0.0.1:8080", false},
		{&igv1.TLog{Mode: "online", RekorURL: "rekor.example.com"}, "", "", true},
		{&igv1.TLog{Mode: "online", RekorURL: "https://rekor.example.com/?x=1"}, "", "", true},
		{&igv1.TLog{Mode: "sometimes"}, "", "", true},
	} {
		s := keySpec(string(publicPEM(t)))
		s.TLog = tc.tlog
		p, err := Compile(context.Background(), clusterRef, s, nil)
		if tc.invalid {
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "spec.tlog") {
				t.Errorf("tlog %+v: err = %v, want ErrInvalidPolicy naming spec.tlog", tc.tlog, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("tlog %+v: %v", tc.tlog, err)
		}
		if p.TLog != tc.mode || p.RekorURL != tc.url {
			t.Errorf("tlog %+v compiled to %s %s, want %s %s", tc.tlog, p.TLog, p.RekorURL, tc.mode, tc.url)
		}
	}
}
