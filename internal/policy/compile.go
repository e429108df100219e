package policy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// ErrInvalidPolicy wraps every reason a policy does not compile.
var ErrInvalidPolicy = errors.New("invalid trust policy")

// SecretReader returns one key of a Secret's data.
type SecretReader interface {
	SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error)
}

// Compile turns a policy's spec into its verification form. Secrets named
// by a TrustPolicy must be in its own namespace; a ClusterTrustPolicy must
// name the namespace. The hash covers the spec, the policy's identity and
// the contents of every Secret it reads, so rotating a key in a Secret
// invalidates earlier verifications just as editing the spec does.
func Compile(ctx context.Context, ref Ref, spec *igv1.TrustPolicySpec, secrets SecretReader, opts ...CompileOption) (*Policy, error) {
	c := compiler{ctx: ctx, ref: ref, secrets: secrets, hash: newHasher(ref, spec)}
	for _, o := range opts {
		o(&c)
	}
	p, err := c.compile(spec)
	if err != nil {
		return nil, fmt.Errorf("%w %s %s: %w", ErrInvalidPolicy, ref.Kind, ref, err)
	}
	return p, nil
}

type compiler struct {
	ctx     context.Context
	ref     Ref
	secrets SecretReader
	hash    *hasher
	// publicGood serves keyless authorities without a trustedRoot; read
	// once per compile, so all of them share one snapshot.
	publicGood     PublicGoodSource
	publicGoodRoot *PublicGoodRoot
}

func (c *compiler) compile(spec *igv1.TrustPolicySpec) (*Policy, error) {
	p := &Policy{Ref: c.ref, RequireDigest: spec.RequireDigest, Mode: ModeEnforce, TLog: TLogOffline, Require: Require{Mode: RequireAll}}
	if spec.Mode == igv1.PolicyModeWarn {
		p.Mode = ModeWarn
	}
	var err error
	if p.TLog, p.RekorURL, err = compileTLog(spec.TLog); err != nil {
		return nil, err
	}
	if p.Images, err = compileGlobs(spec.Images); err != nil {
		return nil, err
	}
	if len(spec.Authorities) == 0 {
		return nil, errors.New("spec.authorities: at least one authority is required")
	}
	seen := map[string]bool{}
	for i := range spec.Authorities {
		a, err := c.authority(&spec.Authorities[i])
		if err != nil {
			return nil, fmt.Errorf("spec.authorities[%d]: %w", i, err)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("spec.authorities[%d]: duplicate name %q", i, a.Name)
		}
		seen[a.Name] = true
		p.Authorities = append(p.Authorities, a)
	}
	if p.Require, err = compileRequire(spec.Require, len(p.Authorities)); err != nil {
		return nil, err
	}
	if p.Pullability, err = compilePullability(spec.Pullability); err != nil {
		return nil, err
	}
	for i, e := range spec.Exceptions {
		g, err := ParseGlob(e.Glob)
		if err != nil {
			return nil, fmt.Errorf("spec.exceptions[%d].glob: %w", i, err)
		}
		p.Exceptions = append(p.Exceptions, Exception{Glob: g, Reason: e.Reason, Expires: e.Expires.Time})
	}
	p.Hash = c.hash.sum()
	return p, nil
}

