package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/admission"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/verify"
)

func TestWebhookFlagDefaultsFollowThePodNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "gate")
	f, err := parseWebhookFlags([]string{"--exempt-images", "registry.example/mirror/**, registry.example/pause:*"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	o := f.handlerOptions(&bytes.Buffer{}, nil)
	if !reflect.DeepEqual(o.ExemptNamespaces, []string{"kube-system", "gate"}) {
		t.Errorf("exempt namespaces %q", o.ExemptNamespaces)
	}
	if !reflect.DeepEqual(o.TrustedWriters, []string{"system:serviceaccount:gate:imagegate-webhook"}) {
		t.Errorf("trusted writers %q", o.TrustedWriters)
	}
	if !reflect.DeepEqual(o.ExemptImages, []string{"registry.example/mirror/**", "registry.example/pause:*"}) {
		t.Errorf("exempt images %q", o.ExemptImages)
	}
	if o.Timeout != admission.DefaultTimeout || f.port != 9443 {
		t.Errorf("timeout %s port %d", o.Timeout, f.port)
	}
}

func TestWebhookFlagsRefuseATimeoutBeyondTheWebhooksOwn(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, admission.MaxTimeout, time.Minute} {
		_, err := parseWebhookFlags([]string{"--timeout", d.String()}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--timeout") {
			t.Errorf("--timeout %s: err = %v", d, err)
		}
	}
}

func TestWebhookFlagsRefuseAnUnknownCertMode(t *testing.T) {
	t.Parallel()
	_, err := parseWebhookFlags([]string{"--cert-mode", "cert-manager"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--cert-mode") {
		t.Errorf("err = %v, want one naming --cert-mode", err)
	}
}

func TestWebhookFlagsSetTheBoundsOfWork(t *testing.T) {
	t.Parallel()
	f, err := parseWebhookFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o := f.handlerOptions(&bytes.Buffer{}, nil); o.MaxImagesPerObject != admission.DefaultMaxImagesPerObject ||
		f.common.maxVerifying != cache.DefaultMaxConcurrent || f.common.maxSigBytes != verify.DefaultMaxBytes {
		t.Errorf("defaults: %d images, %d verifications, %d bytes", o.MaxImagesPerObject, f.common.maxVerifying, f.common.maxSigBytes)
	}
	f, err = parseWebhookFlags([]string{"--max-images-per-object", "50", "--max-concurrent-verifications", "2", "--max-signature-bytes", "1048576"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o := f.handlerOptions(&bytes.Buffer{}, nil); o.MaxImagesPerObject != 50 || f.common.maxVerifying != 2 || f.common.maxSigBytes != 1<<20 {
		t.Errorf("set: %d images, %d verifications, %d bytes", o.MaxImagesPerObject, f.common.maxVerifying, f.common.maxSigBytes)
	}
	for _, flag := range []string{"--max-images-per-object", "--max-concurrent-verifications", "--max-signature-bytes"} {
		if _, err := parseWebhookFlags([]string{flag, "0"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s 0: err = %v, want one naming the flag", flag, err)
		}
	}
}
