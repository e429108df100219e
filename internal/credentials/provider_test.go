package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fluxcache "github.com/fluxcd/pkg/cache"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

const where = "ImageRepository apps/web"

func tokenCache(t *testing.T) *fluxcache.TokenCache {
	t.Helper()
	c, err := fluxcache.NewTokenCache(8)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func authorization(t *testing.T, kc authn.Keychain, image string) (authn.Authenticator, *authn.AuthConfig, error) {
	t.Helper()
	repo, err := name.NewRepository(image)
	if err != nil {
		t.Fatal(err)
	}
	a, err := kc.Resolve(repo)
	if err != nil {
		t.Fatalf("resolve %s: %v", image, err)
	}
	cfg, err := a.Authorization()
	return a, cfg, err
}

// TestProviderMustNameItsRegistry: spec.provider is checked against
// spec.image as Flux's auth library checks it, so a mismatch or an
// unknown provider is ErrInvalid (CredentialsInvalid in status) naming
// the object, before any request.
func TestProviderMustNameItsRegistry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, image, want string
	}{
		{"aws", "ghcr.io/acme/web", `spec.provider "aws" cannot issue credentials for spec.image "ghcr.io/acme/web"`},
		{"aws", "012345678901.dkr.ecr.us-east-1.amazonaws.com.example.com/web", "invalid AWS registry"},
		{"azure", "acme.azurecr.io.example.com/web", "invalid Azure registry"},
		{"gcp", "europe-docker.pkg.dev.example.com/acme/web", "invalid GCP registry"},
		{"oracle", "ghcr.io/acme/web", `spec.provider "oracle" is not one of generic, aws, azure, gcp`},
		{"gcp", "Europe-Docker.pkg.dev/UPPER", `spec.image "Europe-Docker.pkg.dev/UPPER"`},
	} {
		_, err := parseProvider(where, tc.provider, tc.image)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), where) {
			t.Errorf("%s %s: %v; want ErrInvalid naming %s and %q", tc.provider, tc.image, err, where, tc.want)
		}
	}
	for _, tc := range []struct{ provider, image, host string }{
		{"", "ghcr.io/acme/web", ""},
		{"generic", "ghcr.io/acme/web", ""},
		{"aws", "012345678901.dkr.ecr.eu-west-1.amazonaws.com/web", "012345678901.dkr.ecr.eu-west-1.amazonaws.com"},
		{"aws", "public.ecr.aws/acme/web", "public.ecr.aws"},
		{"azure", "acme.azurecr.io/web", "acme.azurecr.io"},
		{"gcp", "europe-docker.pkg.dev/acme/web", "europe-docker.pkg.dev"},
		{"gcp", "gcr.io/acme/web", "gcr.io"},
	} {
		p, err := parseProvider(where, tc.provider, tc.image)
		if err != nil || p.host != tc.host {
			t.Errorf("%s %s: host %q, %v; want %q", tc.provider, tc.image, p.host, err, tc.host)
		}
	}
}

