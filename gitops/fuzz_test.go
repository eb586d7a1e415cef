package gitops

import (
	"errors"
	"os"
	"testing"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

func FuzzParseLayout(f *testing.F) {
	for _, p := range []string{"../examples/layouts/seed.yaml", "../examples/layouts/eks-fleet-management.yaml", "../examples/fleet/.fleetbot.yaml", "testdata/bluegreen/.fleetbot.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(layoutHead + "blueprints:\n  paths: [a/**/b]\nlabels:\n  hierarchy: ['{x}/{tenant']\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLayout("l.yaml", data)
		if err == nil {
			if l == nil || (l.Blueprints == nil && l.Members == nil) {
				t.Fatalf("valid layout without a source of clusters: %+v", l)
			}
			if l.Blueprints != nil && l.Blueprints.BlueGreen != nil {
				checkGreenNames(t, l.Blueprints.BlueGreen)
			}
			return
		}
		var ds Diagnostics
		if !errors.As(err, &ds) || len(ds) == 0 {
			t.Fatalf("error %v is not a non-empty Diagnostics", err)
		}
		for _, d := range ds {
			if d.File != "l.yaml" || d.Severity != SeverityError || d.Message == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}

// checkGreenNames checks that the green of a blue cluster is a valid
// cluster name that reads back as the next generation of the same base.
func checkGreenNames(t *testing.T, bg *BlueGreen) {
	t.Helper()
	for _, blue := range []string{"a", "a-prod-cpu-1", "a-prod-cpu-1-g1", "g7-b", "c_1.x"} {
		green := bg.GreenName(blue)
		if !isName(green) {
			t.Fatalf("template %q: green %q of %q is not a cluster name", bg.Name, green, blue)
		}
		base, n := bg.name.parse(blue)
		gb, gn := bg.name.parse(green)
		if gb != base || gn != n+1 {
			t.Fatalf("template %q: green %q of %q reads as %q generation %d, not %q generation %d", bg.Name, green, blue, gb, gn, base, n+1)
		}
	}
}

// FuzzParseFile feeds one file to the blueprint, member and label readers:
// whatever it holds, they report diagnostics and never panic.
func FuzzParseFile(f *testing.F) {
	for _, p := range []string{
		"../examples/fleet/tenants/tenant-a/prod.yaml",
		"../examples/fleet/addons/tenants/defaults/fleet/fleet-secret/values.yaml",
		"testdata/eks-fleet-management/fleet/fleet-bootstrap/fleet-members/hub-cluster-np/spoke-dev-workload1.yaml",
		"testdata/validate/numeric-version/tenants/tenant-a/dev.yaml",
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	def := DefaultLayout()
	members, err := ParseLayout("l.yaml", []byte(layoutHead+"members:\n  paths: [m/*]\n  version: spec.version\n  canary: spec.canary\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf := &parsedFile{rel: "f.yaml"}
		p := &fileParser{root: "r", rel: "f.yaml", file: "r/f.yaml", out: pf, d: decode.New("r/f.yaml"), data: data}
		docs, index, ok := p.d.Stream(data)
		if !ok {
			p.flush()
			if len(pf.diags) != 1 {
				t.Fatalf("invalid YAML gave %d diagnostics", len(pf.diags))
			}
			return
		}
		if len(docs) == 1 {
			p.one = docs[0] // the spots of versions and of a label's values recorded
		}
		p.blueprint(docs, def.Blueprints)
		p.member(docs, index, members.Members)
		p.labels(docs, def.Labels, "addonsRelease")
		p.flush()
		for _, c := range pf.clusters {
			if c.Name == "" || c.Tenant == "" || c.Env == "" {
				t.Fatalf("cluster without identity: %+v", c)
			}
			if src, ok := c.Sources.Lookup("version"); ok && src.Line == 0 {
				t.Fatalf("version source without a line: %+v", c)
			}
		}
		for _, d := range pf.diags {
			if d.Message == "" || d.File != "r/f.yaml" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}

// FuzzGreenName feeds name templates to the blueGreen check: a template it
// accepts makes valid green names that read back as the next generation.
func FuzzGreenName(f *testing.F) {
	for _, t := range []string{"{cluster}-g{n}", "g{n}-{cluster}", "{cluster}-v{n}-green", "{cluster}{n}", "{n}-{cluster}"} {
		f.Add(t)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		if checkGreenName(tmpl) != nil {
			return
		}
		checkGreenNames(t, &BlueGreen{Name: tmpl, name: compileGreenName(tmpl)})
	})
}
