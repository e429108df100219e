package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// Certificate is what the test Fulcio CA certifies, as public-good Fulcio
// does for an OIDC token: the token's issuer, its subject as the SAN (a URI
// SAN when the subject is a URL, as for GitHub Actions workflows; an email
// SAN otherwise) and the claims Fulcio copies into extensions.
type Certificate struct {
	Issuer     string
	Subject    string
	Extensions certificate.Extensions // Issuer is taken from the field above
}

// GitHubActions is the certificate public-good Fulcio issues to a GitHub
// Actions workflow run of repo ("org/app") at ref ("refs/tags/v1") from
// workflow file release.yml, with both the deprecated githubWorkflow*
// extensions and the source repository ones, as Fulcio writes them today.
func GitHubActions(repo, ref string) Certificate {
	workflow := "https://github.com/" + repo + "/.github/workflows/release.yml@" + ref
	return Certificate{
		Issuer:  "https://token.actions.githubusercontent.com",
		Subject: workflow,
		Extensions: certificate.Extensions{
			GithubWorkflowTrigger:    "push",
			GithubWorkflowSHA:        "0123456789abcdef0123456789abcdef01234567",
			GithubWorkflowName:       "release",
			GithubWorkflowRepository: repo,
			GithubWorkflowRef:        ref,
			BuildSignerURI:           workflow,
			RunnerEnvironment:        "github-hosted",
			SourceRepositoryURI:      "https://github.com/" + repo,
			SourceRepositoryDigest:   "0123456789abcdef0123456789abcdef01234567",
			SourceRepositoryRef:      ref,
			BuildTrigger:             "push",
		},
	}
}

// fulcioCA is the test Sigstore's certificate authority: a root and an
// intermediate whose key issues leaf certificates. sigstore-go's virtual
// CA keeps its intermediate key private and issues no extensions beyond
// the issuer, so the test Sigstore has its own.
type fulcioCA struct {
	root, intermediate *x509.Certificate
	key                *ecdsa.PrivateKey
}

func newFulcioCA(t testing.TB) *fulcioCA {
	t.Helper()
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatalf("testenv: Fulcio root: %v", err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatalf("testenv: Fulcio intermediate: %v", err)
	}
	return &fulcioCA{root: rootCert, intermediate: inter, key: interKey}
}

// authority is the CA as a trusted root lists it.
func (c *fulcioCA) authority() root.CertificateAuthority {
	return &root.FulcioCertificateAuthority{
		Root: c.root, Intermediates: []*x509.Certificate{c.intermediate},
		ValidityPeriodStart: time.Now().Add(-5 * time.Hour), ValidityPeriodEnd: time.Now().Add(time.Hour),
		URI: "https://fulcio.test.imagegate.dev",
	}
}

// chain is the intermediate and the root, leaf first order excluded.
func (c *fulcioCA) chain() []*x509.Certificate {
	return []*x509.Certificate{c.intermediate, c.root}
}

// issue makes a fresh P-256 key and a 10-minute certificate for it, valid
// from now, as Fulcio issues them.
func (c *fulcioCA) issue(t testing.TB, cert Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: leaf key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatalf("testenv: serial: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now,
		NotAfter:        now.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: fulcioExtensions(t, cert),
	}
	if u, err := url.Parse(cert.Subject); err == nil && strings.Contains(cert.Subject, "://") {
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{cert.Subject}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.intermediate, key.Public(), c.key)
	if err != nil {
		t.Fatalf("testenv: leaf certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testenv: parse leaf certificate: %v", err)
	}
	return leaf, key
}

// fulcioExtensions encodes cert's issuer and extensions as Fulcio does:
// the deprecated OIDs (1.1 to 1.6) hold the raw string, the later ones a
// DER UTF8String. Verification reads them back with sigstore-go's parser,
// so a mistake here fails the tests rather than hiding.
func fulcioExtensions(t testing.TB, cert Certificate) []pkix.Extension {
	t.Helper()
	e := cert.Extensions
	// Fulcio still issues the deprecated OIDs, and cosign's
	// --certificate-github-workflow-* flags read only those.
	//nolint:staticcheck // deprecated, still issued
	raw := []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{
		{certificate.OIDIssuer, cert.Issuer},
		{certificate.OIDGitHubWorkflowTrigger, e.GithubWorkflowTrigger},
		{certificate.OIDGitHubWorkflowSHA, e.GithubWorkflowSHA},
		{certificate.OIDGitHubWorkflowName, e.GithubWorkflowName},
		{certificate.OIDGitHubWorkflowRepository, e.GithubWorkflowRepository},
		{certificate.OIDGitHubWorkflowRef, e.GithubWorkflowRef},
	}
	der := []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{
		{certificate.OIDIssuerV2, cert.Issuer},
		{certificate.OIDBuildSignerURI, e.BuildSignerURI},
		{certificate.OIDBuildSignerDigest, e.BuildSignerDigest},
		{certificate.OIDRunnerEnvironment, e.RunnerEnvironment},
		{certificate.OIDSourceRepositoryURI, e.SourceRepositoryURI},
		{certificate.OIDSourceRepositoryDigest, e.SourceRepositoryDigest},
		{certificate.OIDSourceRepositoryRef, e.SourceRepositoryRef},
		{certificate.OIDSourceRepositoryIdentifier, e.SourceRepositoryIdentifier},
		{certificate.OIDSourceRepositoryOwnerURI, e.SourceRepositoryOwnerURI},
		{certificate.OIDSourceRepositoryOwnerIdentifier, e.SourceRepositoryOwnerIdentifier},
		{certificate.OIDBuildConfigURI, e.BuildConfigURI},
		{certificate.OIDBuildConfigDigest, e.BuildConfigDigest},
		{certificate.OIDBuildTrigger, e.BuildTrigger},
		{certificate.OIDRunInvocationURI, e.RunInvocationURI},
		{certificate.OIDSourceRepositoryVisibilityAtSigning, e.SourceRepositoryVisibilityAtSigning},
	}
	var out []pkix.Extension
	for _, x := range raw {
		if x.v != "" {
			out = append(out, pkix.Extension{Id: x.oid, Value: []byte(x.v)})
		}
	}
	for _, x := range der {
		if x.v == "" {
			continue
		}
		v, err := asn1.MarshalWithParams(x.v, "utf8")
		if err != nil {
			t.Fatalf("testenv: extension %s: %v", x.oid, err)
		}
		out = append(out, pkix.Extension{Id: x.oid, Value: v})
	}
	return out
}
