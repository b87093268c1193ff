package deploy

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigyaml "sigs.k8s.io/yaml"
)

// k8sKinds maps apiVersion/kind to the API type a manifest document decodes into.
var k8sKinds = map[string]func() any{
	"v1/Namespace":                                    func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                               func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                                    func() any { return &corev1.ConfigMap{} },
	"v1/Service":                                      func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                              func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                             func() any { return &appsv1.StatefulSet{} },
	"apps/v1/DaemonSet":                               func() any { return &appsv1.DaemonSet{} },
	"autoscaling/v2/HorizontalPodAutoscaler":          func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":                   func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":              func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":               func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding":        func() any { return &rbacv1.RoleBinding{} },
	"rbac.authorization.k8s.io/v1/ClusterRole":        func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
}

// kustomization is the part of kustomize's Kustomization the manifests use.
type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// workload is a Deployment, StatefulSet or DaemonSet seen through what the checks need.
type workload struct {
	kind, name string
	replicas   *int32 // nil for a DaemonSet
	selector   *metav1.LabelSelector
	pod        corev1.PodTemplateSpec
	claims     []string // a StatefulSet's volume claim templates
}

// manifests are the decoded objects of deploy/k8s.
type manifests struct {
	objects    []any
	workloads  []workload
	pdbs       []*policyv1.PodDisruptionBudget
	hpas       []*autoscalingv2.HorizontalPodAutoscaler
	netpols    []*networkingv1.NetworkPolicy
	services   []*corev1.Service
	configMaps map[string]*corev1.ConfigMap
	accounts   map[string]bool
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// loadManifests decodes every document of deploy/k8s/*.yaml (but the kustomization) into its
// API type, refusing unknown kinds and unknown fields.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	m := manifests{configMaps: map[string]*corev1.ConfigMap{}, accounts: map[string]bool{}}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for i, doc := range docSeparator.Split(string(readFile(t, f)), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			obj, err := decodeManifest([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			m.add(obj)
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// decodeManifest decodes one YAML document strictly: YAML to JSON (duplicate keys refused),
// then into the API type of its apiVersion and kind with unknown fields refused.
func decodeManifest(doc []byte) (any, error) {
	js, err := sigyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := sigyaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	newObj, ok := k8sKinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("unexpected kind %s/%s", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := decodeJSONStrict(js, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

func (m *manifests) add(obj any) {
	m.objects = append(m.objects, obj)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		m.workloads = append(m.workloads, workload{kind: "Deployment", name: o.Name, replicas: o.Spec.Replicas, selector: o.Spec.Selector, pod: o.Spec.Template})
	case *appsv1.StatefulSet:
		w := workload{kind: "StatefulSet", name: o.Name, replicas: o.Spec.Replicas, selector: o.Spec.Selector, pod: o.Spec.Template}
		for _, c := range o.Spec.VolumeClaimTemplates {
			w.claims = append(w.claims, c.Name)
		}
		m.workloads = append(m.workloads, w)
	case *appsv1.DaemonSet:
		m.workloads = append(m.workloads, workload{kind: "DaemonSet", name: o.Name, selector: o.Spec.Selector, pod: o.Spec.Template})
	case *policyv1.PodDisruptionBudget:
		m.pdbs = append(m.pdbs, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		m.hpas = append(m.hpas, o)
	case *networkingv1.NetworkPolicy:
		m.netpols = append(m.netpols, o)
	case *corev1.Service:
		m.services = append(m.services, o)
	case *corev1.ConfigMap:
		m.configMaps[o.Name] = o
	case *corev1.ServiceAccount:
		m.accounts[o.Name] = true
	}
}

func (m manifests) workload(kind, name string) (workload, bool) {
	for _, w := range m.workloads {
		if w.kind == kind && w.name == name {
			return w, true
		}
	}
	return workload{}, false
}

func TestKubernetes_ManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.objects) < 20 {
		t.Errorf("only %d objects decoded", len(m.objects))
	}
	// The strict decoder refuses what the API would silently drop.
	for _, bad := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 3}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
	} {
		if _, err := decodeManifest([]byte(bad)); err == nil {
			t.Errorf("decodeManifest accepted %q", bad)
		}
	}
}

