package main

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/iomeshcluster"
	"github.com/kubectl-iomesh/kubectl-iomesh/pkg/placement"
)

// components are the pods the operator runs per IOMeshCluster, with their containers.
var components = []struct {
	name       string
	containers []string
}{
	{"chunk", []string{"zbs-chunkd", "chunk-exporter", "device-manager"}},
	{"meta", []string{"iomesh-meta", "meta-exporter"}}, // the docs exec into iomesh-meta
}

// ensureStatefulSets runs the chunk and meta StatefulSets of an IOMeshCluster that no Helm
// release manages, as the real operator does for every cluster: replicas, images and podPolicy
// from the spec, one pod of a kind per node. (The stand-in chart renders its own for the
// Helm-managed cluster.)
func (r *reconciler) ensureStatefulSets(ctx context.Context, cr *iomeshcluster.IOMeshCluster) error {
	if cr.Annotations["meta.helm.sh/release-name"] != "" {
		return nil
	}
	for _, c := range components {
		want, err := statefulSet(cr, c.name, c.containers)
		if err != nil {
			return err
		}
		sts := r.kube.AppsV1().StatefulSets(cr.Namespace)
		cur, err := sts.Get(ctx, want.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := sts.Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating StatefulSet %s/%s: %w", want.Namespace, want.Name, err)
			}
		case err != nil:
			return err
		case *cur.Spec.Replicas != *want.Spec.Replicas:
			cur.Spec.Replicas = want.Spec.Replicas
			if _, err := sts.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("scaling StatefulSet %s/%s: %w", cur.Namespace, cur.Name, err)
			}
		}
	}
	return nil
}

func statefulSet(cr *iomeshcluster.IOMeshCluster, component string, containers []string) (*appsv1.StatefulSet, error) {
	name := cr.Name + "-" + component
	spec := cr.Spec.Component(component)
	var replicas int64
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	repo, tag := spec.Image.Repository, spec.Image.Tag
	var policy placement.Policy
	if len(spec.PodPolicy) > 0 {
		if err := json.Unmarshal(spec.PodPolicy, &policy); err != nil {
			return nil, fmt.Errorf("spec.%s.podPolicy: %w", component, err)
		}
	}
	affinity := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
	}}}}
	if policy.Affinity != nil {
		affinity.NodeAffinity = policy.Affinity.NodeAffinity
	}
	r32 := int32(replicas)
	labels := map[string]string{"app": name, "iomesh.com/component": component}
	var cs []corev1.Container
	for _, c := range containers {
		cs = append(cs, corev1.Container{Name: c, Image: repo + ":" + tag})
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cr.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: cr.APIVersion, Kind: cr.Kind, Name: cr.Name, UID: cr.UID}}},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: name, Replicas: &r32, PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: cs, NodeSelector: policy.NodeSelector, Tolerations: policy.Tolerations, Affinity: affinity}, // kwok runs the pods; they never start a real container.

			},
		},
	}, nil
}
