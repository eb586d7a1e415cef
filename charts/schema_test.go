package charts

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// atPath finds the JSON pointers Helm's schema errors name: "at '/config/appID'".
var atPath = regexp.MustCompile(`at '([^']*)'`)

// TestSchemaRefuses installs the bolt value set with one bad value each: the
// values schema must refuse it, naming the field, and nothing else.
func TestSchemaRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM, blank := filepath.Join(dir, "app.pem"), filepath.Join(dir, "webhook-secret")
	for path, s := range map[string]string{notPEM: "ssh-rsa AAAAB3NzaC1yc2E\n", blank: " \n"} {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bolt := valueSets()[0]
	for _, tc := range []struct {
		name string
		args []string // after the bolt value set's
		// field is the JSON pointer of the value the error must name; every
		// other pointer in the error must lead to it (the allOf around it)
		// or be in it.
		field string
		says  string // and the error says this
	}{
		{"two replicas on bbolt", []string{"--set-json", "replicas=2"}, "/replicas", "must be 1"},
		{"no replica", []string{"--set-json", "replicas=0"}, "/replicas", "minimum"},
		{"a typo at the top", []string{"--set-json", "replicaCount=2"}, "", "'replicaCount' not allowed"},
		{"a field the chart sets", []string{"--set-json", `config.listen=":9090"`}, "/config", "'listen' not allowed"},
		{"metricsListen, which the chart sets", []string{"--set-json", `config.metricsListen=":9091"`}, "/config", "'metricsListen' not allowed"},
		{"a separate metrics port as a word", []string{"--set-json", `metrics.separatePort="yes"`}, "/metrics/separatePort", "want boolean"},
		{"the bbolt path", []string{"--set-json", `config.store={"bolt":{"path":"/data/state.db"}}`}, "/config/store", "'bolt' not allowed"},
		{"appID zero", []string{"--set-json", "config.appID=0"}, "/config/appID", "minimum"},
		{"appID a word", []string{"--set-json", `config.appID="fleetbot"`}, "/config/appID", "want integer"},
		{"apiBaseURL not a URL", []string{"--set-json", `config.apiBaseURL="api.github.com"`}, "/config/apiBaseURL", "does not match"},
		{"campaign repository without owner", []string{"--set-json", `config.campaigns.repository="fleet"`}, "/config/campaigns/repository", "does not match"},
		{"campaign path outside the repository", []string{"--set-json", `config.campaigns.path="../campaigns"`}, "/config/campaigns/path", ""},
		{"no repositories", []string{"--set-json", "config.repositories=[]"}, "/config/repositories", "minItems"},
		{"a repository twice", []string{"--set-json", `config.repositories=["acme/fleet","acme/fleet"]`}, "/config/repositories", "are equal"},
		{"reconcileInterval in words", []string{"--set-json", `config.reconcileInterval="1 minute"`}, "/config/reconcileInterval", "does not match"},
		{"a log level serve does not know", []string{"--set-json", `config.logLevel="verbose"`}, "/config/logLevel", "value must be one of"},
		{"no worker", []string{"--set-json", "config.workers=0"}, "/config/workers", "minimum"},
		{"no pull request at once", []string{"--set-json", "config.openConcurrency=0"}, "/config/openConcurrency", "minimum"},
		{"a retention in days", []string{"--set-json", `config.retention.deliveries="7d"`}, "/config/retention/deliveries", "does not match"},
		{"a typo in retention", []string{"--set-json", `config.retention.campaign="720h"`}, "/config/retention", "'campaign' not allowed"},
		{"the status page on as a word", []string{"--set-json", `config.status.enabled="yes"`}, "/config/status/enabled", "want boolean"},
		{"a status page that never reloads", []string{"--set-json", `config.status.refresh="0s"`}, "/config/status/refresh", ""},
		{"DynamoDB without a table", []string{"--set-json", `config.store={"dynamodb":{"region":"eu-west-1"}}`}, "/config/store/dynamodb", "missing property 'table'"},
		{"a private key that is not PEM", []string{"--set-file", "secret.privateKey=" + notPEM}, "/secret/privateKey", "does not match"},
		{"a blank webhook secret", []string{"--set-file", "secret.webhookSecret=" + blank}, "/secret/webhookSecret", "does not match"},
		{"the secrets beside existingSecret", []string{"--set-json", `secret.existingSecret="github-app"`}, "/secret", "maxLength"},
		{"the API on with a short token", []string{"--set-json", "operationsAPI.enabled=true", "--set-json", `secret.apiToken="short"`}, "/secret/apiToken", "minLength"},
		{"an API token with the API off", []string{"--set-json", `secret.apiToken="4f1e6c2b9a7d8e3f5c0b1a2d3e4f5a6b"`}, "/secret/apiToken", "maxLength"},
		{"an Ingress without a host", []string{"--set-json", "ingress.enabled=true"}, "/ingress/host", "minLength"},
		{"an Ingress path not absolute", []string{"--set-json", `ingress.paths=[{"path":"webhook","pathType":"Exact"}]`}, "/ingress/paths/0/path", "does not match"},
		{"an unknown pull policy", []string{"--set-json", `image.pullPolicy="Sometimes"`}, "/image/pullPolicy", "value must be one of"},
		{"a digest that is a tag", []string{"--set-json", `image.digest="latest"`}, "/image/digest", "does not match"},
		{"a volume size without unit", []string{"--set-json", `persistence.size="10"`}, "/persistence/size", "does not match"},
		{"a mirror size without unit", []string{"--set-json", `mirror.sizeLimit="512"`}, "/mirror/sizeLimit", "does not match"},
		{"a volume size in words", []string{"--set-json", `persistence.size="lots"`}, "/persistence/size", "does not match"},
		{"a scrape interval without unit", []string{"--set-json", `serviceMonitor.interval="30"`}, "/serviceMonitor/interval", "does not match"},
		{"a service port out of range", []string{"--set-json", "service.port=70000"}, "/service/port", "maximum"},
		{"an unknown service type", []string{"--set-json", `service.type="Internal"`}, "/service/type", "value must be one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"template", release, chart}, bolt.args(t)...), tc.args...)
			_, err := helm(t, args...)
			if err == nil {
				t.Fatal("helm template accepted the values")
			}
			msg := err.Error()
			if !strings.Contains(msg, "values don't meet the specifications of the schema") {
				t.Fatalf("not refused by the values schema:\n%s", msg)
			}
			if !strings.Contains(msg, "at '"+tc.field+"'") || !strings.Contains(msg, tc.says) {
				t.Errorf("want an error at %q saying %q:\n%s", tc.field, tc.says, msg)
			}
			for _, m := range atPath.FindAllStringSubmatch(msg, -1) {
				if p := m[1]; p != "" && p != tc.field && !strings.HasPrefix(tc.field, p+"/") && !strings.HasPrefix(p, tc.field+"/") {
					t.Errorf("refused for %s too, not only %s:\n%s", p, tc.field, msg)
				}
			}
		})
	}
}