func TestKubernetes_KustomizationListsEveryManifest(t *testing.T) {
	var k kustomization
	if err := decodeYAMLStrict(readFile(t, filepath.Join("k8s", "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}
	if k.Namespace != "sovereign" || len(k.Images) != 1 || k.Images[0].Name != "sovereign" {
		t.Errorf("kustomization: namespace %q, images %+v", k.Namespace, k.Images)
	}
}

func TestKubernetes_ReplicaCounts(t *testing.T) {
	m := loadManifests(t)
	for _, c := range []struct {
		kind, name string
		replicas   int32
	}{
		{"Deployment", "registry", 3},
		{"Deployment", "teg", 2},
		{"Deployment", "opa-bundle", 2},
		{"StatefulSet", "spire-server", 2},
	} {
		w, ok := m.workload(c.kind, c.name)
		if !ok {
			t.Errorf("no %s %s", c.kind, c.name)
			continue
		}
		if w.replicas == nil || *w.replicas != c.replicas {
			got := "unset"
			if w.replicas != nil {
				got = fmt.Sprint(*w.replicas)
			}
			t.Errorf("%s %s: replicas %s, want %d", c.kind, c.name, got, c.replicas)
		}
	}
	if _, ok := m.workload("DaemonSet", "spire-agent"); !ok {
		t.Error("no DaemonSet spire-agent")
	}
}

// rootExceptions are the workloads allowed to run as root, with why.
var rootExceptions = map[string]string{
	"spire-agent": "workload attestation reads the callers' /proc on the host",
}

func TestKubernetes_PodsAreHardenedProbedAndBounded(t *testing.T) {
	m := loadManifests(t)
	for _, w := range m.workloads {
		where := w.kind + " " + w.name
		pod := w.pod.Spec
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || !sel.Matches(labels.Set(w.pod.Labels)) {
			t.Errorf("%s: selector %v does not match its pod labels %v", where, w.selector, w.pod.Labels)
		}
		if pod.ServiceAccountName == "" || !m.accounts[pod.ServiceAccountName] {
			t.Errorf("%s: service account %q is not defined", where, pod.ServiceAccountName)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: no RuntimeDefault seccomp profile", where)
		}
		if _, root := rootExceptions[w.name]; !root {
			sc := pod.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Errorf("%s: pod securityContext must set runAsNonRoot and a non-zero runAsUser", where)
			}
			if pod.HostPID || pod.HostNetwork {
				t.Errorf("%s: host namespaces", where)
			}
		}
		all := append(slices.Clone(pod.InitContainers), pod.Containers...)
		for _, c := range all {
			cw := where + " container " + c.Name
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					t.Errorf("%s: no %s request", cw, res)
				}
				if _, ok := c.Resources.Limits[res]; !ok {
					t.Errorf("%s: no %s limit", cw, res)
				}
			}
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: securityContext must refuse privilege escalation, mount the root read-only and drop ALL capabilities", cw)
			}
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s: privileged", cw)
			}
			checkMounts(t, cw, c, w, m)
		}
		for _, c := range pod.Containers {
			cw := where + " container " + c.Name
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Errorf("%s: liveness and readiness probes required", cw)
				continue
			}
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.StrVal != "" && !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal }) {
					t.Errorf("%s: probe port %q is not a named port of the container", cw, p.HTTPGet.Port.StrVal)
				}
			}
			if c.Image == "sovereign" {
				checkSovereignContainer(t, cw, c, m)
			}
		}
	}
}

// checkMounts checks that every volume a container mounts is defined by its pod, and that
// every ConfigMap a pod mounts exists (sovereign-policy excepted: it is made from policy/rego
// at deploy time).
func checkMounts(t *testing.T, where string, c corev1.Container, w workload, m manifests) {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		i := slices.IndexFunc(w.pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 {
			if !slices.Contains(w.claims, vm.Name) {
				t.Errorf("%s: mounts undefined volume %q", where, vm.Name)
			}
			continue
		}
		if cmv := w.pod.Spec.Volumes[i].ConfigMap; cmv != nil && cmv.Name != "sovereign-policy" {
			if _, ok := m.configMaps[cmv.Name]; !ok {
				t.Errorf("%s: volume %q is ConfigMap %q, which is not defined", where, vm.Name, cmv.Name)
			}
		}
	}
}

// checkSovereignContainer checks a container of the sovereign image: a server command, the
// real health endpoints as probes, and only environment variables sovereign reads.
func checkSovereignContainer(t *testing.T, where string, c corev1.Container, m manifests) {
	t.Helper()
	if !isSovereignCommand(c.Args) {
		t.Errorf("%s: args %v are not a sovereign server command %v", where, c.Args, sovereignCommands)
	}
	if p := c.LivenessProbe.HTTPGet; p == nil || p.Path != "/healthz" {
		t.Errorf("%s: liveness probe must GET /healthz", where)
	}
	if p := c.ReadinessProbe.HTTPGet; p == nil || p.Path != "/readyz" {
		t.Errorf("%s: readiness probe must GET /readyz", where)
	}
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name)
	}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("%s: envFrom other than a ConfigMap", where)
			continue
		}
		cm, ok := m.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom ConfigMap %q is not defined", where, from.ConfigMapRef.Name)
			continue
		}
		for k := range cm.Data {
			env = append(env, k)
		}
	}
	checkSovereignEnv(t, where, env)
}

