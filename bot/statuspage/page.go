package statuspage

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"
)

// DefaultRefresh is how often the page reloads itself when Render is given
// no interval.
const DefaultRefresh = 30 * time.Second

//go:embed page.html.tmpl
var pageSource string

// pageTemplate is parsed on first use, not when the program starts: every
// command of the CLI links this package, and only serve renders the page.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		// class names a state or phase as a CSS class: "InPR" is inpr.
		"class": func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"short": func(sha string) string { return sha[:min(len(sha), 7)] },
		// ended is what an ended campaign's wait says: "the campaign
		// succeeded", without "nothing: ".
		"ended": func(text string) string { return strings.TrimPrefix(text, "nothing: ") },
	}).Parse(pageSource))
})

// pageData is what the page template reads.
type pageData struct {
	View
	// Refresh is the reload interval in seconds.
	Refresh int
	// Legend counts the clusters of every state of the legend, those in
	// none included.
	Legend []Count
}

// Render writes the view as the status page, reloading itself every
// refresh (DefaultRefresh when 0 or less; whole seconds, at least one).
func Render(w io.Writer, v View, refresh time.Duration) error {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	d := pageData{View: v, Refresh: max(1, int(refresh/time.Second))}
	n := map[string]int{}
	for _, c := range v.Fleet.States {
		n[c.State] = c.N
	}
	for _, s := range Legend {
		d.Legend = append(d.Legend, Count{State: s, N: n[s]})
	}
	if err := pageTemplate().Execute(w, d); err != nil {
		return fmt.Errorf("render the status page: %w", err)
	}
	return nil
}
