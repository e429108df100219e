package config_test

import (
	"os"
	"path/filepath"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/imagegate/imagegate/internal/admission"
)

// TestWebhookConfigurationMatchesAdmission keeps the committed YAML and
// admission.WebhookConfiguration from drifting apart.
func TestWebhookConfigurationMatchesAdmission(t *testing.T) {
	t.Parallel()
	path := filepath.Join("webhook", "validating_webhook_configuration.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(b, &got); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	want := admission.WebhookConfiguration(admission.ConfigOptions{ServiceNamespace: installNamespace, ServiceName: "imagegate-webhook"})
	if !equality.Semantic.DeepEqual(&got, want) {
		wantYAML, err := yaml.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s differs from admission.WebhookConfiguration; it should read:\n%s", path, wantYAML)
	}
}
