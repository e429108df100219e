package testenv

import (
	"time"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// Builders of test objects, cert-manager style: a constructor with the
// required fields and modifier functions for the rest.

// TrustPolicySpecMod changes a TrustPolicySpec.
type TrustPolicySpecMod func(*igv1.TrustPolicySpec)

// KeyPolicySpec covers glob with one key authority per PEM, named key-0,
// key-1, ...
func KeyPolicySpec(glob string, pems ...[]byte) igv1.TrustPolicySpec {
	s := igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: glob}}}
	for i, p := range pems {
		s.Authorities = append(s.Authorities, igv1.Authority{
			Name: "key-" + string(rune('0'+i)), Key: &igv1.KeyAuthority{Data: string(p)},
		})
	}
	return s
}

// ClusterTrustPolicy builds a ClusterTrustPolicy.
func ClusterTrustPolicy(name string, spec igv1.TrustPolicySpec, mods ...TrustPolicySpecMod) *igv1.ClusterTrustPolicy {
	for _, m := range mods {
		m(&spec)
	}
	return &igv1.ClusterTrustPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

// TrustPolicy builds a TrustPolicy.
func TrustPolicy(namespace, name string, spec igv1.TrustPolicySpec, mods ...TrustPolicySpecMod) *igv1.TrustPolicy {
	for _, m := range mods {
		m(&spec)
	}
	return &igv1.TrustPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
}

// WithRequire sets require mode and threshold (0: none).
func WithRequire(mode string, threshold int32) TrustPolicySpecMod {
	return func(s *igv1.TrustPolicySpec) {
		s.Require = &igv1.Require{Mode: mode}
		if threshold > 0 {
			s.Require.Threshold = &threshold
		}
	}
}

// WithMode sets enforce or warn.
func WithMode(m igv1.PolicyMode) TrustPolicySpecMod {
	return func(s *igv1.TrustPolicySpec) { s.Mode = m }
}

// WithRequireDigest turns requireDigest on.
func WithRequireDigest() TrustPolicySpecMod {
	return func(s *igv1.TrustPolicySpec) { s.RequireDigest = true }
}

// WithException adds an exception.
func WithException(glob, reason string, expires time.Time) TrustPolicySpecMod {
	return func(s *igv1.TrustPolicySpec) {
		s.Exceptions = append(s.Exceptions, igv1.Exception{Glob: glob, Reason: reason, Expires: metav1.Time{Time: expires}})
	}
}

// ImagePolicy builds an ImagePolicy of an ImageRepository of the same name
// (status is set separately with the status client).
func ImagePolicy(namespace, name string, labels map[string]string) *imagev1.ImagePolicy {
	return &imagev1.ImagePolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: imagev1.ImagePolicySpec{
			ImageRepositoryRef: meta.NamespacedObjectReference{Name: name},
			Policy:             imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{}},
		},
	}
}

// GitRepository builds a GitRepository of url on branch.
func GitRepository(namespace, name, url, branch string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: sourcev1.GitRepositorySpec{
			URL: url, Interval: metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: branch},
		},
	}
}

// ImageGateMod changes an ImageGate.
type ImageGateMod func(*igv1.ImageGate)

// ImageGate builds an ImageGate writing to the GitRepository repo under
// path, as the author "imagegate".
func ImageGate(namespace, name, repo, path string, mods ...ImageGateMod) *igv1.ImageGate {
	g := &igv1.ImageGate{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: igv1.ImageGateSpec{
			SourceRef: iacv1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: repo},
			Interval:  metav1.Duration{Duration: 5 * time.Minute},
			GitSpec: &iacv1.GitSpec{
				Commit: iacv1.CommitSpec{Author: iacv1.CommitUser{Name: "imagegate", Email: "imagegate@example.com"}},
			},
			Update: &iacv1.UpdateStrategy{Strategy: iacv1.UpdateStrategySetters, Path: path},
		},
	}
	for _, m := range mods {
		m(g)
	}
	return g
}

// PodSpecMod changes a pod spec, of a Pod or of a workload's template.
type PodSpecMod func(*corev1.PodSpec)

// WithImageVolume adds a volume whose source is the OCI image ref (an
// image volume, KEP-4639: the kubelet pulls it as it pulls container
// images) and mounts it read-only at /mnt/NAME in every container the spec
// has so far.
func WithImageVolume(name, ref string) PodSpecMod {
	return func(s *corev1.PodSpec) {
		s.Volumes = append(s.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			Image: &corev1.ImageVolumeSource{Reference: ref, PullPolicy: corev1.PullIfNotPresent}}})
		for i := range s.Containers {
			s.Containers[i].VolumeMounts = append(s.Containers[i].VolumeMounts,
				corev1.VolumeMount{Name: name, MountPath: "/mnt/" + name, ReadOnly: true})
		}
	}
}
