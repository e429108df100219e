package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// identityFlags are cosign verify's flags for who must have signed, spelled
// as cosign spells them. Without --policy, imagegate verify makes one
// ClusterTrustPolicy of them covering every image, and compiles it as it
// compiles any policy, so the rules (anchored regexps, key formats) are
// the same as in the cluster.
type identityFlags struct {
	key                                     string
	identity, identityRegexp                string
	issuer, issuerRegexp                    string
	trustedRoot                             string
	ghTrigger, ghSHA, ghName, ghRepo, ghRef string
}

func (f *identityFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.key, "key", "", "PEM public key file (ECDSA, RSA or Ed25519) the signature must verify with")
	fs.StringVar(&f.identity, "certificate-identity", "", "keyless: the certificate's exact subject (SAN)")
	fs.StringVar(&f.identityRegexp, "certificate-identity-regexp", "", "keyless: RE2 the subject must match; must be anchored (^...$), unlike cosign")
	fs.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the certificate's exact OIDC issuer")
	fs.StringVar(&f.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: RE2 the issuer must match; must be anchored (^...$)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted_root.json file (Fulcio, Rekor, CT and TSA keys)")
	fs.StringVar(&f.ghTrigger, "certificate-github-workflow-trigger", "", "keyless: the certificate's GitHub workflow trigger, e.g. push")
	fs.StringVar(&f.ghSHA, "certificate-github-workflow-sha", "", "keyless: the commit the GitHub workflow ran on")
	fs.StringVar(&f.ghName, "certificate-github-workflow-name", "", "keyless: the GitHub workflow's name")
	fs.StringVar(&f.ghRepo, "certificate-github-workflow-repository", "", "keyless: the GitHub repository, owner/name")
	fs.StringVar(&f.ghRef, "certificate-github-workflow-ref", "", "keyless: the Git ref, e.g. refs/tags/v1.2.3")
}

// set reports whether any of the flags was given.
func (f *identityFlags) set() bool { return f.key != "" || f.keyless() }

func (f *identityFlags) keyless() bool {
	return f.identity != "" || f.identityRegexp != "" || f.issuer != "" || f.issuerRegexp != "" ||
		f.trustedRoot != "" || f.extensions() != nil
}

func (f *identityFlags) extensions() *igv1.CertificateExtensions {
	e := igv1.CertificateExtensions{
		GithubWorkflowTrigger: f.ghTrigger, GithubWorkflowSHA: f.ghSHA, GithubWorkflowName: f.ghName,
		GithubWorkflowRepository: f.ghRepo, GithubWorkflowRef: f.ghRef,
	}
	if e == (igv1.CertificateExtensions{}) {
		return nil
	}
	return &e
}

// validate checks the combination as cosign does: a key, or an identity
// and an issuer with a trusted root. The regexps are checked here, so the
// error names the flag.
func (f *identityFlags) validate() error {
	if f.key != "" {
		if f.keyless() {
			return errors.New("--key and the --certificate-*/--trusted-root flags are alternatives: a signature is made with a key or keyless")
		}
		return nil
	}
	switch {
	case (f.identity == "") == (f.identityRegexp == ""):
		return errors.New("keyless verification needs one of --certificate-identity or --certificate-identity-regexp")
	case (f.issuer == "") == (f.issuerRegexp == ""):
		return errors.New("keyless verification needs one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
	case f.trustedRoot == "":
		return errors.New("keyless verification needs --trusted-root FILE, a Sigstore trusted_root.json")
	}
	for flagName, expr := range map[string]string{"--certificate-identity-regexp": f.identityRegexp, "--certificate-oidc-issuer-regexp": f.issuerRegexp} {
		if expr == "" {
			continue
		}
		if _, err := policy.CompileAnchored(expr); err != nil {
			return fmt.Errorf("%s: %w", flagName, err)
		}
	}
	return nil
}

// flagPolicyRef names the policy made of the flags in results.
var flagPolicyRef = policy.Ref{Kind: "ClusterTrustPolicy", Name: "command-line"}

// policy reads the files the flags name and compiles the one policy they
// describe: every image, one authority, every signature must verify.
func (f *identityFlags) policy(ctx context.Context) (*policy.Set, error) {
	spec := &igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "**"}}}
	secrets := fileSecrets{}
	if f.key != "" {
		pem, err := os.ReadFile(f.key)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		spec.Authorities = []igv1.Authority{{Name: "key", Key: &igv1.KeyAuthority{Data: string(pem)}}}
	} else {
		raw, err := os.ReadFile(f.trustedRoot)
		if err != nil {
			return nil, fmt.Errorf("--trusted-root: %w", err)
		}
		ref := igv1.SecretKeyRef{Namespace: "file", Name: "trusted-root", Key: f.trustedRoot}
		secrets[ref] = raw
		spec.Authorities = []igv1.Authority{{Name: "keyless", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{
				Issuer: f.issuer, IssuerRegExp: f.issuerRegexp,
				Subject: f.identity, SubjectRegExp: f.identityRegexp,
				Extensions: f.extensions(),
			}},
			TrustedRoot: igv1.TrustedRoot{SecretRef: ref},
		}}}
	}
	p, err := policy.Compile(ctx, flagPolicyRef, spec, secrets)
	if err != nil {
		return nil, fmt.Errorf("the flags: %w", err)
	}
	return policy.NewSet([]*policy.Policy{p}), nil
}

// fileSecrets serves the files read for the flags as the Secret values a
// compiled policy reads.
type fileSecrets map[igv1.SecretKeyRef][]byte

func (s fileSecrets) SecretValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	v, ok := s[igv1.SecretKeyRef{Namespace: namespace, Name: name, Key: key}]
	if !ok {
		return nil, fmt.Errorf("no file for %s/%s %s", namespace, name, key)
	}
	return v, nil
}
