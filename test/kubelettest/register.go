package kubelettest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Container is the name of the one container of the pods AddPod creates.
const Container = "main"

// NodeName is the name of the kubelet's Node.
func (k *Kubelet) NodeName() string { return fmt.Sprintf("kubelettest-%d", k.Port) }

// Register creates the kubelet's Node and sets its status as a kubelet does: Ready, address
// InternalIP 127.0.0.1 and the kubelet endpoint's port, where kube-apiserver connects for a
// pod's logs, exec and port-forward.
func (k *Kubelet) Register(t testing.TB, client kubernetes.Interface) {
	t.Helper()
	nodes := client.CoreV1().Nodes()
	node, err := nodes.Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.NodeName()}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", k.NodeName(), err)
	}
	node.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(k.Port)}}, //nolint:gosec // a TCP port fits
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
	}
	if _, err := nodes.UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update node %s's status: %v", k.NodeName(), err)
	}
}

// AddPod creates pod namespace/name bound to the kubelet's Node (Register it first), with one
// container, Container, and sets its status Running, as kubectl exec and port-forward require.
func (k *Kubelet) AddPod(t testing.TB, client kubernetes.Interface, namespace, name string) {
	t.Helper()
	pods := client.CoreV1().Pods(namespace)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		NodeName:                     k.NodeName(),
		AutomountServiceAccountToken: ptr.To(false),
		Containers:                   []corev1.Container{{Name: Container, Image: "kubelettest.invalid/main:1", Ports: k.containerPorts()}},
	}}
	pod, err := pods.Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", namespace, name, err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "127.0.0.1", PodIP: "127.0.0.1", StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: Container, Ready: true, Image: pod.Spec.Containers[0].Image,
			ImageID: "kubelettest", ContainerID: "kubelettest://" + name, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
	if _, err := pods.UpdateStatus(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update pod %s/%s's status: %v", namespace, name, err)
	}
}

func (k *Kubelet) containerPorts() []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, p := range slices.Sorted(maps.Keys(k.ports)) {
		ports = append(ports, corev1.ContainerPort{ContainerPort: p})
	}
	return ports
}
