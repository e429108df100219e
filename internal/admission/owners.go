package admission

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOwners reads controllers from the manager's informer cache, which
// CacheOptions slims to names, UIDs and template images (containers' and
// image volumes'): the webhook watches every ReplicaSet, Job, StatefulSet,
// DaemonSet, ReplicationController, Deployment and CronJob of the
// cluster, and keeping whole objects would cost far more memory than it
// needs.
type CacheOwners struct {
	Reader client.Reader // the manager's cache
}

// Owner implements OwnerReader.
func (o CacheOwners) Owner(ctx context.Context, kind schema.GroupKind, namespace, name string) (Owner, bool, error) {
	obj, ok := newOwnerObject(kind)
	if !ok {
		return Owner{}, false, nil
	}
	if err := o.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return Owner{}, false, nil
		}
		return Owner{}, false, fmt.Errorf("reading %s %s/%s from the cache: %w", kind.Kind, namespace, name, err)
	}
	tmpl := templateOf(obj)
	if tmpl == nil {
		return Owner{}, false, nil
	}
	return Owner{UID: string(obj.GetUID()), Images: templateImages(&tmpl.Spec)}, true, nil
}

// ownerKinds are the kinds the webhook keeps in its cache to approve
// children: the controllers of Pods, ReplicaSets and Jobs.
func ownerKinds() []client.Object {
	return []client.Object{&appsv1.ReplicaSet{}, &batchv1.Job{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{},
		&corev1.ReplicationController{}, &appsv1.Deployment{}, &batchv1.CronJob{}}
}

func newOwnerObject(kind schema.GroupKind) (client.Object, bool) {
	switch (groupKind{Group: kind.Group, Kind: kind.Kind}) {
	case kindReplicaSet:
		return &appsv1.ReplicaSet{}, true
	case kindJob:
		return &batchv1.Job{}, true
	case kindStatefulSet:
		return &appsv1.StatefulSet{}, true
	case kindDaemonSet:
		return &appsv1.DaemonSet{}, true
	case kindReplicationController:
		return &corev1.ReplicationController{}, true
	case kindDeployment:
		return &appsv1.Deployment{}, true
	case kindCronJob:
		return &batchv1.CronJob{}, true
	}
	return nil, false
}

// templateOf returns the pod template of a controller; nil for other
// objects or a ReplicationController without one.
func templateOf(obj any) *corev1.PodTemplateSpec {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return &o.Spec.Template
	case *batchv1.Job:
		return &o.Spec.Template
	case *appsv1.StatefulSet:
		return &o.Spec.Template
	case *appsv1.DaemonSet:
		return &o.Spec.Template
	case *corev1.ReplicationController:
		return o.Spec.Template
	case *appsv1.Deployment:
		return &o.Spec.Template
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template
	}
	return nil
}

// templateImages lists the images a child copies from a template: its
// containers' and its image volumes' (review.go lists the fields that name
// images). A template holds no ephemeral containers: the API server
// refuses them outside Pods.
func templateImages(p *corev1.PodSpec) []string {
	out := make([]string, 0, len(p.InitContainers)+len(p.Containers)+len(p.Volumes))
	for _, c := range p.InitContainers {
		out = append(out, c.Image)
	}
	for _, c := range p.Containers {
		out = append(out, c.Image)
	}
	for _, v := range p.Volumes {
		if v.Image != nil {
			out = append(out, v.Image.Reference)
		}
	}
	return out
}

// slimOwner is the cache transform of the owner kinds: it keeps what the
// child step reads (name, namespace, UID, resourceVersion, the name and
// image of each template container, and the name and reference of each
// image volume) and drops the rest before the object is stored. What it
// drops, templateImages cannot see: a field naming an image that is not
// kept here would make children holding it verified instead of admitted
// as children, so the two change together (TestSlimOwnerKeepsEveryTemplateImage).
func slimOwner(obj any) (any, error) {
	tmpl := templateOf(obj)
	if tmpl == nil {
		return obj, nil // a tombstone or a kind without template: keep as is
	}
	slim := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		InitContainers: slimContainers(tmpl.Spec.InitContainers),
		Containers:     slimContainers(tmpl.Spec.Containers),
		Volumes:        slimImageVolumes(tmpl.Spec.Volumes),
	}}
	m, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	meta := metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion()}
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return &appsv1.ReplicaSet{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Template: slim}}, nil
	case *batchv1.Job:
		return &batchv1.Job{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: batchv1.JobSpec{Template: slim}}, nil
	case *appsv1.StatefulSet:
		return &appsv1.StatefulSet{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Template: slim}}, nil
	case *appsv1.DaemonSet:
		return &appsv1.DaemonSet{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Template: slim}}, nil
	case *corev1.ReplicationController:
		return &corev1.ReplicationController{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Template: &slim}}, nil
	case *appsv1.Deployment:
		return &appsv1.Deployment{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Template: slim}}, nil
	case *batchv1.CronJob:
		return &batchv1.CronJob{TypeMeta: o.TypeMeta, ObjectMeta: meta, Spec: batchv1.CronJobSpec{
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: slim}}}}, nil
	}
	return obj, nil
}

func slimContainers(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image}
	}
	return out
}

// slimImageVolumes keeps the volumes with an image source, by name and
// reference.
func slimImageVolumes(vs []corev1.Volume) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range vs {
		if v.Image != nil {
			out = append(out, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				Image: &corev1.ImageVolumeSource{Reference: v.Image.Reference}}})
		}
	}
	return out
}
