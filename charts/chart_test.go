package charts

import (
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/fleetbot/fleetbot/internal/config"
)

// valueSet is one way of installing the chart: testdata/values/NAME.yaml,
// or the doc-th values example of docs/helm.md, with the secrets as a
// person passes them, and what it must render.
type valueSet struct {
	name string
	doc  int
	// setFiles are the secret values given with --set-file, from testSecrets.
	setFiles []string
	// existing is the data of the Secret secret.existingSecret names, as the
	// cluster holds it; the chart renders no Secret then.
	existing map[string]string
	want     rendered
}

// rendered is what a value set must render.
type rendered struct {
	objects        []string // Kind/name, sorted
	workload       string   // StatefulSet or Deployment
	replicas       int32
	image          string
	serviceAccount string
	appID          int64
	dynamoDBTable  string // empty: the bbolt store
	logLevel       slog.Level
	apiToken       bool   // the operations API is on
	ingressHost    string // empty: no Ingress
}

var appVersion = mustAppVersion()

func valueSets() []valueSet {
	image := "ghcr.io/fleetbot/fleetbot:" + appVersion
	return []valueSet{{
		name:     "bolt",
		setFiles: []string{"privateKey", "webhookSecret"},
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "PodDisruptionBudget/fleetbot", "Secret/fleetbot", "Service/fleetbot", "ServiceAccount/fleetbot", "StatefulSet/fleetbot"},
			workload:       "StatefulSet",
			replicas:       1,
			image:          image,
			serviceAccount: "fleetbot",
			appID:          1234567,
		},
	}, {
		name:     "dynamodb",
		setFiles: []string{"privateKey", "webhookSecret"},
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "Deployment/fleetbot", "PodDisruptionBudget/fleetbot", "Secret/fleetbot", "Service/fleetbot", "ServiceAccount/fleetbot", "ServiceMonitor/fleetbot"},
			workload:       "Deployment",
			replicas:       3,
			image:          image,
			serviceAccount: "fleetbot",
			appID:          42,
			dynamoDBTable:  "fleetbot",
			logLevel:       slog.LevelDebug,
		},
	}, {
		name: "existing-secret",
		existing: map[string]string{
			"app.pem": "", // filled with the test key
			"hook":    "9d2c0c1f0f7a4c5e8a6b",
			"token":   "4f1e6c2b9a7d8e3f5c0b1a2d3e4f5a6b",
		},
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "Deployment/fleetbot", "PodDisruptionBudget/fleetbot", "Service/fleetbot"},
			workload:       "Deployment",
			replicas:       2,
			image:          image,
			serviceAccount: "fleetbot-pod-identity",
			appID:          7,
			dynamoDBTable:  "fleetbot-state",
			apiToken:       true,
		},
	}, {
		name:     "ingress",
		setFiles: []string{"privateKey", "webhookSecret", "apiToken"},
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "Ingress/fleetbot", "PodDisruptionBudget/fleetbot", "Secret/fleetbot", "Service/fleetbot", "ServiceAccount/fleetbot", "ServiceMonitor/fleetbot", "StatefulSet/fleetbot"},
			workload:       "StatefulSet",
			replicas:       1,
			image:          "ghcr.io/fleetbot/fleetbot:0.1.0-rc.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			serviceAccount: "fleetbot",
			appID:          99,
			apiToken:       true,
			ingressHost:    "fleetbot.acme.example",
		},
	}}
}

// helmDoc is the page of the chart; its values examples must install.
const helmDoc = "../docs/helm.md"

// docValueSets are the values examples of docs/helm.md, in order.
func docValueSets() []valueSet {
	existing := map[string]string{"private-key.pem": "", "webhook-secret": "9d2c0c1f0f7a4c5e8a6b"}
	return []valueSet{{
		name: "docs-bolt", doc: 1, existing: existing,
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "Ingress/fleetbot", "PodDisruptionBudget/fleetbot", "Service/fleetbot", "ServiceAccount/fleetbot", "StatefulSet/fleetbot"},
			workload:       "StatefulSet",
			replicas:       1,
			image:          "ghcr.io/fleetbot/fleetbot:" + appVersion,
			serviceAccount: "fleetbot",
			appID:          123456,
			ingressHost:    "fleetbot.acme.example",
		},
	}, {
		name: "docs-dynamodb", doc: 2, existing: existing,
		want: rendered{
			objects:        []string{"ConfigMap/fleetbot", "Deployment/fleetbot", "PodDisruptionBudget/fleetbot", "Service/fleetbot", "ServiceAccount/fleetbot", "ServiceMonitor/fleetbot"},
			workload:       "Deployment",
			replicas:       3,
			image:          "ghcr.io/fleetbot/fleetbot:" + appVersion,
			serviceAccount: "fleetbot",
			appID:          123456,
			dynamoDBTable:  "fleetbot",
		},
	}}
}