// gceMetadata serves the one instance-metadata endpoint a GKE Pod's
// identity is read from, as Google's metadata server does (it demands the
// Metadata-Flavor header), and counts the tokens it issued.
func gceMetadata(t *testing.T, token string) *atomic.Int64 {
	t.Helper()
	var issued atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch r.URL.Path {
		case "/computeMetadata/v1/instance/service-accounts/default/token":
			issued.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
		case "/computeMetadata/v1/universe/universe-domain":
			_, _ = w.Write([]byte("googleapis.com"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	// Where Google's libraries look for credentials before the metadata
	// server, there are none: no key file, no gcloud configuration.
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return &issued
}

// TestGCPProviderUsesThePodsIdentity: spec.provider gcp gives the
// Artifact Registry host the access token of imagegate's own service
// account, read from the instance metadata server (an httptest server,
// through GCE_METADATA_HOST as Google's library reads it), as the user
// oauth2accesstoken; the token is fetched once for its lifetime however
// often the registry client asks, and other registries get nothing.
func TestGCPProviderUsesThePodsIdentity(t *testing.T) {
	const token = "ya29.gate-test-token"
	issued := gceMetadata(t, token)
	p, err := parseProvider(where, "gcp", "europe-docker.pkg.dev/acme/web")
	if err != nil {
		t.Fatal(err)
	}
	kc := p.keychain(where, tokenCache(t), nil)
	for i := range 3 {
		_, cfg, err := authorization(t, kc, "europe-docker.pkg.dev/acme/web")
		if err != nil {
			t.Fatalf("authorization %d: %v", i, err)
		}
		if cfg.Username != "oauth2accesstoken" || cfg.Password != token {
			t.Fatalf("authorization %d: user %q, password %q; want oauth2accesstoken and the metadata server's token", i, cfg.Username, cfg.Password)
		}
	}
	if n := issued.Load(); n != 1 {
		t.Fatalf("%d tokens fetched for 3 authorizations, want 1 (cached for its lifetime)", n)
	}
	a, _, _ := authorization(t, kc, "ghcr.io/acme/web")
	if a != authn.Anonymous {
		t.Fatalf("another registry resolved to %T, want anonymous (the next keychain answers)", a)
	}
}

// TestProviderFailureIsUnavailableNamingTheObject: when the cloud will
// not issue credentials (here: imagegate's Pod has no AWS identity: no
// IRSA token, no Pod Identity agent, no keys, and instance metadata off),
// the registry operation fails Unavailable, retried and never cached as a
// denial, with a message that names the ImageRepository, the provider and
// the cause. Nothing leaves the machine.
func TestProviderFailureIsUnavailableNamingTheObject(t *testing.T) {
	empty := t.TempDir() + "/none"
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CA_BUNDLE": "", "AWS_PROFILE": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
	} {
		t.Setenv(k, v)
	}
	p, err := parseProvider(where, "aws", "012345678901.dkr.ecr.us-east-1.amazonaws.com/web")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = authorization(t, p.keychain(where, tokenCache(t), nil), "012345678901.dkr.ecr.us-east-1.amazonaws.com/web")
	if registry.Classify(err) != registry.FailureUnavailable {
		t.Fatalf("classified %s: %v", registry.Classify(err), err)
	}
	for _, want := range []string{where, `spec.provider "aws"`, "IMDS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

// ecrAPI answers GetAuthorizationToken as ECR's API does (AWS JSON 1.1),
// counting the calls signed (SigV4) with the key the Pod's identity has.
func ecrAPI(keyID, password string, signed, other *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+keyID+"/") || !strings.Contains(auth, "/us-east-1/ecr/aws4_request") {
			other.Add(1)
			http.Error(w, `{"__type":"UnrecognizedClientException"}`, http.StatusBadRequest)
			return
		}
		signed.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://012345678901.dkr.ecr.us-east-1.amazonaws.com"}]}`,
			base64.StdEncoding.EncodeToString([]byte("AWS:"+password)), time.Now().Add(12*time.Hour).Unix())
	})
}

const (
	awsChildEnv  = "IMAGEGATE_TEST_AWS_CHILD"
	awsKeyID     = "AKIDIMAGEGATETEST"
	ecrPassword  = "ecr-token-from-the-test-api"
	ecrImage     = "012345678901.dkr.ecr.us-east-1.amazonaws.com/web"
	ecrAPIHostPt = "api.ecr.us-east-1.amazonaws.com:443"
)

