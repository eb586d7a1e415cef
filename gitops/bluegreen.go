package gitops

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// BlueGreen says how a blueprint cluster is replaced blue-green: a green
// cluster is added to the blueprint as a copy of the blue one's entry at
// the new version, traffic moves to it in steps through a scalar of each
// entry, then the blue entry is removed. See docs/layout.md.
type BlueGreen struct {
	// Name is the template of the green cluster's name: {cluster}, the blue
	// cluster's name without its generation, and {n}, the generation, each
	// once (see GreenName).
	Name string `json:"name"`
	// Traffic is the key path, relative to each cluster's entry, of the
	// scalar holding the cluster's share of traffic: a whole number, a percentage or a weight.
	Traffic string `json:"traffic"`
	// Copy lists the keys of the blue entry the green entry gets; empty:
	// every key. When the layout lists them, the first keys of the version's
	// and the traffic's key paths are added, since both are set on the green
	// entry.
	Copy []string `json:"copy,omitempty"`

	traffic keyPath
	name    greenTemplate
}

// GreenName returns the name of the cluster that replaces blue. A blue
// cluster whose name the template matches is generation n of its base
// name: its green is generation n+1 ("a-cpu-1-g1" gives "a-cpu-1-g2" with
// "{cluster}-g{n}"). Any other blue cluster is its own base, and its green
// is generation 1 ("a-cpu-1" gives "a-cpu-1-g1").
func (bg *BlueGreen) GreenName(blue string) string {
	base, n := bg.name.parse(blue)
	return bg.name.render(base, n+1)
}

// Green placeholders of the name template.
const (
	greenCluster = "{cluster}"
	greenGen     = "{n}"
)

// greenTemplate is a compiled name template: the text before, between and
// after its two placeholders, and a pattern that reads a name back.
type greenTemplate struct {
	lits     [3]string
	genFirst bool // {n} comes before {cluster}
	re       *regexp.Regexp
}

// compileGreenName compiles a template that checkGreenName accepted.
func compileGreenName(t string) greenTemplate {
	ci, ni := strings.Index(t, greenCluster), strings.Index(t, greenGen)
	g := greenTemplate{genFirst: ni < ci}
	first, firstLen, second, secondLen := ci, len(greenCluster), ni, len(greenGen)
	if g.genFirst {
		first, firstLen, second, secondLen = ni, len(greenGen), ci, len(greenCluster)
	}
	g.lits = [3]string{t[:first], t[first+firstLen : second], t[second+secondLen:]}
	groups := [2]string{"(.+)", "([0-9]+)"}
	if g.genFirst {
		groups[0], groups[1] = groups[1], groups[0]
	}
	g.re = regexp.MustCompile("^" + regexp.QuoteMeta(g.lits[0]) + groups[0] + regexp.QuoteMeta(g.lits[1]) +
		groups[1] + regexp.QuoteMeta(g.lits[2]) + "$")
	return g
}

// render fills the template with a base name and a generation.
func (g greenTemplate) render(base string, n int) string {
	a, b := base, strconv.Itoa(n)
	if g.genFirst {
		a, b = b, a
	}
	return g.lits[0] + a + g.lits[1] + b + g.lits[2]
}

// parse reads name as the template filled in: its base name and
// generation, or name itself and 0 when the template does not match.
func (g greenTemplate) parse(name string) (string, int) {
	m := g.re.FindStringSubmatch(name)
	if m == nil {
		return name, 0
	}
	base, gen := m[1], m[2]
	if g.genFirst {
		base, gen = gen, base
	}
	n, err := strconv.Atoi(gen)
	if err != nil { // more digits than an int holds: not a generation
		return name, 0
	}
	return base, n
}

// greenLiteral is what a name template may add to the blue cluster's name.
var greenLiteral = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]*$`) })

// checkGreenName says what is wrong with a name template, or nil.
func checkGreenName(t string) error {
	for _, p := range placeholder().FindAllString(t, -1) {
		if p != greenCluster && p != greenGen {
			return fmt.Errorf("%q uses unknown placeholder %s (known: %s, %s)", t, p, greenCluster, greenGen)
		}
	}
	if rest := placeholder().ReplaceAllString(t, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%q has an unmatched brace", t)
	}
	for _, p := range []string{greenCluster, greenGen} {
		if n := strings.Count(t, p); n != 1 {
			return fmt.Errorf("%q must use %s exactly once, not %d times", t, p, n)
		}
	}
	if strings.Contains(t, greenCluster+greenGen) || strings.Contains(t, greenGen+greenCluster) {
		return fmt.Errorf("%q must put text between %s and %s: a name ending in digits would read as a generation", t, greenCluster, greenGen)
	}
	ni := strings.Index(t, greenGen)
	before, after := t[:ni], t[ni+len(greenGen):]
	if isDigit(before, len(before)-1) || isDigit(after, 0) {
		return fmt.Errorf("%q has a digit next to %s: the generation would not read back", t, greenGen)
	}
	if lit := placeholder().ReplaceAllString(t, ""); !greenLiteral().MatchString(lit) {
		return fmt.Errorf("%q adds %q to the cluster's name: write lower-case letters, digits and '-'", t, lit)
	}
	if sample := compileGreenName(t).render("a", 1); !isName(sample) {
		return fmt.Errorf("%q makes names such as %q: a cluster name starts with a letter or digit", t, sample)
	}
	return nil
}

// isDigit reports whether s has an ASCII digit at i.
func isDigit(s string, i int) bool {
	return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9'
}

// blueGreen decodes the blueGreen section of blueprints, whose version key
// is version.
func (d *layoutDecoder) blueGreen(m *decode.Map, version string) *BlueGreen {
	bg := &BlueGreen{}
	if s, n := decode.Text(m, "name", true, func(s string) (string, error) { return s, checkGreenName(s) }); n != nil {
		bg.Name = s
	}
	vp, _ := parseKeyPath(version) // checked with the other keys
	if len(vp) == 0 {
		d.Failf(m.Line, m.Path, "needs blueprints.version: the green entry's version is written there")
	}
	var traffic keyPath
	if kp, n := decode.Text(m, "traffic", true, func(s string) (keyPath, error) {
		kp, err := parseKeyPath(s)
		switch {
		case err != nil:
			return nil, err
		case len(kp) == 0:
			return nil, errors.New("must not be empty")
		case len(vp) > 0 && (hasPrefix(vp, kp) || hasPrefix(kp, vp)):
			return nil, fmt.Errorf("%q overlaps the version's key %q: the traffic needs a scalar of its own", s, version)
		}
		return kp, nil
	}); n != nil {
		bg.Traffic, traffic = n.Value, kp
	}
	if !m.Has("copy") {
		return bg
	}
	bg.Copy = d.list(m, "copy", func(k string) string {
		if strings.Contains(k, ".") {
			return fmt.Sprintf("%q is a key path: copy names keys of the cluster's entry itself, such as %q", k, k[:strings.IndexByte(k, '.')])
		}
		return ""
	})
	if v := m.Value("copy"); v != nil && v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
		d.Failf(v.Line, m.Field("copy"), "is empty: list the keys the green entry copies, or leave copy out to copy every key")
	}
	if len(bg.Copy) == 0 {
		return bg
	}
	for _, kp := range []keyPath{vp, traffic} {
		if len(kp) > 0 && !slices.Contains(bg.Copy, kp[0]) {
			bg.Copy = append(bg.Copy, kp[0])
		}
	}
	return bg
}
