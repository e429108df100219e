package testenv

import (
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageRepositoryMod changes an ImageRepository's spec.
type ImageRepositoryMod func(*imagev1.ImageRepositorySpec)

// ImageRepository builds an ImageRepository of image, as ImagePolicy's
// imageRepositoryRef names it.
func ImageRepository(namespace, name, image string, mods ...ImageRepositoryMod) *imagev1.ImageRepository {
	r := &imagev1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       imagev1.ImageRepositorySpec{Image: image, Interval: metav1.Duration{Duration: time.Minute}},
	}
	for _, m := range mods {
		m(&r.Spec)
	}
	return r
}

// WithSecretRef sets spec.secretRef.
func WithSecretRef(name string) ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.SecretRef = &meta.LocalObjectReference{Name: name} }
}

// WithServiceAccountName sets spec.serviceAccountName.
func WithServiceAccountName(name string) ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.ServiceAccountName = name }
}

// WithCertSecretRef sets spec.certSecretRef.
func WithCertSecretRef(name string) ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.CertSecretRef = &meta.LocalObjectReference{Name: name} }
}

// WithProxySecretRef sets spec.proxySecretRef.
func WithProxySecretRef(name string) ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.ProxySecretRef = &meta.LocalObjectReference{Name: name} }
}

// WithInsecure sets spec.insecure.
func WithInsecure() ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.Insecure = true }
}

// WithProvider sets spec.provider.
func WithProvider(p string) ImageRepositoryMod {
	return func(s *imagev1.ImageRepositorySpec) { s.Provider = p }
}

// PullSecret builds a kubernetes.io/dockerconfigjson Secret.
func PullSecret(namespace, name string, dockerConfigJSON []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: dockerConfigJSON},
	}
}

// OpaqueSecret builds an Opaque Secret with data given as strings.
func OpaqueSecret(namespace, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// ServiceAccount builds a ServiceAccount listing pullSecrets as its
// imagePullSecrets.
func ServiceAccount(namespace, name string, pullSecrets ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	for _, p := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	return sa
}
