package charts

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	chart     = "fleetbot" // the chart's directory
	release   = "fleetbot"
	namespace = "fleetbot"
)

// helmPath is the Helm of this module's tool directive, built (or found in
// the build cache) by the go command: the version go.mod pins, never one
// from the machine's PATH.
var helmPath = sync.OnceValues(func() (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "-n", "helm")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n helm: %w\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
})

// helm runs the pinned Helm with args, away from the user's Helm
// configuration and any cluster. A non-zero exit is err, with the output.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := helmPath()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// secrets are the App's key, a webhook secret and an API token, in files
// for --set-file, as a person installing the chart has them.
type secrets struct{ privateKey, webhookSecret, apiToken string }

var testSecrets = sync.OnceValues(func() (secrets, error) {
	dir, err := os.MkdirTemp("", "fleetbot-chart-")
	if err != nil {
		return secrets{}, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return secrets{}, err
	}
	s := secrets{
		privateKey:    filepath.Join(dir, "app.pem"),
		webhookSecret: filepath.Join(dir, "webhook-secret"),
		apiToken:      filepath.Join(dir, "api-token"),
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	for path, b := range map[string][]byte{
		s.privateKey:    pemKey,
		s.webhookSecret: []byte("9d2c0c1f0f7a4c5e8a6b\n"),
		s.apiToken:      []byte("4f1e6c2b9a7d8e3f5c0b1a2d3e4f5a6b\n"),
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return secrets{}, err
		}
	}
	return s, nil
})

func mustSecrets(t *testing.T) secrets {
	t.Helper()
	s, err := testSecrets()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMain removes the files of testSecrets.
func TestMain(m *testing.M) {
	code := m.Run()
	if s, err := testSecrets(); err == nil {
		_ = os.RemoveAll(filepath.Dir(s.privateKey))
	}
	os.Exit(code)
}

// object is one rendered manifest, decoded into its Go type.
type object struct {
	apiVersion, kind, name string
	obj                    any
}

// kinds are the Go types of what the chart may render. A kind missing here
// fails the test: every rendered object is decoded into its type.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

// decodeManifests decodes every YAML document of out strictly into the Go
// type of its kind: an unknown field, a field set twice or a value of the
// wrong type is an error, as the API server would refuse it.
func decodeManifests(out string) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	var objs []object
	var errs []error
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("split the manifests: %w", err)
		}
		var tm struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", doc, err))
			continue
		}
		if tm.Kind == "" {
			continue // a document of comments only
		}
		id := tm.APIVersion + "/" + tm.Kind
		newObj, ok := kinds[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s: no Go type for this kind in the test", id, tm.Metadata.Name))
			continue
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", id, tm.Metadata.Name, err))
			continue
		}
		objs = append(objs, object{apiVersion: tm.APIVersion, kind: tm.Kind, name: tm.Metadata.Name, obj: obj})
	}
	return objs, errors.Join(errs...)
}

// only returns the one object of type T, failing unless there is exactly
// one.
func only[T any](t *testing.T, objs []object) *T {
	t.Helper()
	all := every[T](objs)
	if len(all) != 1 {
		var zero T
		t.Fatalf("want one %T, rendered %d", zero, len(all))
	}
	return all[0]
}

// every returns the objects of type T.
func every[T any](objs []object) []*T {
	var all []*T
	for _, o := range objs {
		if v, ok := o.obj.(*T); ok {
			all = append(all, v)
		}
	}
	return all
}

// ids lists the objects as Kind/name, sorted.
func ids(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.kind+"/"+o.name)
	}
	sort.Strings(out)
	return out
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test -update to write it", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