// TestSchemaNamesWhatToSet installs the chart with its defaults alone: the
// error lists what an installation must give.
func TestSchemaNamesWhatToSet(t *testing.T) {
	t.Parallel()
	_, err := helm(t, "template", release, chart)
	if err == nil {
		t.Fatal("helm template accepted the chart's defaults, which name no App")
	}
	for _, field := range []string{"/config/appID", "/config/campaigns/repository", "/config/repositories", "/secret/privateKey", "/secret/webhookSecret"} {
		if !strings.Contains(err.Error(), "at '"+field+"'") {
			t.Errorf("the error does not name %s:\n%v", field, err)
		}
	}
}

// TestDecodeIsStrict feeds decodeManifests what the API server would
// refuse: each must be an error naming the object.
func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown field":    "apiVersion: v1\nkind: Service\nmetadata: {name: fleetbot}\nspec:\n  selectr: {app: fleetbot}\n",
		"misplaced field":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fleetbot}\nspec: {}\n",
		"wrong type":       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: fleetbot}\nspec:\n  replicas: two\n",
		"field set twice":  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: fleetbot}\nautomountServiceAccountToken: false\nautomountServiceAccountToken: true\n",
		"bad quantity":     "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: fleetbot}\nspec:\n  template: {spec: {containers: [{name: a, resources: {limits: {memory: lots}}}]}}\n",
		"unknown kind":     "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: fleetbot}\n",
		"ServiceMonitor":   "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: fleetbot}\nspec:\n  endpoints: [{port: http, intervl: 30s}]\n",
		"Ingress backends": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: fleetbot}\nspec:\n  rules: [{host: a.example, http: {paths: [{path: /, backend: {serviceName: fleetbot}}]}}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeManifests("---\n" + doc)
			if err == nil {
				t.Fatal("decoded without an error")
			}
			if !strings.Contains(err.Error(), "fleetbot") {
				t.Errorf("the error does not name the object: %v", err)
			}
		})
	}
	objs, err := decodeManifests("---\napiVersion: v1\nkind: Service\nmetadata: {name: fleetbot}\nspec:\n  selector: {app: fleetbot}\n")
	if err != nil || len(objs) != 1 {
		t.Fatalf("a valid Service: %v, %d objects", err, len(objs))
	}
}

// TestDocError runs the wrong value of docs/helm.md: Helm's error is the
// one the page shows.
func TestDocError(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(helmDoc)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```\\n(Error: values don't meet.*?)```").FindSubmatch(b)
	if block == nil {
		t.Fatalf("%s shows no schema error", helmDoc)
	}
	args := append(append([]string{"template", release, chart}, valueSets()[0].args(t)...), "--set-json", `config.campaigns.repository="fleet"`)
	_, err = helm(t, args...)
	if err == nil {
		t.Fatal("helm template accepted campaigns.repository: fleet")
	}
	if !strings.Contains(err.Error(), string(block[1])) {
		t.Errorf("%s shows\n%s\nHelm says\n%v", helmDoc, block[1], err)
	}
}