func TestKubernetes_DisruptionBudgetsCoverEveryReplicatedWorkload(t *testing.T) {
	m := loadManifests(t)
	for _, w := range m.workloads {
		if w.replicas == nil {
			continue
		}
		var covering []*policyv1.PodDisruptionBudget
		for _, p := range m.pdbs {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				t.Errorf("PDB %s: %v", p.Name, err)
				continue
			}
			if !sel.Empty() && sel.Matches(labels.Set(w.pod.Labels)) {
				covering = append(covering, p)
			}
		}
		if len(covering) != 1 {
			t.Errorf("%s %s: %d PodDisruptionBudgets select it, want 1", w.kind, w.name, len(covering))
			continue
		}
		p := covering[0]
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() < 1 || int32(p.Spec.MinAvailable.IntValue()) >= *w.replicas {
			t.Errorf("PDB %s: minAvailable %v must be at least 1 and below the %d replicas (else no node can drain)", p.Name, p.Spec.MinAvailable, *w.replicas)
		}
	}
	for _, p := range m.pdbs {
		sel, _ := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if !slices.ContainsFunc(m.workloads, func(w workload) bool { return sel.Matches(labels.Set(w.pod.Labels)) }) {
			t.Errorf("PDB %s selects no workload", p.Name)
		}
	}
}

func TestKubernetes_NetworkPolicyForEveryWorkload(t *testing.T) {
	m := loadManifests(t)
	denyAll := false
	for _, p := range m.netpols {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 && len(p.Spec.Ingress) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			denyAll = true
		}
	}
	if !denyAll {
		t.Error("no default-deny ingress NetworkPolicy")
	}
	for _, w := range m.workloads {
		found := false
		for _, p := range m.netpols {
			sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
			if err != nil {
				t.Errorf("NetworkPolicy %s: %v", p.Name, err)
				continue
			}
			if !sel.Empty() && sel.Matches(labels.Set(w.pod.Labels)) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: no NetworkPolicy selects its pods", w.kind, w.name)
		}
	}
}

func TestKubernetes_ServicesReachTheirPods(t *testing.T) {
	m := loadManifests(t)
	for _, s := range m.services {
		var pods []corev1.PodTemplateSpec
		for _, w := range m.workloads {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.pod.Labels)) {
				pods = append(pods, w.pod)
			}
		}
		if len(pods) == 0 {
			t.Errorf("Service %s selects no workload", s.Name)
			continue
		}
		for _, sp := range s.Spec.Ports {
			name := sp.TargetPort.StrVal
			if name == "" {
				continue
			}
			if !slices.ContainsFunc(pods[0].Spec.Containers, func(c corev1.Container) bool {
				return slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == name })
			}) {
				t.Errorf("Service %s: targetPort %q is not a named container port", s.Name, name)
			}
		}
	}
}

func TestKubernetes_BundleScriptIsTheRepositoryOne(t *testing.T) {
	m := loadManifests(t)
	cm, ok := m.configMaps["opa-bundle"]
	if !ok {
		t.Fatal("no ConfigMap opa-bundle")
	}
	if got, want := cm.Data["build-bundle.sh"], string(readFile(t, filepath.Join("opa", "build-bundle.sh"))); got != want {
		t.Error("ConfigMap opa-bundle's build-bundle.sh differs from deploy/opa/build-bundle.sh: copy it again")
	}
	nginx := string(readFile(t, filepath.Join("compose", "nginx", "bundle.conf")))
	if got, want := strings.TrimSpace(cm.Data["default.conf"]), strings.TrimSpace(stripComments(nginx)); got != want {
		t.Errorf("ConfigMap opa-bundle's default.conf differs from deploy/compose/nginx/bundle.conf:\n%s\nwant\n%s", got, want)
	}
}

// TestKubernetes_AutoscalersStartFromTheReplicaCounts checks that each autoscaler targets a
// Deployment of the manifests, never goes below its replica count, and that the pods it scales
// on CPU request CPU (utilization is measured against the request).
func TestKubernetes_AutoscalersStartFromTheReplicaCounts(t *testing.T) {
	m := loadManifests(t)
	if len(m.hpas) == 0 {
		t.Fatal("no HorizontalPodAutoscaler")
	}
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		w, ok := m.workload(ref.Kind, ref.Name)
		if !ok || ref.APIVersion != "apps/v1" {
			t.Errorf("HPA %s targets %s %s %s, which is not in the manifests", h.Name, ref.APIVersion, ref.Kind, ref.Name)
			continue
		}
		if h.Spec.MinReplicas == nil || w.replicas == nil || *h.Spec.MinReplicas != *w.replicas || h.Spec.MaxReplicas <= *h.Spec.MinReplicas {
			t.Errorf("HPA %s: min %v max %d, want min = the Deployment's replicas and max above", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		for _, c := range w.pod.Spec.Containers {
			if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
				t.Errorf("HPA %s: container %s has no CPU request to measure utilization against", h.Name, c.Name)
			}
		}
	}
}