// TestAWSProviderGetsAnECRTokenWithThePodsIdentity: spec.provider aws
// gives the ECR host the token ECR's API issues to imagegate's own AWS
// identity (here static keys in the environment, as the SDK's chain reads
// them), user AWS, fetched once for three authorizations. The API is
// served at its real name (api.ecr.us-east-1.amazonaws.com) with a test
// CA, reached through the ImageRepository's proxy, which routes that name
// to the test server; Go reads the system roots (SSL_CERT_FILE) once per
// process, so the client side runs in a child process of this test.
func TestAWSProviderGetsAnECRTokenWithThePodsIdentity(t *testing.T) {
	if proxy := os.Getenv(awsChildEnv); proxy != "" {
		childAuthorizations(t, proxy, "aws", ecrImage, "AWS", ecrPassword)
		return
	}
	var signed, other atomic.Int64
	srv, caPEM := testenv.NewTLSServerFor(t, ecrAPI(awsKeyID, ecrPassword, &signed, &other), strings.TrimSuffix(ecrAPIHostPt, ":443"))
	proxy := testenv.NewProxy(t, "egress", "egress-password")
	proxy.Route(ecrAPIHostPt, srv.Listener.Addr().String())
	none := filepath.Join(t.TempDir(), "none")
	runChild(t, "TestAWSProviderGetsAnECRTokenWithThePodsIdentity", caPEM,
		awsChildEnv+"="+proxy.URL("egress", "egress-password").String(),
		"AWS_ACCESS_KEY_ID="+awsKeyID, "AWS_SECRET_ACCESS_KEY=imagegate-test-secret", "AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CA_BUNDLE=", "AWS_PROFILE=", "AWS_CONFIG_FILE="+none, "AWS_SHARED_CREDENTIALS_FILE="+none)
	if signed.Load() != 1 || other.Load() != 0 {
		t.Fatalf("ECR API: %d signed GetAuthorizationToken calls and %d others, want 1 and 0", signed.Load(), other.Load())
	}
	if proxy.Tunnels() != 1 || proxy.Refused() != 0 {
		t.Fatalf("proxy: %d tunnels, %d refused; want the one call through the ImageRepository's proxy", proxy.Tunnels(), proxy.Refused())
	}
}

// childAuthorizations is the child's side: three authorizations for image
// through provider's keychain with the proxy, each user and password.
func childAuthorizations(t *testing.T, proxy, provider, image, user, password string) {
	u, err := url.Parse(proxy)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseProvider(where, provider, image)
	if err != nil {
		t.Fatal(err)
	}
	kc := p.keychain(where, tokenCache(t), u)
	for i := range 3 {
		_, cfg, err := authorization(t, kc, image)
		if err != nil {
			t.Fatalf("authorization %d: %v", i, err)
		}
		if password == "" || cfg.Username != user || cfg.Password != password {
			t.Fatalf("authorization %d: user %q, password %q; want %q and the registry token the test API issued", i, cfg.Username, cfg.Password, user)
		}
	}
}

// runChild runs test in a child process of this test binary whose system
// roots are caPEM alone, with env added, and fails unless it passes.
func runChild(t *testing.T, test string, caPEM []byte, env ...string) {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile, "SSL_CERT_DIR="+t.TempDir(),
		"HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=", "https_proxy=", "http_proxy=", "no_proxy=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("child ran no test:\n%s", out)
	}
}

const (
	azureChildEnv = "IMAGEGATE_TEST_AZURE_CHILD"
	azureTenant   = "00000000-0000-0000-0000-00000000a11e"
	azureClientID = "00000000-0000-0000-0000-0000000c11e7"
	entraHost     = "login.microsoftonline.com"
	acrHost       = "acme.azurecr.io"
	acrImage      = acrHost + "/web"
)

