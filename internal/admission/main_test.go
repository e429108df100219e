package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// cluster is the control plane every integration test of the package
// shares, with the webhook running in process: the real API server calls
// it over HTTPS through the ValidatingWebhookConfiguration that
// WebhookConfiguration returns. Tests isolate themselves by namespace and
// by registry (each has its own, so policies and request counts do not
// mix).
type cluster struct {
	cp      *testenv.ControlPlane
	mgr     manager.Manager
	wh      *Webhook
	audit   *lockedBuffer
	ca      *testCA
	certDir string
	addr    string // 127.0.0.1:PORT of the webhook
	admin   string // the control plane's user, a trusted writer
	cfg     *rest.Config
	c       client.Client
}

// The cluster starts with the first test that needs it, so that unit tests
// and benchmarks run without a control plane, and stops after all tests.
var (
	clusterOnce sync.Once
	itest       *cluster
	itestStop   func()
	itestErr    error
)

func sharedCluster(t *testing.T) *cluster {
	t.Helper()
	clusterOnce.Do(func() { itest, itestStop, itestErr = startCluster() })
	if itestErr != nil {
		t.Fatal(itestErr)
	}
	return itest
}

func TestMain(m *testing.M) {
	code := m.Run()
	if itestStop != nil {
		itestStop()
	}
	os.Exit(code)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startCluster starts the control plane with the webhook configuration
// pointing at 127.0.0.1:PORT, then the manager serving the webhook there,
// and waits until the webhook is ready.
func startCluster() (*cluster, func(), error) {
	cl := &cluster{audit: &lockedBuffer{}}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	cl.addr = fmt.Sprintf("127.0.0.1:%d", port)
	if cl.ca, err = newTestCA(); err != nil {
		return nil, nil, err
	}
	if cl.certDir, err = os.MkdirTemp("", "imagegate-webhook-certs-"); err != nil {
		return nil, nil, fmt.Errorf("cert dir: %w", err)
	}
	if err := cl.ca.issue(cl.certDir, 2); err != nil {
		return nil, nil, err
	}
	cfg := WebhookConfiguration(ConfigOptions{CABundle: cl.ca.PEM, ExemptNamespaces: []string{"kube-system"}})
	url := "https://" + cl.addr + DefaultPath
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig.Service, cfg.Webhooks[i].ClientConfig.URL = nil, &url
	}
	cl.cp, err = testenv.NewControlPlane(testenv.WithValidatingWebhooks(cfg), func(e *envtest.Environment) {
		e.WebhookInstallOptions.LocalServingHost, e.WebhookInstallOptions.LocalServingPort = "127.0.0.1", port
	})
	if err != nil {
		return nil, nil, err
	}
	stop, err := cl.startWebhook(port)
	if err == nil {
		err = cl.trustTestCA(cfg.Name)
	}
	if err != nil {
		if stop != nil {
			stop()
		}
		_ = cl.cp.Stop()
		return nil, nil, err
	}
	return cl, func() {
		stop()
		if err := cl.cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping control plane:", err)
		}
	}, nil
}

func (cl *cluster) startWebhook(port int) (func(), error) {
	cl.cfg = rest.CopyConfig(cl.cp.Config)
	cl.cfg.QPS = -1 // tests send bursts of 100 requests
	var err error
	if cl.c, err = client.New(cl.cfg, client.Options{Scheme: cl.cp.Scheme}); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if cl.admin, err = whoAmI(cl.c); err != nil {
		return nil, err
	}
	cl.mgr, err = manager.New(cl.cfg, manager.Options{
		Scheme: cl.cp.Scheme, Cache: CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: cl.certDir}),
	})
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	reg := registry.New(registry.Options{AllowInsecure: true})
	cl.wh, err = Setup(context.Background(), cl.mgr, reg, nil, SetupOptions{
		Options: Options{TrustedWriters: []string{cl.admin}, ExemptNamespaces: []string{"kube-system"}, Audit: cl.audit,
			Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.mgr.Start(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("manager stopped: %w", err)
		default:
		}
		return cl.wh.Ready(nil) == nil && cl.mgr.GetWebhookServer().StartedChecker()(nil) == nil, nil
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("webhook not ready: %w", err)
	}
	return stop, nil
}

// trustTestCA replaces the CA bundle envtest put into the configuration
// (of a CA whose key it keeps) with the test CA, so that a test can issue
// the webhook a new certificate, and waits until the API server calls the
// webhook with it.
func (cl *cluster) trustTestCA(name string) error {
	ctx := context.Background()
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := cl.c.Get(ctx, client.ObjectKey{Name: name}, &vwc); err != nil {
		return fmt.Errorf("reading the webhook configuration: %w", err)
	}
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig.CABundle = cl.ca.PEM
	}
	if err := cl.c.Update(ctx, &vwc); err != nil {
		return fmt.Errorf("updating the webhook configuration: %w", err)
	}
	probe := &igv1.ImageVerification{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Spec: igv1.ImageVerificationSpec{
		Image: "probe", Digest: "sha256:" + strings.Repeat("0", 64), PolicyHash: "sha256:" + strings.Repeat("0", 64),
		Policy: igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: "probe"}}}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = cl.c.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the API server does not reach the webhook: %w (last: %w)", err, last)
	}
	return nil
}

// whoAmI asks the API server which user the tests' credentials are.
func whoAmI(c client.Client) (string, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(context.Background(), r); err != nil {
		return "", fmt.Errorf("self subject review: %w", err)
	}
	if r.Status.UserInfo.Username == "" {
		return "", errors.New("self subject review: no username")
	}
	return r.Status.UserInfo.Username, nil
}