// docExample returns the n-th YAML block of docs/helm.md.
func docExample(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile(helmDoc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) != len(docValueSets()) {
		t.Fatalf("%s has %d values examples, the test knows %d", helmDoc, len(blocks), len(docValueSets()))
	}
	return blocks[n-1][1]
}

// args are Helm's arguments for the value set: its values file and the
// secrets it passes from files.
func (v valueSet) args(t *testing.T) []string {
	t.Helper()
	s := mustSecrets(t)
	files := map[string]string{"privateKey": s.privateKey, "webhookSecret": s.webhookSecret, "apiToken": s.apiToken}
	values := filepath.Join("testdata", "values", v.name+".yaml")
	if v.doc > 0 {
		values = filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(values, []byte(docExample(t, v.doc)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--namespace", namespace, "-f", values}
	for _, f := range v.setFiles {
		args = append(args, "--set-file", "secret."+f+"="+files[f])
	}
	return args
}

// existingSecret is the data of the Secret the value set names, with the
// test's private key under the key left empty for it.
func (v valueSet) existingSecret(t *testing.T) map[string][]byte {
	t.Helper()
	if v.existing == nil {
		return nil
	}
	key, err := os.ReadFile(mustSecrets(t).privateKey)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for k, s := range v.existing {
		if s == "" {
			s = string(key)
		}
		data[k] = []byte(s)
	}
	return data
}

func TestLint(t *testing.T) {
	t.Parallel()
	for _, v := range append(valueSets(), docValueSets()...) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			if out, err := helm(t, append([]string{"lint", "--strict", chart}, v.args(t)...)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	for _, v := range append(valueSets(), docValueSets()...) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, append([]string{"template", release, chart}, v.args(t)...)...)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeManifests(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(objs); !slices.Equal(got, v.want.objects) {
				t.Fatalf("rendered %v, want %v", got, v.want.objects)
			}
			pod, claims := checkWorkload(t, objs, v.want)
			checkConfig(t, objs, pod, claims, v)
			checkService(t, objs, pod, v.want)
		})
	}
}

// checkWorkload checks the StatefulSet or Deployment and returns its pod
// template and volume claim templates.
func checkWorkload(t *testing.T, objs []object, want rendered) (corev1.PodTemplateSpec, []corev1.PersistentVolumeClaim) {
	t.Helper()
	var (
		pod      corev1.PodTemplateSpec
		claims   []corev1.PersistentVolumeClaim
		replicas *int32
		selector map[string]string
	)
	switch want.workload {
	case "StatefulSet":
		s := only[appsv1.StatefulSet](t, objs)
		pod, claims, replicas, selector = s.Spec.Template, s.Spec.VolumeClaimTemplates, s.Spec.Replicas, s.Spec.Selector.MatchLabels
		if len(claims) != 1 {
			t.Errorf("StatefulSet: want one volume claim template for the bbolt file, got %d", len(claims))
		}
	case "Deployment":
		d := only[appsv1.Deployment](t, objs)
		pod, replicas, selector = d.Spec.Template, d.Spec.Replicas, d.Spec.Selector.MatchLabels
	default:
		t.Fatalf("unknown workload %s", want.workload)
	}
	if replicas == nil || *replicas != want.replicas {
		t.Errorf("%s: replicas %v, want %d", want.workload, replicas, want.replicas)
	}
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: selector %v does not select its pods %v", want.workload, selector, pod.Labels)
	}
	for _, a := range []string{"checksum/config"} {
		if pod.Annotations[a] == "" {
			t.Errorf("pod template: no %s annotation: a changed configuration would not restart serve", a)
		}
	}
	spec := pod.Spec
	if spec.ServiceAccountName != want.serviceAccount {
		t.Errorf("pod: service account %q, want %q", spec.ServiceAccountName, want.serviceAccount)
	}
	if sas := every[corev1.ServiceAccount](objs); len(sas) == 1 && sas[0].Name != spec.ServiceAccountName {
		t.Errorf("the chart makes service account %s, the pod runs as %s", sas[0].Name, spec.ServiceAccountName)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want runAsNonRoot and the RuntimeDefault seccomp profile", psc)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("pod: %d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if c.Image != want.image {
		t.Errorf("image %s, want %s", c.Image, want.image)
	}
	if got := strings.Join(c.Args, " "); got != "serve --config /etc/fleetbot/config.yaml" {
		t.Errorf("args %q, want serve --config /etc/fleetbot/config.yaml", got)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Error("container: no security context")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container: the root file system is not read-only")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container: privilege escalation is allowed")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container: runAsNonRoot is not set")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("container: capabilities %+v, want every one dropped", sc.Capabilities)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("container: resources %+v, want cpu and memory requests and a memory limit", c.Resources)
	}
	for probe, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != probe || containerPort(c, p.HTTPGet.Port.StrVal) == 0 {
			t.Errorf("container: want a probe on %s at a named container port, got %+v", probe, p)
		}
	}
	// Every mount names a volume of the pod or a claim template.
	for _, m := range c.VolumeMounts {
		if volume(spec, m.Name) == nil && !slices.ContainsFunc(claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == m.Name }) {
			t.Errorf("mount %s at %s: no such volume", m.Name, m.MountPath)
		}
	}
	return pod, claims
}