// entraAndACR serves what Microsoft Entra ID (instance and tenant
// discovery, the client-credentials token endpoint) and an ACR's
// /oauth2/exchange answer: an AAD token for imagegate's client secret, and
// an ACR refresh token (a JWT with an expiry) for that AAD token. issued
// counts the refresh tokens, other the requests it could not answer.
func entraAndACR(refresh string, issued, other *atomic.Int64) http.Handler {
	tenant := "https://" + entraHost + "/" + azureTenant
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = r.ParseForm()
		switch {
		case r.Host == entraHost && r.URL.Path == "/common/discovery/instance":
			_, _ = fmt.Fprintf(w, `{"tenant_discovery_endpoint":%q,"api-version":"1.1","metadata":[{"preferred_network":%q,"preferred_cache":%q,"aliases":[%q]}]}`,
				tenant+"/v2.0/.well-known/openid-configuration", entraHost, entraHost, entraHost)
		case r.Host == entraHost && r.URL.Path == "/"+azureTenant+"/v2.0/.well-known/openid-configuration":
			_, _ = fmt.Fprintf(w, `{"token_endpoint":%q,"authorization_endpoint":%q,"issuer":%q}`,
				tenant+"/oauth2/v2.0/token", tenant+"/oauth2/v2.0/authorize", tenant+"/v2.0")
		case r.Host == entraHost && r.URL.Path == "/"+azureTenant+"/oauth2/v2.0/token" &&
			r.PostForm.Get("client_id") == azureClientID && r.PostForm.Get("client_secret") == "imagegate-test-secret":
			_, _ = fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"aad-token-of-imagegate"}`)
		case r.Host == acrHost && r.URL.Path == "/oauth2/exchange" && r.PostForm.Get("grant_type") == "access_token" &&
			r.PostForm.Get("service") == acrHost && r.PostForm.Get("access_token") == "aad-token-of-imagegate":
			issued.Add(1)
			_, _ = fmt.Fprintf(w, `{"refresh_token":%q}`, refresh)
		default:
			other.Add(1)
			http.Error(w, `{"error":"unexpected request"}`, http.StatusBadRequest)
		}
	})
}

// TestAzureProviderExchangesThePodsTokenForAnACRToken: spec.provider
// azure gives the ACR host an ACR refresh token, user
// 00000000-0000-0000-0000-000000000000, exchanged at the registry's
// /oauth2/exchange for the Entra ID token of imagegate's own identity
// (here a client secret in the environment, as azidentity reads it),
// once for three authorizations. Entra ID and the registry are served at
// their real names with a test CA through the ImageRepository's proxy, in
// a child process as for AWS.
func TestAzureProviderExchangesThePodsTokenForAnACRToken(t *testing.T) {
	if proxy := os.Getenv(azureChildEnv); proxy != "" {
		childAuthorizations(t, proxy, "azure", acrImage, "00000000-0000-0000-0000-000000000000", os.Getenv(azureChildEnv+"_REFRESH"))
		return
	}
	refresh := unsignedJWT(time.Now().Add(3 * time.Hour))
	var issued, other atomic.Int64
	srv, caPEM := testenv.NewTLSServerFor(t, entraAndACR(refresh, &issued, &other), entraHost, acrHost)
	proxy := testenv.NewProxy(t, "egress", "egress-password")
	proxy.Route(entraHost+":443", srv.Listener.Addr().String())
	proxy.Route(acrHost+":443", srv.Listener.Addr().String())
	runChild(t, "TestAzureProviderExchangesThePodsTokenForAnACRToken", caPEM,
		azureChildEnv+"="+proxy.URL("egress", "egress-password").String(), azureChildEnv+"_REFRESH="+refresh,
		"AZURE_TENANT_ID="+azureTenant, "AZURE_CLIENT_ID="+azureClientID, "AZURE_CLIENT_SECRET=imagegate-test-secret",
		"AZURE_AUTHORITY_HOST=", "AZURE_FEDERATED_TOKEN_FILE=", "AZURE_CLIENT_CERTIFICATE_PATH=", "AZURE_USERNAME=", "AZURE_TOKEN_CREDENTIALS=")
	if issued.Load() != 1 || other.Load() != 0 {
		t.Fatalf("ACR: %d refresh tokens issued, %d requests not answered; want 1 and 0", issued.Load(), other.Load())
	}
}

// unsignedJWT is a token with an expiry, as ACR's refresh tokens carry
// one (Flux's library reads it without verifying).
func unsignedJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc.EncodeToString(fmt.Appendf(nil, `{"exp":%d,"sub":"imagegate"}`, exp.Unix())) + "."
}