func compileGlobs(globs []igv1.ImageGlob) ([]Glob, error) {
	if len(globs) == 0 {
		return nil, errors.New("spec.images: at least one glob is required")
	}
	out := make([]Glob, 0, len(globs))
	for i, ig := range globs {
		g, err := ParseGlob(ig.Glob)
		if err != nil {
			return nil, fmt.Errorf("spec.images[%d].glob: %w", i, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func compileRequire(r *igv1.Require, n int) (Require, error) {
	if r == nil || r.Mode == "" || r.Mode == string(RequireAll) {
		return Require{Mode: RequireAll}, nil
	}
	if r.Mode == string(RequireAny) {
		return Require{Mode: RequireAny}, nil
	}
	if r.Mode != string(RequireThreshold) {
		return Require{}, fmt.Errorf("spec.require.mode: %q is not all, any or threshold", r.Mode)
	}
	if r.Threshold == nil || *r.Threshold < 1 || int(*r.Threshold) > n {
		return Require{}, fmt.Errorf("spec.require.threshold: must be between 1 and %d (the number of authorities)", n)
	}
	return Require{Mode: RequireThreshold, Threshold: int(*r.Threshold)}, nil
}

func compileTLog(t *igv1.TLog) (TLogMode, string, error) {
	mode, rekor := TLogOffline, DefaultRekorURL
	if t == nil {
		return mode, rekor, nil
	}
	switch TLogMode(t.Mode) {
	case "":
	case TLogOffline, TLogOnline, TLogIgnore:
		mode = TLogMode(t.Mode)
	default:
		return "", "", fmt.Errorf("spec.tlog.mode: %q is not offline, online or ignore", t.Mode)
	}
	if t.RekorURL != "" {
		u, err := url.Parse(t.RekorURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", "", fmt.Errorf("spec.tlog.rekorURL: %q is not an http(s) URL of a Rekor server, such as %s", t.RekorURL, DefaultRekorURL)
		}
		rekor = strings.TrimSuffix(t.RekorURL, "/")
	}
	return mode, rekor, nil
}

func compilePullability(pl *igv1.Pullability) (Pullability, error) {
	if pl == nil {
		return Pullability{}, nil
	}
	out := Pullability{Enabled: pl.Enabled}
	for i, s := range pl.Platforms {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return Pullability{}, fmt.Errorf("spec.pullability.platforms[%d]: %w", i, err)
		}
		out.Platforms = append(out.Platforms, *p)
	}
	return out, nil
}

func (c *compiler) authority(a *igv1.Authority) (Authority, error) {
	out := Authority{Name: a.Name}
	set := 0
	if a.Key != nil {
		set++
		k, err := c.key(a.Key)
		if err != nil {
			return out, fmt.Errorf("key: %w", err)
		}
		out.Key = k
	}
	if a.Keyless != nil {
		set++
		k, err := c.keyless(a.Keyless)
		if err != nil {
			return out, fmt.Errorf("keyless: %w", err)
		}
		out.Keyless = k
	}
	if a.Static != nil {
		set++
		if a.Static.Action != "pass" && a.Static.Action != "fail" {
			return out, fmt.Errorf("static.action: %q is not pass or fail", a.Static.Action)
		}
		out.Static = &StaticAuthority{Pass: a.Static.Action == "pass"}
	}
	if set != 1 {
		return out, fmt.Errorf("authority %q needs exactly one of key, keyless or static", a.Name)
	}
	return out, nil
}

func (c *compiler) key(k *igv1.KeyAuthority) (*KeyAuthority, error) {
	pemBytes := []byte(k.Data)
	if k.SecretRef != nil {
		if k.Data != "" {
			return nil, errors.New("set data or secretRef, not both")
		}
		b, err := c.secret(k.SecretRef)
		if err != nil {
			return nil, fmt.Errorf("secretRef: %w", err)
		}
		pemBytes = b
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("not a PEM public key (ECDSA, RSA or Ed25519): %w", err)
	}
	out := &KeyAuthority{PublicKey: pub, PEM: pemBytes}
	switch k.TLog {
	case "", "optional":
	case "required":
		// Without Rekor keys an entry cannot be verified, and accepting an
		// unverified one would make required mean nothing.
		if k.TrustedRoot == nil {
			return nil, errors.New("tlog: required needs trustedRoot, the trusted_root.json whose Rekor keys verify the entry; add key.trustedRoot.secretRef or set tlog optional")
		}
		if out.TrustedRoot, err = c.trustedRoot(&k.TrustedRoot.SecretRef); err != nil {
			return nil, err
		}
		out.TLogRequired = true
	default:
		return nil, fmt.Errorf("tlog: %q is not optional or required", k.TLog)
	}
	return out, nil
}

func (c *compiler) keyless(k *igv1.KeylessAuthority) (*KeylessAuthority, error) {
	if len(k.Identities) == 0 {
		return nil, errors.New("identities: at least one identity is required")
	}
	out := &KeylessAuthority{}
	for i, id := range k.Identities {
		cid, err := compileIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("identities[%d]: %w", i, err)
		}
		out.Identities = append(out.Identities, cid)
	}
	if !k.TrustedRoot.IsSet() {
		pg, err := c.publicGoodSnapshot()
		if err != nil {
			return nil, err
		}
		out.PublicGood, out.TrustedRoot = pg, pg.Root
		return out, nil
	}
	tr, err := c.trustedRoot(&k.TrustedRoot.SecretRef)
	if err != nil {
		return nil, err
	}
	out.TrustedRoot = tr
	return out, nil
}

// trustedRoot reads and parses a trusted_root.json from a Secret.
func (c *compiler) trustedRoot(ref *igv1.SecretKeyRef) (*root.TrustedRoot, error) {
	b, err := c.secret(ref)
	if err != nil {
		return nil, fmt.Errorf("trustedRoot.secretRef: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trustedRoot: not a Sigstore trusted_root.json: %w", err)
	}
	return tr, nil
}

// publicGoodSnapshot reads the public-good root once per compile and adds
// its digest to the hash. A root that could not be obtained is not an
// error of the policy: verification reports it as Unavailable.
func (c *compiler) publicGoodSnapshot() (*PublicGoodRoot, error) {
	if c.publicGood == nil {
		return nil, errors.New("trustedRoot: not set, and the Sigstore public-good root is disabled here (--tuf-mirror=off, or imagegate verify); name a Secret holding a trusted_root.json")
	}
	if c.publicGoodRoot == nil {
		pg := c.publicGood.PublicGood()
		c.publicGoodRoot = &pg
		c.hash.field("sigstore-public-good")
		c.hash.field(pg.Digest)
	}
	return c.publicGoodRoot, nil
}

func compileIdentity(id igv1.Identity) (Identity, error) {
	out := Identity{Issuer: id.Issuer, Subject: id.Subject}
	if (id.Issuer == "") == (id.IssuerRegExp == "") {
		return out, errors.New("exactly one of issuer or issuerRegExp is required")
	}
	if (id.Subject == "") == (id.SubjectRegExp == "") {
		return out, errors.New("exactly one of subject or subjectRegExp is required")
	}
	var err error
	if id.IssuerRegExp != "" {
		if out.IssuerRegExp, err = CompileAnchored(id.IssuerRegExp); err != nil {
			return out, fmt.Errorf("issuerRegExp: %w", err)
		}
	}
	if id.SubjectRegExp != "" {
		if out.SubjectRegExp, err = CompileAnchored(id.SubjectRegExp); err != nil {
			return out, fmt.Errorf("subjectRegExp: %w", err)
		}
	}
	out.Extensions = compileExtensions(id.Extensions)
	return out, nil
}

// secret reads a Secret key, enforcing the namespace rule, and adds its
// contents to the hash.
func (c *compiler) secret(ref *igv1.SecretKeyRef) ([]byte, error) {
	ns := ref.Namespace
	switch {
	case c.ref.Namespace != "" && ns == "":
		ns = c.ref.Namespace
	case c.ref.Namespace != "" && ns != c.ref.Namespace:
		return nil, fmt.Errorf("a TrustPolicy in namespace %q may read Secrets only from its own namespace, not %q", c.ref.Namespace, ns)
	case c.ref.Namespace == "" && ns == "":
		return nil, fmt.Errorf("secret %q: a ClusterTrustPolicy must name the Secret's namespace", ref.Name)
	}
	if c.secrets == nil {
		return nil, fmt.Errorf("secret %s/%s: no Secret reader configured", ns, ref.Name)
	}
	b, err := c.secrets.SecretValue(c.ctx, ns, ref.Name, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s key %q: %w", ns, ref.Name, ref.Key, err)
	}
	c.hash.addSecret(ns, ref.Name, ref.Key, b)
	return b, nil
}
