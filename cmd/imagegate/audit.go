package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/imagegate/imagegate/internal/audit"
)

// Exit statuses of `imagegate audit`, in the style of `imagegate verify`.
const (
	auditClean       = 0 // no finding of the --fail-on kinds
	auditFinding     = 1 // at least one finding of the --fail-on kinds
	auditUsage       = 2 // usage error; nothing judged
	auditUnavailable = 3 // the history could not be read, or (--reverify) a registry could not be reached
)

type auditFlags struct {
	repo, branch, path, since string
	allowedSigners, keyring   string
	output, failOn            string
	maxFileBytes              int64
	failKinds                 map[audit.Kind]bool
	reverify, allowInsecure   bool
	allImages                 bool
	policies                  stringList
	kubeconfig, namespace     string
	remote                    remoteFlags
}

func parseAuditFlags(args []string, stderr io.Writer) (auditFlags, error) {
	var f auditFlags
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.repo, "repo", ".", "local clone of the GitOps repository, or its URL (https://, http://, ssh:// or user@host:path), cloned for the audit and removed after")
	fs.StringVar(&f.branch, "branch", "HEAD", "branch (any revision) whose first-parent history is audited")
	fs.StringVar(&f.path, "path", "", "audit only files under this path of the repository")
	fs.BoolVar(&f.allImages, "all-images", false, "judge every container and image-volume image of the Pods and workloads in changed files, not only setter-marked fields")
	fs.StringVar(&f.since, "since", "", "audit only commits after this one; its history seeds what counts as verified")
	fs.StringVar(&f.allowedSigners, "allowed-signers", "", "SSH allowed-signers file (git's gpg.ssh.allowedSignersFile format) of the gate's keys")
	fs.StringVar(&f.keyring, "keyring", "", "armored OpenPGP public keys of the gate")
	fs.StringVar(&f.output, "output", "table", "output format: table, json or github (workflow commands)")
	fs.StringVar(&f.failOn, "fail-on", "all", "comma-separated findings that make the exit status 1: all, "+joinAllKinds())
	fs.BoolVar(&f.reverify, "reverify", false, "verify each digest again under the --policy files or, with --kubeconfig, the cluster's policies (no-longer-verifies)")
	fs.Var(&f.policies, "policy", "with --reverify: file of TrustPolicy/ClusterTrustPolicy YAML documents (repeatable)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "with --reverify, instead of --policy: verify under the cluster's trust policies (the namespace a commit's Verified-Policy names, else --namespace, with the ClusterTrustPolicies as the floor)")
	fs.StringVar(&f.namespace, "namespace", "", "with --kubeconfig: namespace whose TrustPolicies judge entries whose trailers name none")
	fs.BoolVar(&f.allowInsecure, "allow-insecure-registry", false, "with --reverify: allow plain HTTP registries")
	fs.Int64Var(&f.maxFileBytes, "max-file-bytes", audit.DefaultMaxFileBytes, "largest file version read; bigger ones are reported skipped")
	f.remote.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagegate audit [--repo PATH|URL] [--branch B] [--path P] [--since REV] [--all-images] [--allowed-signers FILE] [--keyring FILE] [--output table|json|github] [--fail-on LIST]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var err error
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.output != "table" && f.output != "json" && f.output != "github":
		return f, fmt.Errorf("--output %q: want table, json or github", f.output)
	case f.maxFileBytes <= 0:
		return f, fmt.Errorf("--max-file-bytes %d: want a positive number", f.maxFileBytes)
	case f.reverify && len(f.policies) == 0 && f.kubeconfig == "":
		return f, errors.New("--reverify needs at least one --policy FILE, or --kubeconfig")
	case len(f.policies) > 0 && f.kubeconfig != "":
		return f, errors.New("--policy and --kubeconfig: give one source of policies")
	case !f.reverify && (len(f.policies) > 0 || f.kubeconfig != ""):
		return f, errors.New("--policy and --kubeconfig are read only with --reverify")
	case f.namespace != "" && f.kubeconfig == "":
		return f, errors.New("--namespace is read only with --kubeconfig")
	case f.remote.given() && !isRepoURL(f.repo):
		return f, errors.New("--username and the credential files are read only with a --repo URL")
	}
	if isRepoURL(f.repo) {
		if err = checkRepoURL(f.repo); err != nil {
			return f, err
		}
	}
	if err = f.remote.validate(); err != nil {
		return f, err
	}
	if f.failKinds, err = audit.ParseKinds(f.failOn); err != nil {
		return f, fmt.Errorf("--fail-on: %w", err)
	}
	return f, nil
}

func joinAllKinds() string {
	s := ""
	for i, k := range audit.AllKinds {
		if i > 0 {
			s += ", "
		}
		s += string(k)
	}
	return s
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseAuditFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHelp
		}
		fmt.Fprintf(stderr, "imagegate audit: %v\n", err)
		return auditUsage
	}
	var policies policiesFor
	switch {
	case f.kubeconfig != "":
		if policies, err = clusterPolicies(ctx, f.kubeconfig, f.namespace); err != nil {
			return auditError(stderr, err)
		}
	case f.reverify:
		set, err := loadPolicies(ctx, f.policies)
		if err != nil {
			fmt.Fprintf(stderr, "imagegate audit: %v\n", err)
			return auditUsage
		}
		policies = filePolicies(set)
	}
	signers, err := audit.LoadSigners(f.allowedSigners, f.keyring)
	if err != nil {
		fmt.Fprintf(stderr, "imagegate audit: %v\n", err)
		return auditUsage
	}
	if f.allowedSigners == "" && f.keyring == "" {
		fmt.Fprintln(stderr, "imagegate audit: warning: no --allowed-signers or --keyring: no commit can be the gate's")
	}
	repo := f.repo
	if isRepoURL(f.repo) {
		if repo, err = cloneForAudit(ctx, f.repo, f.branch, f.remote); err != nil {
			return auditError(stderr, err)
		}
		defer func() { _ = os.RemoveAll(repo) }()
	}
	rep, err := audit.Run(ctx, audit.Options{
		Repo: repo, Branch: f.branch, Path: f.path, Since: f.since,
		Signers: signers, MaxFileBytes: f.maxFileBytes, AllImages: f.allImages,
	})
	if err != nil {
		return auditError(stderr, err)
	}
	if f.reverify {
		reverify(ctx, rep, policies, f.allowInsecure)
	}
	if err := writeAudit(stdout, f.output, rep, f.failKinds); err != nil {
		fmt.Fprintf(stderr, "imagegate audit: %v\n", err)
		return auditUnavailable
	}
	return auditStatus(rep, f.failKinds)
}

// auditError reports an error that ended the audit before a report:
// exit 2 for what the caller must fix, 3 for what may pass on a retry.
func auditError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "imagegate audit: %v\n", err)
	var usage usageError
	if errors.Is(err, audit.ErrUsage) || errors.As(err, &usage) {
		return auditUsage
	}
	return auditUnavailable
}

func auditStatus(rep *audit.Report, fail map[audit.Kind]bool) int {
	for k, n := range rep.Findings {
		if n > 0 && fail[k] {
			return auditFinding
		}
	}
	if rep.Unavailable > 0 {
		return auditUnavailable
	}
	return auditClean
}