// checkConfig lays out the configuration directory as the kubelet would
// mount it (the ConfigMap and the Secret the projected volume names) and
// loads it with serve's loader, then checks that what the configuration
// names is where the pod can use it.
func checkConfig(t *testing.T, objs []object, pod corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim, v valueSet) {
	t.Helper()
	spec := pod.Spec
	c := spec.Containers[0]
	configFile := c.Args[len(c.Args)-1]
	m := mount(c, configFile)
	if m == nil {
		t.Fatalf("the configuration %s is on no volume", configFile)
	}
	vol := volume(spec, m.Name)
	if vol == nil || vol.Projected == nil {
		t.Fatalf("the configuration's volume %s is not a projected volume", m.Name)
	}
	dir := t.TempDir()
	for _, src := range vol.Projected.Sources {
		var (
			data  map[string][]byte
			items []corev1.KeyToPath
			what  string
		)
		switch {
		case src.ConfigMap != nil:
			what, items = "ConfigMap "+src.ConfigMap.Name, src.ConfigMap.Items
			for _, cm := range every[corev1.ConfigMap](objs) {
				if cm.Name == src.ConfigMap.Name {
					data = map[string][]byte{}
					for k, s := range cm.Data {
						data[k] = []byte(s)
					}
				}
			}
		case src.Secret != nil:
			what, items = "Secret "+src.Secret.Name, src.Secret.Items
			for _, s := range every[corev1.Secret](objs) {
				if s.Name == src.Secret.Name {
					data = s.Data
				}
			}
			if data == nil && len(v.existing) > 0 {
				data = v.existingSecret(t)
			}
		default:
			t.Fatalf("projected volume %s: a source neither ConfigMap nor Secret", m.Name)
		}
		if data == nil {
			t.Fatalf("the pod mounts %s, which neither the chart nor the value set makes", what)
		}
		for _, it := range items {
			b, ok := data[it.Key]
			if !ok {
				t.Fatalf("%s has no key %s: the pod would not start", what, it.Key)
			}
			p := filepath.Join(dir, filepath.FromSlash(it.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(configFile, m.MountPath), "/")
	cfg, err := config.Load(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("serve would refuse the rendered configuration:\n%v", err)
	}

	want := v.want
	if cfg.AppID != want.appID {
		t.Errorf("appID %d, want %d", cfg.AppID, want.appID)
	}
	if cfg.LogLevel != want.logLevel {
		t.Errorf("log level %s, want %s", cfg.LogLevel, want.logLevel)
	}
	if got := len(cfg.API.Token) > 0; got != want.apiToken {
		t.Errorf("operations API on: %v, want %v", got, want.apiToken)
	}
	if _, port, _ := strings.Cut(cfg.Listen, ":"); port != strconv.Itoa(int(containerPort(c, "http"))) {
		t.Errorf("serve listens on %s, the container port http is %d", cfg.Listen, containerPort(c, "http"))
	}
	if _, port, _ := strings.Cut(cfg.MetricsListen, ":"); port != "" && port != strconv.Itoa(int(containerPort(c, "metrics"))) {
		t.Errorf("serve serves /metrics on %s, the container port metrics is %d", cfg.MetricsListen, containerPort(c, "metrics"))
	}
	if cfg.MetricsListen == "" && containerPort(c, "metrics") != 0 {
		t.Errorf("the container port metrics is %d, but serve serves /metrics on http", containerPort(c, "metrics"))
	}
	// The root file system is read-only: what serve writes must be on a
	// writable volume.
	if m := mount(c, cfg.MirrorDir); m == nil || m.ReadOnly || volume(spec, m.Name) == nil || volume(spec, m.Name).EmptyDir == nil {
		t.Errorf("mirrorDir %s is on no writable emptyDir", cfg.MirrorDir)
	}
	if m := mount(c, "/tmp/x"); m == nil || m.ReadOnly {
		t.Error("/tmp is not writable")
	}
	switch {
	case want.dynamoDBTable != "":
		if cfg.Store.DynamoDB == nil || cfg.Store.DynamoDB.Table != want.dynamoDBTable {
			t.Errorf("store %+v, want the DynamoDB table %s", cfg.Store, want.dynamoDBTable)
		}
	case cfg.Store.Bolt == nil:
		t.Errorf("store %+v, want a bbolt file", cfg.Store)
	default:
		m := mount(c, cfg.Store.Bolt.Path)
		if m == nil || m.ReadOnly || !slices.ContainsFunc(claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == m.Name }) {
			t.Errorf("the bbolt file %s is on no writable volume of a PersistentVolumeClaim", cfg.Store.Bolt.Path)
		}
	}
}

// checkService checks that the Service reaches the pods, and the Ingress,
// the ServiceMonitor and the PodDisruptionBudget reach the Service or the
// pods.
func checkService(t *testing.T, objs []object, pod corev1.PodTemplateSpec, want rendered) {
	t.Helper()
	c := pod.Spec.Containers[0]
	svc := only[corev1.Service](t, objs)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	svcPort := func(name string) bool {
		return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name })
	}
	for _, p := range svc.Spec.Ports {
		if containerPort(c, p.TargetPort.StrVal) == 0 {
			t.Errorf("Service port %s: target %s is no container port", p.Name, p.TargetPort.String())
		}
	}
	pdb := only[policyv1.PodDisruptionBudget](t, objs)
	if pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(pod.Labels)) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
	}
	for _, sm := range every[monitoringv1.ServiceMonitor](objs) {
		if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, svc.Labels)
		}
		if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
			t.Errorf("ServiceMonitor looks in %v, want %s", sm.Spec.NamespaceSelector.MatchNames, namespace)
		}
		for _, e := range sm.Spec.Endpoints {
			if !svcPort(e.Port) || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s %s: want /metrics on a port of the Service", e.Port, e.Path)
			}
			port := "http"
			if containerPort(c, "metrics") != 0 {
				port = "metrics"
			}
			if e.Port != port {
				t.Errorf("ServiceMonitor endpoint on port %s, want %s: the container port /metrics is served on", e.Port, port)
			}
		}
	}
	ings := every[networkingv1.Ingress](objs)
	if want.ingressHost == "" {
		return
	}
	ing := ings[0]
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != want.ingressHost || ing.Spec.Rules[0].HTTP == nil {
		t.Fatalf("Ingress rules %+v, want one for %s", ing.Spec.Rules, want.ingressHost)
	}
	var paths []string
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		paths = append(paths, p.Path)
		b := p.Backend.Service
		if b == nil || b.Name != svc.Name || !svcPort(b.Port.Name) {
			t.Errorf("Ingress path %s: backend %+v is not a port of the Service %s", p.Path, b, svc.Name)
		}
	}
	if !slices.Contains(paths, "/webhook") {
		t.Errorf("Ingress paths %v: GitHub's deliveries to /webhook are not routed", paths)
	}
	if slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix("/metrics", p) }) {
		t.Errorf("Ingress paths %v expose /metrics", paths)
	}
	if len(ing.Spec.TLS) != 1 || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{want.ingressHost}) {
		t.Errorf("Ingress TLS %+v, want %s", ing.Spec.TLS, want.ingressHost)
	}
}

// mount returns the container's mount p is on (the longest mount path
// holding it), or nil.
func mount(c corev1.Container, p string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if rel := strings.TrimPrefix(path.Clean(p), path.Clean(m.MountPath)); rel != path.Clean(p) && (rel == "" || rel[0] == '/') {
			if best == nil || len(m.MountPath) > len(best.MountPath) {
				best = &c.VolumeMounts[i]
			}
		}
	}
	return best
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// containerPort returns the number of the container's port name, 0 when it
// has none of that name.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name && name != "" {
			return p.ContainerPort
		}
	}
	return 0
}

func TestNotes(t *testing.T) {
	t.Parallel()
	for _, v := range valueSets() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, append([]string{"install", release, chart, "--dry-run=client", "--hide-secret"}, v.args(t)...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, notes, ok := strings.Cut(out, "\nNOTES:\n")
			if !ok {
				t.Fatalf("no NOTES in helm install's output:\n%s", out)
			}
			checkGolden(t, filepath.Join("notes", v.name+".txt"), notes)
		})
	}
}
